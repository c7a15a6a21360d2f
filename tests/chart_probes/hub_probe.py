"""Start JupyterHub from z2jh's rendered configuration, up to where it would serve.

Run in the hub pod's layout (z2jh's jupyterhub_config.py and z2jh.py beside
it, its ConfigMap and Secret as files) with the pod's environment: in our hub
image, or on a test machine. ``JupyterHub.initialize`` loads the config file
(z2jh's program, then every hub.extraConfig snippet), then sets up the
database, the authenticator, the roles and scopes, the services and their
tokens, and the web application: everything but listening, reaching the
proxy pod and the Kubernetes API. Prints one line, ``PROBE {json}``.

    python3 hub_probe.py /usr/local/etc/jupyterhub/jupyterhub_config.py
"""

import asyncio
import json
import sys


def jsonable(value):
    if callable(value):
        return "<callable>"
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


async def main(config_file: str) -> dict:
    from jupyterhub import orm
    from jupyterhub.app import JupyterHub

    app = JupyterHub()
    await app.initialize(["--config", config_file])
    auth = app.authenticator
    spawner = app.config.KubeSpawner
    traits = (
        "admin_users", "allowed_users", "allow_all", "allow_existing_users", "client_id",
        "oauth_callback_url", "allowed_organizations", "hosted_domain", "issuer",
        "authorize_url", "token_url", "userdata_url", "jwks_endpoint", "username_claim",
        "username_key", "allowed_groups", "admin_groups", "manage_groups",
    )  # fmt: skip
    # A student's server environment as KubeSpawner computes it at a spawn
    # (callables evaluated, admin-set strings formatted with the user's
    # properties: a stray brace fails here as it would at every spawn).
    # _mock: no Kubernetes API is contacted; KubeSpawner only loads a client
    # configuration, so a minimal kubeconfig naming an unreachable API stands in
    # for the pod's service account.
    import os
    import tempfile

    from kubespawner import KubeSpawner

    kubeconfig = os.path.join(tempfile.mkdtemp(), "kubeconfig")
    with open(kubeconfig, "w") as f:
        json.dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "probe",
                "clusters": [{"name": "probe", "cluster": {"server": "https://127.0.0.1:9"}}],
                "contexts": [{"name": "probe", "context": {"cluster": "probe", "user": "probe"}}],
                "users": [{"name": "probe", "user": {"token": "probe"}}],
            },
            f,
        )
    import kubernetes_asyncio.config.kube_config as kube_config

    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = kubeconfig  # read once, at import

    orm_user = orm.User(name="probe-student")
    app.db.add(orm_user)
    app.db.commit()
    user = app.users[orm_user]
    student = KubeSpawner(
        _mock=True,
        user=user,
        hub=app.hub,
        config=app.config,
        orm_spawner=user.orm_spawners.get(""),
    )
    student.api_token = "probe-token"
    spawn_env = student.get_env()
    return {
        "spawn_env": {k: v for k, v in spawn_env.items() if "TOKEN" not in k},
        "spawner_class": f"{app.spawner_class.__module__}.{app.spawner_class.__name__}",
        "authenticator_class": f"{type(auth).__module__}.{type(auth).__name__}",
        "authenticator": {t: jsonable(getattr(auth, t)) for t in traits if auth.has_trait(t)},
        "client_secret_set": bool(getattr(auth, "client_secret", "")),
        "kubespawner": jsonable(dict(spawner)),
        "spawner_cmd": jsonable(app.config.Spawner.get("cmd")),
        "default_url": jsonable(app.config.Spawner.get("default_url")),
        "services": [
            {
                **jsonable({k: v for k, v in s.items() if k != "api_token"}),
                "token": bool(s.get("api_token")),
            }
            for s in app.services
        ],
        "roles": {r.name: sorted(r.scopes) for r in app.db.query(orm.Role)},
        "role_services": {
            r.name: sorted(s.name for s in r.services) for r in app.db.query(orm.Role)
        },
        "custom_scopes": sorted(app.custom_scopes),
        "concurrent_spawn_limit": app.concurrent_spawn_limit,
        "hub_connect_url": app.hub_connect_url,
        "proxy_api_url": app.proxy.api_url,
        "proxy_should_start": app.proxy.should_start,
        "cleanup_servers": app.cleanup_servers,
        "db_url": app.db_url,
        "cookie_secret_len": len(app.cookie_secret),
        "users": sorted(u.name for u in app.db.query(orm.User)),
        "admins": sorted(u.name for u in app.db.query(orm.User) if u.admin),
    }


if __name__ == "__main__":
    report = asyncio.run(main(sys.argv[1]))
    print("PROBE " + json.dumps(report, sort_keys=True), flush=True)
