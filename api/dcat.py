"""Blueprint `api.dcat` (being built; see BLUEPRINT_MODULES in api/app.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dcat", __name__)
CONFORMANCE: list[str] = []


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    return {}
