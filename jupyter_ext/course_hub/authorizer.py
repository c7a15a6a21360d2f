"""Who may do what on a student's server: its owner everything, a guest what was granted.

JupyterHub 5 lets a student share their server with someone (the shares API).
A share grants ``access:servers!server=<owner>/``, which only lets the guest
in: jupyterhub-singleuser's own authorizer then allows every action to
everyone who got in, so a guest could start and stop the owner's Dask
clusters, edit their files or run code with their hub token.

:class:`CourseAuthorizer` (set as ``ServerApp.authorizer_class`` by the
package's server config) keeps that for the owner and refines it for guests
with JupyterHub's custom scopes, as JupyterHub's read-only example does:

- the server's owner may do everything (their own tokens, whatever their
  scopes), and so may hub admins (teachers), as before sharing existed;
- a guest may **read** (they passed the hub's access check);
- a guest may **write** (change files, open sessions, start, scale or stop
  clusters) with ``custom:jupyter_server:write:*`` (or ``:write:<resource>``)
  for this server or its owner, and **execute** (kernels, terminals) with
  ``custom:jupyter_server:execute:*``, which implies write.

So a plain share is read-only; sharing ``custom:jupyter_server:execute:*``
too gives full access. Outside JupyterHub (``jupyter lab``, tests) it allows
everything, as jupyter-server's default authorizer does.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.auth import Authorizer

SCOPE = "custom:jupyter_server:{action}:{resource}"
#: Each action and the actions it implies.
IMPLIES = {"read": (), "write": (), "execute": ("write",)}


def granted_actions(scopes: set[str], owner: str, server: str, resource: str) -> set[str]:
    """The actions ``scopes`` (a hub user model's) grant on ``resource`` of
    ``owner``'s server ``server`` (``"alice/"`` for the default server)."""
    actions = {"read"}
    for action, implied in IMPLIES.items():
        for target in (resource, "*"):
            base = SCOPE.format(action=action, resource=target)
            if {base, f"{base}!user={owner}", f"{base}!server={server}"} & scopes:
                actions.add(action)
                actions.update(implied)
    return actions


class CourseAuthorizer(Authorizer):
    """The owner (and admins) may do everything; a guest reads, and writes or executes only
    with the hub's ``custom:jupyter_server:*`` scopes (see the module docstring)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        hub_user = getattr(user, "hub_user", None)
        owner = os.environ.get("JUPYTERHUB_USER")
        if hub_user is None or not owner:
            return True  # not behind JupyterHub: the server's own login decided
        if hub_user.get("kind", "user") == "user" and (
            hub_user.get("name") == owner or hub_user.get("admin")
        ):
            return True
        server = f"{owner}/{os.environ.get('JUPYTERHUB_SERVER_NAME', '')}"
        scopes = set(hub_user.get("scopes") or ())
        allowed = action in granted_actions(scopes, owner, server, resource)
        if not allowed:
            self.log.info(
                "%s may not %s %s on %s's server (read-only access)",
                hub_user.get("name"),
                action,
                resource,
                owner,
            )
        return allowed
