"""The JSON Schema of a scenario as the write routes accept it (OpenAPI 3.0 `requestBody`), so
generated clients and schemathesis can build valid bodies. `twin.scenarios.spec` stays the
authority: it refuses what this schema cannot express (geometry validity, selections that match
no street) with the key path."""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2000}}
_WKT = {"type": "string", "description": "WKT or GeoJSON geometry in EPSG:4326", "minLength": 5}
_POSITIVE = {"type": "number", "exclusiveMinimum": True, "minimum": 0}
_ONE_OR_MANY_STR = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}
_ONE_OR_MANY_INT = {
    "oneOf": [
        {"type": "integer"},
        {"type": "array", "items": {"type": "integer"}, "minItems": 1},
    ]
}
_SELECT = {
    "road_fid": _ONE_OR_MANY_INT,
    "osm_key": _ONE_OR_MANY_STR,
    "name": _ONE_OR_MANY_STR,
    "polygon": _WKT,
}


def _edit(kind: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": kind,
        "properties": {
            "type": {"type": "string", "enum": [kind]},
            "note": {"type": "string"},
            **props,
        },
        "required": ["type", *required],
        "additionalProperties": False,
    }


EDITS = [
    _edit("close", _SELECT, []),
    _edit(
        "change",
        {**_SELECT, **{k: _POSITIVE for k in ("lanes", "capacity", "speed_kmh", "max_speed_kmh")}},
        [],
    ),
    _edit(
        "add_link",
        {
            "geometry": _WKT,
            "speed_kmh": _POSITIVE,
            "lanes": _POSITIVE,
            "capacity": _POSITIVE,
            "oneway": {"type": "boolean"},
            "snap_m": _POSITIVE,
        },
        ["geometry", "speed_kmh"],
    ),
    _edit(
        "development",
        {
            "geometry": _WKT,
            "dwellings": {"type": "number", "minimum": 0},
            "jobs": {"type": "number", "minimum": 0},
            "persons_per_dwelling": _POSITIVE,
        },
        ["geometry"],
    ),
    _edit(
        "cordon_charge",
        {
            "polygon": _WKT,
            "amount": {"type": "number", "minimum": 0},
            "currency": {"type": "string", "enum": ["EUR", "SEK"]},
            "value_of_time": _POSITIVE,
        },
        ["polygon", "amount"],
    ),
]

SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A scenario, as in datasets/scenarios/*.toml (docs/scenarios.md)",
    "required": ["name", "title", "edits"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
        "title": _TEXT,
        "description": _TEXT,
        "edits": {"type": "array", "items": {"oneOf": EDITS}, "maxItems": 200},
        "baseline": {"type": "object"},
        "assignment": {
            "type": "object",
            "properties": {
                "algorithm": {"type": "string"},
                "target_gap": _POSITIVE,
                "max_iterations": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
        "impacts": {"type": "object"},
        "demand": {"type": "object"},
        "time_of_day": {"type": "object"},
    },
}

#: The answer of `POST /api/scenarios/validate` (the dry run): `cut_off` lists the zones a closure
#: leaves without any path (most pairs lost first, at most 50), `cut_off_total` counts them all.
DRY_RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["valid", "problem", "edits", "cut_off", "cut_off_total"],
    "properties": {
        "valid": {"type": "boolean"},
        "problem": {"type": "string", "nullable": True},
        "edits": {"type": "array", "items": {"type": "object"}},
        "cut_off": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["zone", "pairs", "lon", "lat"],
                "properties": {
                    "zone": {"type": "integer", "description": "zone id as the problem names it"},
                    "pairs": {"type": "integer", "description": "its zone pairs left without path"},
                    "lon": {"type": "number", "description": "zone centroid, EPSG:4326"},
                    "lat": {"type": "number", "description": "zone centroid, EPSG:4326"},
                },
            },
        },
        "cut_off_total": {"type": "integer", "minimum": 0},
    },
}
