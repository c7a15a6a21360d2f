"""The local hub's real gateway config, with basic auth instead of the hub's:
the integration tier runs the gateway without a JupyterHub in front of it."""

from pathlib import Path

c = get_config()  # noqa: F821
load_subconfig(  # noqa: F821
    str(Path(__file__).resolve().parents[2] / "hub_config" / "local" / "dask_gateway_config.py")
)
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.DaskGateway.log_level = "INFO"
