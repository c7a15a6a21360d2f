"""The OpenAPI description of the service's API, shipped beside this module."""

from __future__ import annotations

import functools
from importlib.resources import files

import yaml


@functools.cache
def _text() -> str:
    return files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")


def openapi_spec() -> dict:
    """The service's OpenAPI description (a fresh copy)."""
    return yaml.safe_load(_text())
