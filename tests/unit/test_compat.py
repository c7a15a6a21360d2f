"""The course's library fixes (course_hub.compat): on in every new interpreter
of the environment through the .pth, off with COURSE_HUB_NO_COMPAT=1, and each
applied only to the release it was written for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from course_hub.compat import dask_ml_fixes, gateway_shutdown

pytestmark = pytest.mark.unit

# What each fix changes, as seen from a fresh interpreter (no import of ours).
PROBE = r"""
import json
from sklearn.metrics import mean_squared_error
from dask_gateway.client import GatewayCluster
import dask_ml.metrics.regression as reg
try:
    rmse = float(mean_squared_error([0.0, 0.0], [3.0, 3.0], squared=False))
except TypeError:
    rmse = None
print(json.dumps({
    "squared": rmse is not None,
    "rmse": rmse,
    "shutdown": bool(getattr(GatewayCluster.close, "__course_hub_fix__", False)),
    "r2": reg.r2_score.__module__,
}))
"""


def probe(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k != "COURSE_HUB_NO_COMPAT"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fixes_are_on_in_a_new_interpreter_and_off_when_asked():
    on = probe()
    assert on == {
        "squared": True,
        "rmse": 3.0,
        "shutdown": True,
        "r2": "course_hub.compat.dask_ml_fixes",
    }
    off = probe(COURSE_HUB_NO_COMPAT="1")
    assert off == {
        "squared": False,
        "rmse": None,
        "shutdown": False,
        "r2": "dask_ml.metrics.regression",
    }


def test_each_fix_leaves_another_release_alone(monkeypatch):
    """A newer dask-ml or dask-gateway (fixed upstream, or changed) is not touched."""
    monkeypatch.setattr(dask_ml_fixes, "version", lambda name: "2099.1.0")
    monkeypatch.setattr(gateway_shutdown, "version", lambda name: "2099.1.0")

    def r2_score(*args, **kwargs):
        return "upstream"

    regression = SimpleNamespace(r2_score=r2_score, _check_reg_targets=object())
    dask_ml_fixes.patch_regression(regression)
    assert regression.r2_score is r2_score

    class GatewayCluster:
        def close(self, shutdown=None):
            return "upstream"

    close = GatewayCluster.close
    gateway_shutdown.patch(SimpleNamespace(GatewayCluster=GatewayCluster))
    assert GatewayCluster.close is close
