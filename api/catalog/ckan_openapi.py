"""The OpenAPI 3.0 description of the CKAN Action API subset: one path per action, with exactly
the arguments that action reads (required ones marked, with a real example), so generated
clients, harvesters' developers and crawlers can call every operation as documented."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.catalog.ckan_search import DEFAULT_FACET_LIMIT, MAX_ROWS
from api.http import MAX_COUNT

_COUNTS = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}

#: Argument name -> (description, JSON schema).
ARGUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "id": ("Name or id.", {"type": "string"}),
    "name": ("The action to document.", {"type": "string"}),
    "q": ("Words, and `field:value` filters.", {"type": "string"}),
    "fq": (
        "Solr filter (`tags:x`, `-organization:y`, `a OR b`, "
        "`metadata_modified:[2026-01-01T00:00:00Z TO *]`).",
        {"type": "string"},
    ),
    "sort": ("E.g. `id asc`, `metadata_modified desc`.", {"type": "string"}),
    "rows": (f"Page size (above {MAX_ROWS} is reduced).", _COUNTS),
    "start": ("Results to skip.", _COUNTS),
    "facet.field": ("JSON list of fields to count values of.", {"type": "string"}),
    "facet.limit": (
        "Values per facet; -1 for all.",
        _COUNTS | {"minimum": -1, "default": DEFAULT_FACET_LIMIT},
    ),
    "limit": ("Names to return.", _COUNTS),
    "offset": ("Names to skip.", _COUNTS),
    "all_fields": ("Whole dicts instead of names.", {"type": "boolean"}),
}

#: Action -> (required arguments, optional arguments).
ACTION_ARGUMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "package_list": ((), ("limit", "offset")),
    "package_show": (("id",), ()),
    "package_search": ((), ("q", "fq", "sort", "rows", "start", "facet.field", "facet.limit")),
    "resource_show": (("id",), ()),
    "organization_list": ((), ("all_fields",)),
    "organization_show": (("id",), ()),
    "group_list": ((), ("all_fields",)),
    "group_show": (("id",), ()),
    "status_show": ((), ()),
    "help_show": (("name",), ()),
}

_ENVELOPE = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "help": {"type": "string"},
                "success": {"type": "boolean"},
                "result": {},
            },
        }
    }
}
_RESPONSES = {
    "200": {"description": "CKAN envelope with `result`", "content": _ENVELOPE},
    "400": {
        "description": "Bad Request: a POST body that is not a JSON object (CKAN error shape)",
        "content": _ENVELOPE,
    },
    "404": {"description": "Not Found Error (CKAN error shape)", "content": _ENVELOPE},
    "409": {
        "description": "Validation or Search Query Error (CKAN error shape)",
        "content": _ENVELOPE,
    },
}


def _parameters(action: str, examples: Mapping[str, str]) -> list[dict[str, Any]]:
    required, optional = ACTION_ARGUMENTS[action]
    out = []
    for name in (*required, *optional):
        description, schema = ARGUMENTS[name]
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": description,
            "schema": schema,
        }
        if name in required and action in examples:
            param["example"] = examples[action]
        out.append(param)
    return out


def paths(docs: Mapping[str, str], examples: Mapping[str, str]) -> dict[str, Any]:
    """Path items for every action (`docs`: action -> what it does) under `/api/3/action/` and
    the unversioned `/api/action/`; `examples` gives a real value of the required argument."""
    out: dict[str, Any] = {}
    for action, doc in sorted(docs.items()):
        summary = f"CKAN {action}: {doc}" if doc else f"CKAN {action}"
        for prefix, suffix in (("/api/3/action/", ""), ("/api/action/", "_unversioned")):
            out[prefix + action] = {
                "get": {
                    "tags": ["CKAN"],
                    "summary": summary,
                    "operationId": f"ckan_{action}{suffix}",
                    "parameters": _parameters(action, examples),
                    "responses": _RESPONSES,
                },
                "post": {
                    "tags": ["CKAN"],
                    "summary": summary + " (arguments as a JSON body or a form)",
                    "operationId": f"ckan_{action}_post{suffix}",
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": _RESPONSES,
                },
            }
    return out
