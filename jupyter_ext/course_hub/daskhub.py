"""Values of the course-hub chart for a class: rendered, not hand-edited.

``course-hub render-values`` merges the chart's values
(``hub_config/helm/course-hub/values.yaml``) with an overlay beside the chart
(``values-class.yaml`` or ``values-test.yaml``), sets every image of ours
(hub; single-user servers, gateway, controller, schedulers and workers) to
the registry and tag given, puts the session presets of ``course.yml`` in the
gateway's environment, points the hub's course service at the course source
(``--course-repo``), keeps the hub's public address (``--static-ip``) and
sets the login (``--auth``: daskhub_logins.py). The result is complete:
``helm upgrade --install -f`` it over the chart. Passwords and OAuth client
secrets go to a separate secrets file (mode 0600, created once), never into
the values.

The course source goes to the hub pod only (``hub.extraEnv``, which the
chart's ``20-course-service`` snippet hands to the course service): a
teacher's repository URL may carry a token, and the repository holds the
answer keys, so neither students' servers nor the gateway may see it. They get
files and presets from the service.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from .daskhub_logins import Login, apply_login, canonical_mode, login_secrets
from .hub.gateway import manifest_presets
from .hub.secrets import password
from .manifest import MANIFEST_NAME, load_manifest

OVERLAYS = ("class", "test")
#: The chart's folder inside the values folder (``hub_config/helm``).
CHART = "course-hub"


def overlay_path(values_dir: Path, name: str) -> Path:
    """An overlay beside the chart: ``values-NAME.yaml`` (class, test, auth-MODE)."""
    return values_dir / f"values-{name}.yaml"


def deep_merge(base: Any, over: Any) -> Any:
    """Merge as Helm merges values files: maps recursively, the rest replaced, null deletes."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif key in out:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a values file must be a mapping")
    return data


def _set_env(env_list: list[dict], name: str, value: str) -> list[dict]:
    out = [e for e in env_list if e.get("name") != name]
    out.append({"name": name, "value": value})
    return out


def render(
    values_dir: Path,
    course_dir: Path,
    registry: str,
    tag: str,
    overlay: str | None = None,
    host: str | None = None,
    contact: str | None = None,
    students: int | None = None,
    course_repo: str | None = None,
    course_branch: str | None = None,
    login: Login | None = None,
    static_ip: str | None = None,
) -> dict:
    """The complete values for ``helm upgrade --install`` of the chart in ``values_dir``.

    ``login`` None keeps the chart's own login, workshop mode (one shared
    password; the command line insists on an explicit ``--auth``).
    ``static_ip``: the reserved address of the hub's LoadBalancer Service
    (``proxy.service.loadBalancerIP``), so that a reinstall keeps it.
    Raises ValueError, naming the option, for a value that cannot work."""
    values = _load(values_dir / CHART / "values.yaml")
    if overlay:
        if overlay not in OVERLAYS:
            raise ValueError(f"overlay must be one of {', '.join(OVERLAYS)}, not {overlay!r}")
        values = deep_merge(values, _load(overlay_path(values_dir, overlay)))
    registry = registry.rstrip("/")
    image = {"name": f"{registry}/singleuser", "tag": tag}
    hub = values.setdefault("jupyterhub", {})
    dask_gateway = values.setdefault("dask-gateway", {})
    gateway = dask_gateway.setdefault("gateway", {})
    hub.setdefault("hub", {}).setdefault("image", {}).update(name=f"{registry}/hub", tag=tag)
    hub.setdefault("singleuser", {}).setdefault("image", {}).update(image)
    gateway.setdefault("image", {}).update(image)
    gateway.setdefault("backend", {}).setdefault("image", {}).update(image)
    dask_gateway.setdefault("controller", {}).setdefault("image", {}).update(image)

    manifest = load_manifest(course_dir / MANIFEST_NAME, course_dir)
    presets = json.dumps(manifest_presets(manifest), sort_keys=True)
    gateway["env"] = _set_env(gateway.get("env", []), "COURSE_PRESETS", presets)

    if course_repo:
        # The hub pod's environment, for the course service alone (module docstring).
        hub_env = hub.setdefault("hub", {}).setdefault("extraEnv", {})
        hub_env["COURSE_CONTENT_REPO"] = course_repo
        hub_env["COURSE_CONTENT_BRANCH"] = course_branch or "main"
    if static_ip:
        _keep_address(hub, static_ip)
    if host:
        https = hub.setdefault("proxy", {}).setdefault("https", {})
        https["enabled"] = True
        https["hosts"] = [host]
    if contact:
        https = hub.setdefault("proxy", {}).setdefault("https", {})
        https.setdefault("letsencrypt", {})["contactEmail"] = contact
    if students:
        placeholder = hub.setdefault("scheduling", {}).setdefault("userPlaceholder", {})
        placeholder["replicas"] = max(1, math.ceil(students / 8))
    return apply_login(values, values_dir, login or Login("workshop"), host)


def _keep_address(hub: dict, static_ip: str) -> None:
    """Pin the hub's public Service to ``static_ip`` (a reserved cloud address).

    Without it the cloud gives the LoadBalancer a fresh address at each
    install, and the host's DNS record points at nothing."""
    try:
        address = ipaddress.ip_address(static_ip)
    except ValueError:
        raise ValueError(
            f"--static-ip must be an IP address (the reserved one), not {static_ip!r}"
        ) from None
    service = hub.setdefault("proxy", {}).setdefault("service", {})
    kind = service.get("type", "LoadBalancer")  # z2jh's default for proxy-public
    if kind != "LoadBalancer":
        raise ValueError(
            f"--static-ip needs the hub's LoadBalancer Service; these values make it a {kind} "
            "(the test overlay does: leave --static-ip out, or use --overlay class)"
        )
    service["loadBalancerIP"] = str(address)


def write_secrets(
    path: Path, auth: str = "workshop", client_secret: str | None = None
) -> tuple[dict, bool]:
    """The secrets for helm's -f, with mode 0600: the shared passwords, or the
    OAuth client secret of ``auth`` (a placeholder until one is given).

    Created once: what the file holds is kept; a login it lacks is added, and a
    placeholder is replaced when ``client_secret`` is given. Returns the data
    and whether the file changed.
    """
    auth = canonical_mode(auth)
    data = _load(path) if path.exists() else {}
    config = data.setdefault("jupyterhub", {}).setdefault("hub", {}).setdefault("config", {})
    wanted = login_secrets(auth, client_secret)
    if auth == "workshop":
        wanted = {
            "SharedPasswordAuthenticator": {
                "user_password": password(),
                "admin_password": password(24),
            }
        }
    changed = not path.exists()
    for section, settings in wanted.items():
        have = config.setdefault(section, {})
        for key, value in settings.items():
            placeholder = have.get(key) == login_secrets(auth, None).get(section, {}).get(key)
            if key not in have or (placeholder and client_secret):
                have[key] = value
                changed = True
    if changed:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# Secrets of the course hub: keep this file private, never commit it.\n")
            yaml.safe_dump(data, fh, sort_keys=False)
        os.replace(tmp, path)
    return data, changed


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(values: dict, header: str) -> str:
    return header + yaml.dump(values, Dumper=_Dumper, sort_keys=False, width=100)


#: The evaluation's preset (course.yml): workers of 1 core and 3 GiB each.
EVALUATION_WORKERS = 4
#: Local disk a worker of that preset spills to on the full 55 M-row table:
#: 12.0 to 16.1 GB per worker, measured (docs/performance.md, bench.compute).
EVALUATION_SPILL_GB = 16


def sizing(students: int, node_cpus: float = 8, node_memory_gib: float = 32) -> str:
    """Nodes a class needs, from the chart's guarantees (docs/admin.md): the
    sessions, then the full-size evaluation, whose four workers per student
    double the worker nodes (measured: docs/performance.md)."""
    usable_mem = node_memory_gib * 0.9 - 1  # kubelet and system reserve
    usable_cpu = node_cpus - 0.5
    per_node = int(min(usable_mem // 2, usable_cpu // 0.5))  # 2 GB, 0.5 CPU per student
    notebook_nodes = math.ceil(students / max(per_node, 1))
    workers = students * 2  # two 1-core workers each, as the presets ask
    workers_per_node = int(min(usable_mem // 3, usable_cpu // 1))  # up to 3 GiB, 1 core each
    worker_nodes = math.ceil(workers / max(workers_per_node, 1))
    return (
        f"{students} students on {node_cpus:g} vCPU / {node_memory_gib:g} GB nodes: "
        f"{notebook_nodes} notebook node(s) ({per_node} servers each), "
        f"{worker_nodes} Dask worker node(s) for {workers} workers "
        f"({workers_per_node} each), plus 1 core node.\n"
        f"The full-size evaluation ({EVALUATION_WORKERS} workers of 1 core and 3 GiB per "
        f"student): {math.ceil(students * EVALUATION_WORKERS / max(workers_per_node, 1))} "
        f"Dask worker node(s) for {students * EVALUATION_WORKERS} workers, each worker with "
        f"about {EVALUATION_SPILL_GB} GB of local disk to spill to."
    )
