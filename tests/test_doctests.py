"""The examples in the modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "api.site.i18n",
    "api.http",
    "api.site.common",
    "api.site.catalog",
    "api.site.map",
    "api.site.legend",
    "api.site.formats",
    "api.ogc.tiles_meta",
    "api.site.scenario",
    "api.site.sql",
    "opendata.query.preview",
    "opendata.query.sql",
    "opendata.query.sql_check",
    "opendata.metadata.languages",
    "opendata.city",
    "twin.scenarios.maps_text",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
