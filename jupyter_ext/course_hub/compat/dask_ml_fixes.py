"""dask-ml 2025.1.0 (its last release) with dask >= 2025.x: two fixes.

Upstream reports (dask/dask-ml), drafted in docs/upstream-reports.md:

1. ``LinearRegression.score`` (``dask_ml.metrics.r2_score``) fails on arrays of
   unknown chunk sizes (``ddf.values``, ``to_dask_array()``) with "cannot
   broadcast shape (nan,) to shape (nan,)": ``r2_score`` assigns through a
   boolean mask (``output_scores[valid_score] = ...``), and its
   ``_check_reg_targets`` calls ``y.reshape((-1, 1))``; dask no longer allows
   either with unknown sizes. ``da.where`` and ``y[:, None]`` give the same
   result for any size.
2. ``HyperbandSearchCV`` / ``IncrementalSearchCV`` / ``SuccessiveHalvingSearchCV``
   ``.fit`` raises "Attempting to use an asynchronous Client in a synchronous
   context of `dask.compute`": ``_incremental._fit`` runs on the client's event
   loop and calls ``dask.persist``, which dask now refuses there. Passing the
   client's own scheduler (``dask.persist(..., scheduler=client.get)``) makes
   dask use ``client.persist``, which does not block.
"""

from __future__ import annotations

from importlib.metadata import version
from types import ModuleType

import dask

# The release these fixes are written for; a newer dask-ml is left as it is.
FIXED_RELEASE = "2025.1.0"


def _applies() -> bool:
    return version("dask-ml") == FIXED_RELEASE


def _check_reg_targets(y_true, y_pred, multioutput):
    """dask-ml's own, with ``[:, None]`` instead of ``reshape((-1, 1))``."""
    if multioutput is not None and (
        dask.is_dask_collection(multioutput) or multioutput != "uniform_average"
    ):
        raise NotImplementedError("'multioutput' must be 'uniform_average'")
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    return None, y_true, y_pred, multioutput


def r2_score(y_true, y_pred, sample_weight=None, multioutput="uniform_average", compute=True):
    """dask-ml's own, with ``da.where`` instead of assignments through a mask."""
    import dask.array as da

    if sample_weight is not None:
        raise ValueError("'sample_weight' is not supported.")
    _, y_true, y_pred, _ = _check_reg_targets(y_true, y_pred, multioutput)
    numerator = ((y_true - y_pred) ** 2).sum(axis=0, dtype="f8")
    denominator = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0, dtype="f8")
    # scikit-learn's rules: 1 - num/den; 0 if only the denominator is 0; 1 if both are.
    safe = da.where(denominator != 0, denominator, 1.0)
    scores = da.where(denominator != 0, 1 - numerator / safe, da.where(numerator != 0, 0.0, 1.0))
    result = scores.mean(axis=0)
    return result.compute() if compute else result


def patch_regression(module: ModuleType) -> None:
    if _applies():
        r2_score.__doc__ = module.r2_score.__doc__
        module._check_reg_targets = _check_reg_targets
        module.r2_score = r2_score


def _async_client():
    """The default distributed client if we are on its event loop, else None."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    return client if client.asynchronous else None


class _DaskOnTheLoop:
    """The ``dask`` module as ``_incremental`` sees it: ``persist`` goes
    through the client when called from its event loop; the rest is dask's."""

    def __getattr__(self, name: str):
        return getattr(dask, name)

    @staticmethod
    def persist(*args, **kwargs):
        if "scheduler" not in kwargs and (client := _async_client()) is not None:
            kwargs["scheduler"] = client.get
        return dask.persist(*args, **kwargs)


def patch_incremental(module: ModuleType) -> None:
    if _applies():
        module.dask = _DaskOnTheLoop()
