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
    assert derived.base_url == "http://localhost:9000"  # no link may name a wildcard address
    assert Settings(host="0.0.0.0", port=8000).base_url == "http://localhost:8000"
    assert Settings(host="10.1.2.3", port=8000).base_url == "http://10.1.2.3:8000"
    public = Settings(base_url="https://data.example.fi/").with_address("0.0.0.0", 9000)
    assert public.base_url == "https://data.example.fi"


def test_the_city_bbox_is_read_as_four_degrees_and_contains_the_bundled_data():
    assert Settings.from_env({"CIVIC_CITY_BBOX": "17.8,59.2,18.3,59.5"}).city_bbox == (
        17.8,
        59.2,
        18.3,
        59.5,
    )
    west, south, east, north = Settings().city_bbox  # datasets/*.toml: 24.93-24.96 E, 60.16-60.18 N
    assert west < 24.93 - 0.3 and east > 24.96 + 0.3 and south < 60.16 - 0.2 and north > 60.18 + 0.2


@pytest.mark.parametrize("raw", ["24.5,59.9,25.5", "a,b,c,d", "25.5,59.9,24.5,60.5", "24,95,25,96"])
def test_a_city_bbox_that_is_not_a_box_names_the_variable_and_the_shape(raw):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"CIVIC_CITY_BBOX": raw})
    assert str(err.value) == (
        f"CIVIC_CITY_BBOX={raw!r} is not a valid value (expected west,south,east,north in "
        "degrees, e.g. 24.5,59.9,25.5,60.5)"
    )


def test_the_store_is_the_data_dir_unless_a_shared_folder_is_named(tmp_path):
    assert Settings(data_dir=tmp_path / "d").store_dir == tmp_path / "d"
    env = {"CIVIC_STORE_URL": f"file://{tmp_path}/shared"}
    assert Settings.from_env(env, data_dir=tmp_path / "d").store_dir == tmp_path / "shared"


def test_an_object_store_caches_versions_under_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path, store_url="s3://bucket/civic/")
    assert (settings.store_url, settings.store_is_remote) == ("s3://bucket/civic", True)
    assert settings.store_dir == tmp_path / "store-cache"


def test_an_unknown_store_scheme_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="CIVIC_STORE_URL='gs://bucket/civic': expected"):
        Settings.from_env({"CIVIC_STORE_URL": "gs://bucket/civic"})


@pytest.mark.parametrize("raw", ["-1", "11", "one"])
def test_trusted_proxies_must_be_a_small_count(raw):
    with pytest.raises(SettingsError, match="CIVIC_TRUSTED_PROXIES"):
        Settings.from_env({"CIVIC_TRUSTED_PROXIES": raw})


def test_store_downloads_is_proxy_by_default_and_takes_only_proxy_or_redirect():
    assert Settings.from_env({}).store_downloads == "proxy"
    assert Settings.from_env({"CIVIC_STORE_DOWNLOADS": "redirect"}).store_downloads == "redirect"
    with pytest.raises(SettingsError, match="CIVIC_STORE_DOWNLOADS='presign'.*proxy or redirect"):
        Settings.from_env({"CIVIC_STORE_DOWNLOADS": "presign"})
