"""Settings: one typed object from the environment, paths absolute from the start."""

from __future__ import annotations

import pytest

from opendata.errors import SettingsError
from opendata.settings import Settings


def test_relative_paths_are_made_absolute_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"CIVIC_DATA_DIR": "./data"})
    assert settings.data_dir == tmp_path / "data"
    assert settings.catalog_url == f"sqlite:///{tmp_path / 'data' / 'catalog.db'}"
    assert settings.source_roots == (tmp_path / "datasets",)


def test_every_field_is_read_from_its_civic_variable_with_its_type():
    settings = Settings.from_env(
        {
            "CIVIC_PORT": "9001",
            "CIVIC_RATE_LIMIT": "2.5",
            "CIVIC_COLUMNAR": "off",
            "CIVIC_SCENARIO_WORKERS": "3",
            "CIVIC_CATALOG_TITLE": "Our data",
        }
    )
    assert (settings.port, settings.rate_limit, settings.columnar) == (9001, 2.5, False)
    assert (settings.scenario_workers, settings.catalog_title) == (3, "Our data")
    assert settings.base_url == "http://127.0.0.1:9001"


def test_a_value_that_does_not_parse_names_its_variable():
    with pytest.raises(SettingsError, match="CIVIC_PORT='eighty'"):
        Settings.from_env({"CIVIC_PORT": "eighty"})


def test_a_derived_base_url_follows_the_served_address_but_a_public_one_stays():
    derived = Settings().with_address("0.0.0.0", 9000)
    assert derived.base_url == "http://0.0.0.0:9000"
    public = Settings(base_url="https://data.example.fi/").with_address("0.0.0.0", 9000)
    assert public.base_url == "https://data.example.fi"
