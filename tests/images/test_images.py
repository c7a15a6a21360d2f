"""Inside the built images, docker-stacks style: what students and admins rely on.

`make test-images` builds the images first (with BASE_IMAGE, e.g. the local
Debian base image in CI).
"""

from __future__ import annotations

import json
import re

from ..dockertools import HUB, REPO, SINGLEUSER, docker, run_in

ARTIFACTS = REPO / ".test-artifacts" / "images"

STACK = [
    "dask",
    "dask_gateway",
    "dask_labextension",
    "dask_ml",
    "distributed",
    "jupyter_server_proxy",
    "jupyterlab",
    "matplotlib",
    "nbgitpuller",
    "numpy",
    "pandas",
    "pyarrow",
    "pyspark",
    "seaborn",
    "sklearn",
]


def locked(name: str) -> str:
    m = re.search(
        rf"^{re.escape(name)}==(\S+)", (REPO / "requirements/base.lock").read_text(), re.M
    )
    assert m, name
    return m.group(1)


def inspect(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]


def test_the_stack_imports():
    code = f"import {', '.join(STACK)}; print('ok')"
    assert run_in(SINGLEUSER, "python", "-c", code).strip() == "ok"


def test_versions_are_the_locked_ones_everywhere():
    code = (
        "import dask, distributed, dask_gateway, json; "
        "print(json.dumps([dask.__version__, distributed.__version__, dask_gateway.__version__]))"
    )
    expected = [locked("dask"), locked("distributed"), locked("dask-gateway")]
    assert json.loads(run_in(SINGLEUSER, "python", "-c", code)) == expected
    # The gateway server in the same image, and the hub's client, match too.
    server = run_in(
        SINGLEUSER, "python", "-c", "import dask_gateway_server as g; print(g.__version__)"
    )
    assert server.strip() == locked("dask-gateway-server")
    hub = run_in(HUB, "python", "-c", "import dask_gateway; print(dask_gateway.__version__)")
    assert hub.strip() == locked("dask-gateway")


def test_a_dask_computation_runs_on_worker_processes():
    """A scheduler and worker processes started from this image compute.

    (They share the container, so this cannot catch version drift between
    notebooks and clusters: the compose tier compares a real Gateway cluster's
    scheduler and workers, in the gateway container, with the notebook's.)
    """
    code = (
        "from distributed import Client, LocalCluster\n"
        "with LocalCluster(n_workers=2, processes=True, threads_per_worker=1) as cluster, "
        "Client(cluster) as client:\n"
        "    v = client.get_versions(check=True)\n"
        "    import dask.array as da\n"
        "    print(len(v['workers']), int(da.ones((2000, 2000), chunks=500).sum().compute()))\n"
    )
    assert run_in(SINGLEUSER, "python", "-c", code).split()[-2:] == ["2", "4000000"]


def test_extensions_are_enabled_and_ok():
    servers = run_in(SINGLEUSER, "jupyter", "server", "extension", "list")
    servers += docker(
        "run", "--rm", "--entrypoint", "jupyter", SINGLEUSER, "server", "extension", "list"
    ).stderr
    assert re.search(r"course_hub\s+\S*enabled", servers), servers
    assert "course_hub 0.1.0" in servers and "OK" in servers
    labs = docker("run", "--rm", "--entrypoint", "jupyter", SINGLEUSER, "labextension", "list")
    text = labs.stdout + labs.stderr
    assert re.search(r"jupyter-course-hub v0\.1\.0 \S*enabled\S* \S*OK", text), text
    assert "dask-labextension" in text


def test_runs_as_jovyan_with_a_healthcheck():
    assert run_in(SINGLEUSER, "id", "-u").strip() == "1000"
    assert run_in(SINGLEUSER, "sh", "-c", "echo $(id -un) $HOME $PWD").split() == [
        "jovyan",
        "/home/jovyan",
        "/home/jovyan",
    ]
    for image in (SINGLEUSER, HUB):
        config = inspect(image)["Config"]
        assert config["Healthcheck"]["Test"][0] == "CMD", image
        env = "\n".join(config["Env"]).lower()
        assert "password" not in env and "token" not in env, image  # no secret baked in


def test_spark_local_job():
    code = (
        "from pyspark.sql import SparkSession\n"
        "s = SparkSession.builder.master('local[*]').config('spark.ui.showConsoleProgress', 'false').getOrCreate()\n"
        "counts = dict(s.sparkContext.parallelize(['a b a', 'b a']).flatMap(str.split)"
        ".map(lambda w: (w, 1)).reduceByKey(lambda x, y: x + y).collect())\n"
        "print(counts['a'], counts['b'])\n"
        "s.stop()\n"
    )
    assert run_in(SINGLEUSER, "python", "-c", code, timeout=300).split()[-2:] == ["3", "2"]


def test_course_content_ships_in_the_image():
    code = (
        "from course_hub.content import packaged_content_dir\n"
        "from course_hub.manifest import load_manifest\n"
        "root = packaged_content_dir()\n"
        "print(len(load_manifest(root / 'course.yml', root).sessions))"
    )
    assert run_in(SINGLEUSER, "python", "-c", code).strip() == "6"


def test_hub_image():
    assert run_in(HUB, "jupyterhub", "--version").startswith("5.5.")
    version = run_in(HUB, "/opt/chp/node_modules/.bin/configurable-http-proxy", "--version")
    assert version.strip() == "5.3.0"
    code = "import dockerspawner, jupyterhub_idle_culler, course_hub.hub.local; print('ok')"
    assert run_in(HUB, "python", "-c", code).strip() == "ok"


#: Issue 4's aim for the students' image (uncompressed, as `docker image ls`
#: counts: 1e9 bytes); large images are the first cause of slow spawns.
SINGLEUSER_MAX_BYTES = 1.8e9


def test_image_sizes(record_property):
    sizes = {image: inspect(image)["Size"] for image in (SINGLEUSER, HUB)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "sizes.json").write_text(
        json.dumps(
            {
                "bytes": sizes,
                "gb": {image: round(size / 1e9, 3) for image, size in sizes.items()},
                "singleuser_max_bytes": SINGLEUSER_MAX_BYTES,
            },
            indent=2,
        )
        + "\n"
    )
    for image, size in sizes.items():
        record_property(f"size_bytes {image}", size)
        print(f"\n{image}: {size / 1e9:.2f} GB")
    assert sizes[HUB] > 0
    assert sizes[SINGLEUSER] <= SINGLEUSER_MAX_BYTES, (
        f"{SINGLEUSER} is {sizes[SINGLEUSER] / 1e9:.2f} GB, over the "
        f"{SINGLEUSER_MAX_BYTES / 1e9:.1f} GB aim: see what the last change added "
        "(docker history)"
    )
