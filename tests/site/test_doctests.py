"""The examples in the website modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "api.i18n",
    "api.pages",
    "api.pages_common",
    "api.pages_catalog",
    "api.pages_map",
    "api.pages_scenario",
    "opendata.preview",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
