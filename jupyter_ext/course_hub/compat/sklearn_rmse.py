"""``mean_squared_error(y_true, y_pred, squared=False)``: the RMSE as the course
computes it, which scikit-learn removed in 1.6 (deprecated in 1.4 for
``root_mean_squared_error``)."""

from __future__ import annotations

import functools
import inspect
from types import ModuleType


def patch(module: ModuleType) -> None:
    """Let ``module.mean_squared_error`` take ``squared`` again, if it does not."""
    mse = module.mean_squared_error
    if "squared" in inspect.signature(mse).parameters or getattr(mse, "_course_hub", False):
        return  # scikit-learn < 1.6: nothing to do
    rmse = module.root_mean_squared_error

    @functools.wraps(mse)
    def mean_squared_error(y_true, y_pred, *, squared: bool = True, **kwargs):
        if squared:
            return mse(y_true, y_pred, **kwargs)
        return rmse(y_true, y_pred, **kwargs)

    mean_squared_error._course_hub = True
    # Pickled by reference (e.g. in make_scorer on a Dask worker): the same name.
    mean_squared_error.__module__ = module.__name__
    module.mean_squared_error = mean_squared_error
