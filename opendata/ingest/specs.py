"""Dataset specs: one TOML file per dataset, parsed into frozen dataclasses.

Every key is checked: unknown keys, wrong types and missing required fields are refused with the
key path (`schema.fields[3].type`) and what was expected, so a typo never silently does nothing.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from opendata.city import AGENT_KEYS, CITY_FILE, City, load_city
from opendata.errors import SpecError
from opendata.ingest.spec_model import (
    FIELD_TYPES,
    FREQUENCIES,
    GEOMETRY_TYPES,
    NAME_RE,
    PRIVACY_ACTIONS,
    THEMES,
    Agent,
    DatasetSpec,
    FieldSpec,
    Metadata,
    PrivacyDecision,
    Schema,
    Source,
    Transform,
)
from opendata.ingest.speccheck import (
    LANGS,
    boolean,
    check_keys,
    check_path_text,
    choice,
    fail,
    lonlat_box,
    number,
    string,
    text,
)

TOP_KEYS = {"name", "metadata", "source", "schema", "transforms", "privacy", "quality"}
META_KEYS = {
    "title",
    "description",
    "keywords",
    "themes",
    "publisher",
    "contact",
    "license",
    "license_url",
    "attribution",
    "update_frequency",
    "spatial",
    "notes",
}
META_REQUIRED = META_KEYS - {"notes", "license_url", "spatial"}


def _agent(value: object, path: str, need_email: bool) -> Agent:
    if not isinstance(value, dict):
        raise fail(path, "a table with name (and uri, email, type)", value)
    check_keys(
        value, path, {"name", "uri", "email", "type"}, {"name", "email"} if need_email else {"name"}
    )
    return Agent(**{k: string(value, k, path) for k in value})


def _keywords(value: object, path: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not value:
        raise fail(path, "a table of language -> list of keywords", value)
    out = {}
    for lang, words in value.items():
        if lang not in LANGS:
            raise SpecError(f"{path}.{lang}: unknown language code; use one of {', '.join(LANGS)}")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise fail(f"{path}.{lang}", "a list of strings", words)
        out[lang] = tuple(words)
    return out


def _metadata(data: object) -> Metadata:
    if not isinstance(data, dict):
        raise fail("metadata", "a table", data)
    check_keys(data, "metadata", META_KEYS, META_REQUIRED)
    themes = data["themes"]
    if not isinstance(themes, list) or not themes:
        raise fail(
            "metadata.themes", f"a non-empty list of EU themes ({', '.join(THEMES)})", themes
        )
    for i, theme in enumerate(themes):
        choice(theme, f"metadata.themes[{i}]", THEMES)
    title = text(data["title"], "metadata.title")
    if not ({"sv", "fi"} & title.keys()) or "en" not in title:
        raise SpecError("metadata.title: give at least English and Swedish or Finnish (en + sv/fi)")
    return Metadata(
        title=title,
        description=text(data["description"], "metadata.description"),
        keywords=_keywords(data["keywords"], "metadata.keywords"),
        themes=tuple(themes),
        publisher=_agent(data["publisher"], "metadata.publisher", need_email=False),
        contact=_agent(data["contact"], "metadata.contact", need_email=True),
        license=string(data, "license", "metadata"),
        license_url=string(data, "license_url", "metadata", ""),
        attribution=string(data, "attribution", "metadata"),
        update_frequency=choice(data["update_frequency"], "metadata.update_frequency", FREQUENCIES),
        spatial=string(data, "spatial", "metadata", ""),
        notes=text(data["notes"], "metadata.notes") if "notes" in data else {},
    )


def _source(data: object, base: Path) -> Source:
    from opendata.readers import READERS

    if not isinstance(data, dict):
        raise fail("source", "a table", data)
    check_keys(data, "source", {"path", "format", "crs", "options"}, {"path", "format"})
    fmt = choice(data["format"], "source.format", tuple(READERS))
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise fail("source.options", "a table", options)
    crs = data.get("crs")
    if crs is not None and not (
        isinstance(crs, str) and re.fullmatch(r"(EPSG|epsg):\d{4,6}|OGC:CRS84", crs)
    ):
        raise fail("source.crs", "an 'EPSG:<code>' string such as 'EPSG:3067'", crs)
    written = string(data, "path", "source")
    check_path_text(written, "source.path")
    return Source(
        path=base / written,
        format=fmt,
        crs=crs.upper() if isinstance(crs, str) else None,
        options=dict(options),
        written=written,
    )


FIELD_KEYS = {
    "name",
    "type",
    "description",
    "unit",
    "required",
    "unique",
    "allowed",
    "min",
    "max",
    "estimate",
}


def _field(data: object, path: str) -> FieldSpec:
    if not isinstance(data, dict):
        raise fail(path, "a table", data)
    check_keys(data, path, FIELD_KEYS, {"name", "type"})
    allowed = data.get("allowed")
    if allowed is not None and not isinstance(allowed, list):
        raise fail(f"{path}.allowed", "a list of values", allowed)
    return FieldSpec(
        name=string(data, "name", path),
        type=choice(data["type"], f"{path}.type", FIELD_TYPES),
        description=text(data["description"], f"{path}.description")
        if "description" in data
        else {},
        unit=string(data, "unit", path, ""),
        required=boolean(data, "required", path, False),
        unique=boolean(data, "unique", path, False),
        allowed=tuple(allowed) if allowed is not None else None,
        minimum=number(data["min"], f"{path}.min") if "min" in data else None,
        maximum=number(data["max"], f"{path}.max") if "max" in data else None,
        estimate=boolean(data, "estimate", path, False),
    )


def _schema(data: object) -> Schema:
    if not isinstance(data, dict):
        raise fail("schema", "a table", data)
    check_keys(data, "schema", {"fields", "primary_key", "geometry", "extent"}, {"fields"})
    raw_fields = data["fields"]
    if not isinstance(raw_fields, list) or not raw_fields:
        raise fail("schema.fields", "a non-empty array of tables ([[schema.fields]])", raw_fields)
    fields = tuple(_field(f, f"schema.fields[{i}]") for i, f in enumerate(raw_fields))
    names = [f.name for f in fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"schema.fields: column names repeat: {', '.join(dupes)}")
    if "geometry" in names:
        raise SpecError("schema.fields: 'geometry' is reserved for the geometry column")
    key = data.get("primary_key")
    if key is not None and key not in names:
        raise SpecError(f"schema.primary_key: '{key}' is not one of the schema fields")
    geometry = choice(data.get("geometry", "any"), "schema.geometry", GEOMETRY_TYPES)
    extent = lonlat_box(data["extent"], "schema.extent") if "extent" in data else None
    return Schema(fields=fields, primary_key=key, geometry=geometry, extent=extent)


def _transforms(data: object) -> tuple[Transform, ...]:
    from opendata.ingest.transforms import TRANSFORMS

    if not isinstance(data, list):
        raise fail("transforms", "an array of tables ([[transforms]])", data)
    out = []
    for i, item in enumerate(data):
        path = f"transforms[{i}]"
        if not isinstance(item, dict) or "op" not in item:
            raise fail(path, "a table with an 'op' key", item)
        op = choice(item["op"], f"{path}.op", tuple(TRANSFORMS))
        params = {k: v for k, v in item.items() if k != "op"}
        TRANSFORMS[op].check(params, path)
        out.append(Transform(op=op, params=params))
    return tuple(out)


def _privacy(data: object) -> dict[str, PrivacyDecision]:
    if not isinstance(data, dict):
        raise fail("privacy", "a table of column -> {action, reason}", data)
    out = {}
    for column, decision in data.items():
        path = f"privacy.{column}"
        if not isinstance(decision, dict):
            raise fail(path, "a table {action = 'drop'|'hash'|'allow', reason = '...'}", decision)
        check_keys(decision, path, {"action", "reason"}, {"action"})
        action = choice(decision["action"], f"{path}.action", PRIVACY_ACTIONS)
        reason = string(decision, "reason", path, "")
        if action == "allow" and len(reason.strip()) < 10:
            raise SpecError(f"{path}.reason: 'allow' needs a written justification")
        out[column] = PrivacyDecision(action=action, reason=reason)
    return out


def _quality(data: object) -> float:
    if not isinstance(data, dict):
        raise fail("quality", "a table", data)
    check_keys(data, "quality", {"max_reject_fraction"}, set())
    value = number(data.get("max_reject_fraction", 0.0), "quality.max_reject_fraction")
    if not 0.0 <= value <= 1.0:
        raise fail("quality.max_reject_fraction", "a fraction between 0 and 1", value)
    return value


def parse_spec(
    data: dict[str, Any], *, name: str, base: Path, spec_path: Path | None = None
) -> DatasetSpec:
    """Build a spec from already-parsed TOML/JSON data; raises `SpecError` with the key path."""
    check_keys(data, "", TOP_KEYS, {"metadata", "source", "schema"})
    name = data.get("name", name)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise fail("name", "a lower-case identifier (a-z, 0-9, _), e.g. 'roads'", name)
    return DatasetSpec(
        name=name,
        metadata=_metadata(data["metadata"]),
        source=_source(data["source"], base),
        schema=_schema(data["schema"]),
        transforms=_transforms(data.get("transforms", [])),
        privacy=_privacy(data.get("privacy", {})),
        max_reject_fraction=_quality(data.get("quality", {})),
        spec_path=spec_path,
        raw=data,
    )


def inherit(data: dict[str, Any], city: City) -> dict[str, Any]:
    """`data` with the city's publisher and contact where its `metadata` names none, so a
    city states them once (`city.toml`) and every spec and scenario result carries them."""
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return data  # parse_spec names the problem
    given = {role: city.agent(role) for role in AGENT_KEYS if role not in meta}
    return data | {"metadata": meta | {k: v for k, v in given.items() if v}}


def load_spec(path: str | Path, city: City | None = None) -> DatasetSpec:
    """Load and check one spec file; source paths are relative to the spec's folder. Publisher
    and contact come from `city` (default: the `city.toml` beside the spec) unless it sets them."""
    path = Path(path)
    shown = path.name  # messages name the file, never the server's folders
    if not path.is_file():
        raise SpecError(f"{shown}: no such spec file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise SpecError(f"{shown}: not UTF-8 text ({err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{shown}: not valid TOML: {err}") from None
    except OSError as err:
        raise SpecError(
            f"{shown}: cannot be read ({err.strerror or 'input/output error'})"
        ) from None
    try:
        city = city or load_city(path.parent / CITY_FILE, required=False)
        return parse_spec(inherit(data, city), name=path.stem, base=path.parent, spec_path=path)
    except SpecError as err:
        raise SpecError(f"{shown}: {err}") from None


def find_specs(folder: Path) -> dict[str, Path]:
    """Spec files in a folder by dataset name (the file stem); `city.toml` is the city's
    settings, not a dataset."""
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if p.name != CITY_FILE}
