"""Fixes for the course's libraries, applied when they are imported.

The course's notebooks, the teachers' own included, call APIs that the
locked releases broke (docs/teachers.md, "Bringing your own notebooks"):

- scikit-learn >= 1.6 removed ``mean_squared_error(..., squared=False)``, the
  course's RMSE; dask-ml 2025.1 (its last release) needs scikit-learn >= 1.6.1,
  so no pin below 1.6 is possible: :mod:`.sklearn_rmse` accepts it again.
- dask-ml 2025.1 with dask 2026.8: ``LinearRegression.score`` on arrays of
  unknown chunk sizes, and ``HyperbandSearchCV``/``IncrementalSearchCV.fit``
  (``dask.persist`` from the client's event loop): :mod:`.dask_ml_fixes`.
- dask-gateway 2026.3: ``client.shutdown()`` on a Gateway cluster's client
  deadlocks (the dask-tutorial's last cell): :mod:`.gateway_shutdown`.

Each fix is a replaced function, applied only to the version it fixes, right
after its module is imported, in every process of the environment (kernels,
Dask schedulers and workers): ``course_hub_compat.pth`` in site-packages
calls :func:`install` at interpreter start, which only adds an import hook
(nothing is imported before the notebook imports it). ``COURSE_HUB_NO_COMPAT=1``
turns the fixes off.
"""

from __future__ import annotations

import importlib.abc
import logging
import os
import sys
from collections.abc import Callable
from types import ModuleType

log = logging.getLogger(__name__)


def _sklearn_regression(module: ModuleType) -> None:
    from .sklearn_rmse import patch

    patch(module)


def _dask_ml_regression(module: ModuleType) -> None:
    from .dask_ml_fixes import patch_regression

    patch_regression(module)


def _dask_ml_incremental(module: ModuleType) -> None:
    from .dask_ml_fixes import patch_incremental

    patch_incremental(module)


def _dask_gateway_client(module: ModuleType) -> None:
    from .gateway_shutdown import patch

    patch(module)


# Module name -> its fix, run once the module has executed (and before the
# package that imports it re-exports its names).
PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "sklearn.metrics._regression": _sklearn_regression,
    "dask_ml.metrics.regression": _dask_ml_regression,
    "dask_ml.model_selection._incremental": _dask_ml_incremental,
    "dask_gateway.client": _dask_gateway_client,
}


class _PatchingFinder(importlib.abc.MetaPathFinder):
    """Finds the patched modules with the other finders; fixes them once executed."""

    def find_spec(self, fullname, path, target=None):
        fix = PATCHES.get(fullname)
        if fix is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_fix(module: ModuleType) -> None:
            exec_module(module)
            try:
                fix(module)
            except Exception:  # a fix must never break the import itself
                log.exception("course_hub.compat: could not patch %s", fullname)

        loader.exec_module = exec_and_fix  # this spec's own loader instance
        return spec


def install() -> None:
    """Add the import hook (idempotent); fix modules already imported."""
    if os.environ.get("COURSE_HUB_NO_COMPAT"):
        return
    if any(isinstance(f, _PatchingFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _PatchingFinder())
    for name, fix in PATCHES.items():
        if name in sys.modules:
            fix(sys.modules[name])
