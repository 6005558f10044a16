"""The city's settings: read from `datasets/city.toml` (or `CIVIC_CITY_FILE`, or single
`CIVIC_CITY_<KEY>` variables), inherited by every spec that names no publisher or contact, and
refused with one clear line when malformed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from api.cli import main
from opendata.errors import SettingsError, SpecError
from opendata.ingest.specs import find_specs, load_spec
from opendata.settings import Settings
from tests.conftest import DATASETS, write_toml
from tests.opendata.helpers import places_spec

CITY = """name = { fi = "Turku", sv = "Åbo", en = "Turku" }
homepage = "https://www.turku.fi/"
[publisher]
name = "Turun kaupunki"
uri = "https://www.turku.fi/"
[contact]
name = "Avoin data"
email = "avoindata@turku.fi"
"""


def test_the_bundled_city_file_is_read_and_names_no_example_org():
    city = Settings.from_env({"CIVIC_DATASETS_DIR": str(DATASETS)}).city
    assert (city.name("fi"), city.name("sv"), city.name("da")) == (
        "Helsinki",
        "Helsingfors",
        "Helsinki",
    )
    assert city.agent("publisher")["name"] == "City of Helsinki open data (demo)"
    assert "example.org" not in repr(city)
    assert "city" not in find_specs(DATASETS)  # the city file is not a dataset
    for path in find_specs(DATASETS).values():  # every bundled spec inherits the city's
        assert "example.org" not in path.read_text(encoding="utf-8")
        assert load_spec(path).metadata.contact.email == city.contact_email


def test_a_city_file_and_single_variables_override_the_bundled_one(tmp_path):
    (tmp_path / "turku.toml").write_text(CITY, encoding="utf-8")
    env = {"CIVIC_CITY_FILE": str(tmp_path / "turku.toml"), "CIVIC_CITY_CONTACT_NAME": "Datatiimi"}
    city = Settings.from_env(env).city
    assert (city.name("sv"), city.publisher_name) == ("Åbo", "Turun kaupunki")
    assert city.agent("contact") == {"name": "Datatiimi", "email": "avoindata@turku.fi"}
    assert Settings(datasets_dir=tmp_path).city.publisher_name == "Open data platform"  # no file


def test_specs_inherit_the_city_unless_they_name_their_own(tmp_path):
    (tmp_path / "city.toml").write_text(CITY, encoding="utf-8")
    spec = places_spec(tmp_path)
    data = tomllib.loads(spec.read_text(encoding="utf-8"))
    own = load_spec(spec).metadata.publisher.name
    del data["metadata"]["publisher"], data["metadata"]["contact"]
    write_toml(spec, data)
    inherited = load_spec(spec).metadata
    assert own == "Test city"
    assert (inherited.publisher.name, inherited.contact.email) == (
        "Turun kaupunki",
        "avoindata@turku.fi",
    )
    (tmp_path / "city.toml").unlink()  # no city and no contact: the spec names what is missing
    with pytest.raises(SpecError, match="contact"):
        load_spec(spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = [", "city.toml: not valid TOML"),
        (
            "[contact]\nemail = 'not an address'\n",
            "contact.email 'not an address' is not an e-mail",
        ),
        ("[publisher]\nnmae = 'x'\n", "[publisher] has unknown key 'nmae'"),
        ("homepage = 3\n", "homepage must be a string"),
    ],
)
def test_a_malformed_city_file_is_one_clear_line(tmp_path, text, message):
    (tmp_path / "city.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message.replace("[", r"\[")) as err:
        Settings(datasets_dir=tmp_path)
    assert "\n" not in str(err.value) and str(tmp_path) not in str(err.value)


def test_the_cli_refuses_a_malformed_or_missing_city_file_with_exit_2(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "city.toml").write_text("name = [", encoding="utf-8")
    monkeypatch.setenv("CIVIC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CIVIC_CATALOG_URL", raising=False)
    for city_file in (tmp_path / "city.toml", tmp_path / "nowhere.toml"):
        monkeypatch.setenv("CIVIC_CITY_FILE", str(city_file))
        with pytest.raises(SystemExit) as code:
            main(["datasets"])
        err = capsys.readouterr().err
        assert code.value.code == 2
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
        assert city_file.name in err and str(tmp_path) not in err
    assert not Path(tmp_path / "data" / "catalog.db").exists()  # nothing written
