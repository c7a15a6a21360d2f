"""DaskHub values for a class: rendered, not hand-edited.

``course-hub render-values`` merges ``hub_config/daskhub/values.yaml`` with an
overlay (``class`` or ``test``), sets every image to the registry and tag
given, puts the session presets of ``course.yml`` in the gateway's
environment, and points students' servers at the course source. Passwords go
to a separate secrets file (mode 0600, created once), never into the values.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from .hub.gateway import manifest_presets
from .hub.secrets import password
from .manifest import MANIFEST_NAME, load_manifest

OVERLAYS = ("class", "test")


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
) -> dict:
    """The complete values for ``helm upgrade --install``."""
    values = _load(values_dir / "values.yaml")
    if overlay:
        if overlay not in OVERLAYS:
            raise ValueError(f"overlay must be one of {', '.join(OVERLAYS)}, not {overlay!r}")
        values = deep_merge(values, _load(values_dir / f"{overlay}.yaml"))
    image = {"name": f"{registry.rstrip('/')}/singleuser", "tag": tag}
    hub = values.setdefault("jupyterhub", {})
    gateway = values.setdefault("dask-gateway", {}).setdefault("gateway", {})
    hub.setdefault("singleuser", {}).setdefault("image", {}).update(image)
    gateway.setdefault("image", {}).update(image)
    gateway.setdefault("backend", {}).setdefault("image", {}).update(image)

    manifest = load_manifest(course_dir / MANIFEST_NAME, course_dir)
    presets = json.dumps(manifest_presets(manifest), sort_keys=True)
    gateway["env"] = _set_env(gateway.get("env", []), "COURSE_PRESETS", presets)

    extra_env = hub["singleuser"].setdefault("extraEnv", {})
    if course_repo:
        extra_env["COURSE_CONTENT_REPO"] = course_repo
        extra_env["COURSE_CONTENT_BRANCH"] = course_branch or "main"
        # The gateway follows the same repository for its session presets.
        for name in ("COURSE_CONTENT_REPO", "COURSE_CONTENT_BRANCH"):
            gateway["env"] = _set_env(gateway["env"], name, extra_env[name])
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
    return values


def write_secrets(path: Path) -> tuple[dict, bool]:
    """The passwords for helm's -f, created once with mode 0600."""
    if path.exists():
        return _load(path), False
    data = {
        "jupyterhub": {
            "hub": {
                "config": {
                    "SharedPasswordAuthenticator": {
                        "user_password": password(),
                        "admin_password": password(24),
                    }
                }
            }
        }
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Passwords for the course hub: keep this file private, never commit it.\n")
        yaml.safe_dump(data, fh, sort_keys=False)
    return data, True


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(values: dict, header: str) -> str:
    return header + yaml.dump(values, Dumper=_Dumper, sort_keys=False, width=100)


def sizing(students: int, node_cpus: float = 8, node_memory_gib: float = 32) -> str:
    """Nodes a class needs, from the guarantees in values.yaml (docs/admin.md)."""
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
        f"({workers_per_node} each), plus 1 core node."
    )
