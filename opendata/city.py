"""The city that runs the platform: its name in the interface languages, the publisher and the
contact point every dataset inherits unless its spec names its own, and its homepage. Read from
a small TOML file (`datasets/city.toml` by default, `CIVIC_CITY_FILE` to point elsewhere), with
single `CIVIC_CITY_<KEY>` variables winning over the file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from opendata.errors import SettingsError

#: The city file's name in a datasets folder (never read as a dataset spec).
CITY_FILE = "city.toml"
#: The keys of `[publisher]` and `[contact]` in the city file (and of a spec's agents).
AGENT_KEYS = {"publisher": ("name", "uri", "type"), "contact": ("name", "email")}
#: The languages a city name may be given in.
NAME_LANGS = ("fi", "sv", "en", "da")
LOCAL_AUTHORITY = "http://purl.org/adms/publishertype/LocalAuthority"


@dataclass(frozen=True)
class City:
    """Who publishes: a frozen record so `Settings` stays hashable and immutable."""

    name_fi: str = ""
    name_sv: str = ""
    name_en: str = ""
    name_da: str = ""
    publisher_name: str = "Open data platform"
    publisher_uri: str = ""
    publisher_type: str = LOCAL_AUTHORITY
    contact_name: str = ""
    contact_email: str = ""
    homepage: str = ""

    def name(self, lang: str) -> str:
        """The city's name in `lang`, else English, Finnish or Swedish (`""` when unnamed)."""
        names = [getattr(self, f"name_{code}") for code in (lang, "en", "fi", "sv")]
        return next((n for n in names if n), "")

    def agent(self, role: str) -> dict[str, str]:
        """The publisher or contact as a spec would write it (empty values left out)."""
        values = {key: getattr(self, f"{role}_{key}") for key in AGENT_KEYS[role]}
        return {k: v for k, v in values.items() if v}


def _fail(shown: str, message: str) -> SettingsError:
    return SettingsError(f"{shown}: {message}")


def _strings(table: object, shown: str, prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
    """`{prefix_key: value}` for a TOML table of strings with only `keys`."""
    if not isinstance(table, dict):
        raise _fail(shown, f"[{prefix}] must be a table of {', '.join(keys)}")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise _fail(shown, f"[{prefix}] has unknown key {unknown[0]!r}; use {', '.join(keys)}")
    for key, value in table.items():
        if not isinstance(value, str):
            raise _fail(shown, f"{prefix}.{key} must be a string, got {type(value).__name__}")
    return {f"{prefix}_{key}": value.strip() for key, value in table.items()}


def parse_city(data: Mapping[str, Any], shown: str = "city.toml") -> City:
    """A `City` from parsed TOML: `name` (per language), `homepage`, `[publisher]`, `[contact]`.

    >>> parse_city({"name": {"fi": "Helsinki"}, "contact": {"email": "x@y.fi"}}).agent("contact")
    {'email': 'x@y.fi'}
    """
    unknown = sorted(set(data) - {"name", "homepage", "publisher", "contact"})
    if unknown:
        raise _fail(shown, f"unknown key {unknown[0]!r}; use name, homepage, publisher, contact")
    values = _strings(data.get("name", {}), shown, "name", NAME_LANGS)
    homepage = data.get("homepage", "")
    if not isinstance(homepage, str):
        raise _fail(shown, f"homepage must be a string, got {type(homepage).__name__}")
    values["homepage"] = homepage.strip()
    for role, keys in AGENT_KEYS.items():
        values |= _strings(data.get(role, {}), shown, role, keys)
    email = values.get("contact_email", "")
    if email and ("@" not in email or " " in email):
        raise _fail(shown, f"contact.email {email[:60]!r} is not an e-mail address")
    return City(**values)


def load_city(path: Path, *, required: bool) -> City:
    """The city file at `path`; a missing file gives the neutral default unless `required`
    (the file was named on purpose). Malformed files raise `SettingsError` naming the file."""
    shown = path.name  # messages name the file, never the server's folders
    if not path.is_file():
        if required:
            raise _fail(f"CIVIC_CITY_FILE={shown}", "no such file")
        return City()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _fail(shown, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise _fail(shown, f"not valid TOML: {err}") from None
    return parse_city(data, shown)


def with_env(city: City, environ: Mapping[str, str]) -> City:
    """`city` with each `CIVIC_CITY_<FIELD>` variable (e.g. `CIVIC_CITY_CONTACT_EMAIL`) set."""
    changes = {
        f.name: environ[f"CIVIC_CITY_{f.name.upper()}"].strip()
        for f in fields(City)
        if f"CIVIC_CITY_{f.name.upper()}" in environ
    }
    return replace(city, **changes)
