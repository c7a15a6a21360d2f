"""docs/admin.md's commands, run: what can run offline runs here, in the guide's order.

Every command of the guide's ```bash blocks is either run or one of the
online steps the guide shows as they are (gcloud, kubectl, docker pushes,
the health check against the real hub):

- ``course-hub render-values ...`` runs as written (in a folder where the
  guide's relative paths exist), and Helm's engine renders the chart with
  what it wrote, as ``helm upgrade --install -f`` would;
- ``make push ... DRY_RUN=1`` runs as written in the checkout: it only prints
  the docker commands (no build, no docker);
- ``helm repo add NAME URL`` is an online step, but it must add exactly the
  repositories of Chart.yaml before ``helm dependency build`` (Helm 3
  refuses a lock whose repositories are not added);
- ``helm dependency build hub_config/helm/course-hub`` runs with Helm's own
  code against a local copy of the two chart repositories (the real ones are
  unreachable from CI; the archives are the same);
- ``helm upgrade --install course hub_config/helm/course-hub ... -f A -f B``
  renders the chart that build filled, with A then B, in its namespace.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import helm_python
import yaml

from course_hub.daskhub import deep_merge

from ..chart import ARCHIVES, CHART, REPO, Rendered, load_yaml, lock_digest
from .test_chart import chart_repository  # noqa: F401 - a fixture

GUIDE = REPO / "docs" / "admin.md"
#: Steps that need the cloud, the cluster or a registry: shown, not run.
ONLINE = {
    "gcloud": None,
    "kubectl": None,
    "make": {"push"},  # without DRY_RUN=1, which runs
    "helm": {"uninstall", "repo"},
    "course-hub": {"health-check"},
    "read": None,
}


def commands(text: str) -> list[tuple[list[str], str]]:
    """(argv, the block's text) of every command in the guide's bash blocks."""
    out = []
    for block in re.findall(r"^ *```bash\n(.*?)^ *```", text, re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                out.append((argv, block))
    return out


def test_every_command_of_the_admin_guide(tmp_path, chart_repository):  # noqa: F811
    mirror = chart_repository
    work = tmp_path / "admin"
    work.mkdir()
    for name in (".venv", "hub_config", "course"):
        (work / name).symlink_to(REPO / name)
    env = {
        "PATH": f"{REPO / '.venv' / 'bin'}:/usr/bin:/bin",
        "COURSE_AUTH_CLIENT_SECRET": "the-client-secret-the-admin-pasted",
    }
    built: Path | None = None
    ran, shown, installs = [], [], 0
    repos: dict[str, str] = {}  # helm repo add: name -> URL
    for argv, block in commands(GUIDE.read_text()):
        tool = Path(argv[0]).name
        if tool == "course-hub" and argv[1] == "render-values":
            assert "..." not in argv, f"a placeholder in a command: {shlex.join(argv)}"
            proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
            assert proc.returncode == 0, f"{shlex.join(argv)}:\n{proc.stderr}"
            if "/dev/null" in argv:  # the sizing example: the guide shows its output
                for estimate in proc.stderr.strip().splitlines()[-2:]:  # sessions, evaluation
                    assert f"# {estimate}" in block, estimate
            else:
                output = work / argv[argv.index("-o") + 1]
                files = [output]
                if "--secrets" in argv:
                    files.append(work / argv[argv.index("--secrets") + 1])
                render(CHART, files, "course", "sdd")  # what -f of these files installs
            ran.append(argv)
        elif argv[:2] == ["make", "push"] and "DRY_RUN=1" in argv:
            check_push_dry_run(argv)
            ran.append(argv)
        elif argv[:3] == ["helm", "repo", "add"]:
            name, url = argv[3:]
            repos[name] = url
            shown.append(argv)
        elif argv[:3] == ["helm", "dependency", "build"]:
            assert argv[3:] == ["hub_config/helm/course-hub"], argv
            wanted = {d["repository"] for d in load_yaml(CHART / "Chart.yaml")["dependencies"]}
            assert set(repos.values()) == wanted, f"helm repo add {repos}, Chart.yaml {wanted}"
            built = dependency_build_from(mirror, tmp_path / "checkout")
            ran.append(argv)
        elif argv[:3] == ["helm", "upgrade", "--install"]:
            assert built is not None, "helm upgrade before helm dependency build"
            release, chart = argv[3], argv[4]
            assert (release, chart) == ("course", "hub_config/helm/course-hub"), argv
            namespace = argv[argv.index("--namespace") + 1]
            files = [work / argv[i + 1] for i, a in enumerate(argv) if a == "-f"]
            assert len(files) == 2 and all(f.exists() for f in files), files
            rendered = render(built, files, release, namespace)
            values = merge(files)
            hub = rendered.container("Deployment/hub", "hub")["image"]
            image = values["jupyterhub"]["hub"]["image"]
            assert hub == f"{image['name']}:{image['tag']}"
            installs += 1
            ran.append(argv)
        else:
            allowed = ONLINE.get(tool, ())
            assert allowed is None or (allowed and allowed & set(argv[1:4])), (
                f"neither run by this test nor an online step: {shlex.join(argv)}"
            )
            shown.append(argv)
    renders = [a for a in ran if Path(a[0]).name == "course-hub"]
    assert len(renders) >= 7 and installs == 2, (len(renders), installs)
    assert any(a[:2] == ["make", "push"] for a in ran), "no make push DRY_RUN=1 run"
    print(f"ran {len(ran)} commands of docs/admin.md; {len(shown)} online steps shown")


def check_push_dry_run(argv: list[str]) -> None:
    """``make push ... DRY_RUN=1`` as the guide writes it, in the checkout: it
    prints the tags and pushes it would make, and runs no docker command."""
    # Variables of a `make VAR=...` running the tests would reach this make.
    inherited = ("REGISTRY", "TAG", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    # A docker that fails: a dry run must never call it.
    proc = subprocess.run(
        [*argv, "DOCKER=false", "--no-print-directory"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{shlex.join(argv)}:\n{proc.stdout}\n{proc.stderr}"
    registry = next(a.split("=", 1)[1] for a in argv if a.startswith("REGISTRY="))
    lines = proc.stdout.splitlines()
    pushes = [line.split()[2] for line in lines if line.startswith("false push ")]
    assert {p.rsplit(":", 1)[0] for p in pushes} == {f"{registry}/hub", f"{registry}/singleuser"}
    assert lines[-1].startswith("would push ") and f"--registry {registry} --tag " in lines[-1]


def merge(files: list[Path]) -> dict:
    values: dict = {}
    for f in files:
        values = deep_merge(values, load_yaml(f))
    return values


def render(chart: Path, files: list[Path], release: str, namespace: str) -> Rendered:
    copy = None
    if not (chart / "charts").is_dir():  # the committed chart: dependencies from ../shared
        from ..chart import prepared_chart

        # A fresh copy each time, outside the checkout: never a stale chart.
        copy = Path(tempfile.mkdtemp(prefix="course-hub-chart-"))
        prepared_chart(copy)
        chart = copy / CHART.name
    try:
        with helm_python.Chart.load(chart) as loaded:
            templates = loaded.render(
                merge(files), name=release, namespace=namespace, is_install=True
            )
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)
    rendered = Rendered(templates)
    assert len(rendered.manifests) > 30, len(rendered.manifests)
    return rendered


def dependency_build_from(mirror: str, checkout: Path) -> Path:
    """`helm dependency build` of the chart, its repositories served by ``mirror``."""
    chart = checkout / CHART.name
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("charts"))
    requested = load_yaml(CHART / "Chart.yaml")["dependencies"]
    text, lock = (chart / "Chart.yaml").read_text(), load_yaml(CHART / "Chart.lock")
    for dep in requested:
        text = text.replace(dep["repository"], mirror)
    for dep in lock["dependencies"]:
        dep["repository"] = mirror
    (chart / "Chart.yaml").write_text(text)
    lock["digest"] = lock_digest(
        load_yaml(chart / "Chart.yaml")["dependencies"], lock["dependencies"]
    )
    (chart / "Chart.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    helm_python.dependency_build(chart)
    assert sorted(p.name for p in (chart / "charts").iterdir()) == sorted(
        a.name for a in ARCHIVES.values()
    )
    return chart
