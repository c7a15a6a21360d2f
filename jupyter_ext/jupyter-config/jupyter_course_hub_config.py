"""Students' servers' settings from the course extension (etc/jupyter in the wheel).

jupyter-server loads an extension's own config before its web application and
passes the ServerApp settings found here on to it, so every server with the
wheel installed gets them: the local hub's, the compose and Kubernetes images'.
(The JSON beside this file sets the authorizer.)
"""

from course_hub.proxy_redirects import keep_prefix

c = get_config()  # noqa: F821

# Terminals: a non-login bash (as docker-stacks does), which keeps the server's
# PATH. jupyter-server's default is a login shell, and Debian's /etc/profile
# resets PATH: `python`, `pip`, `jupyter` and `dask` were then not the course's.
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}

# Redirects of pages proxied on <server>/proxy/<port>/ keep the student's prefix
# (the Spark UI's / -> /jobs/ landed on the hub's root): course_hub/proxy_redirects.py.
c.ServerProxy.non_service_rewrite_response = keep_prefix
