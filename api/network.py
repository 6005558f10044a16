"""Blueprint `api.network`: read-only look-ups on the published street network for pointing at
the map (the studio's "close this street" and "close a stretch"): the street nearest to a point,
and the road links on the shortest path between two points, as `select.road_fid` takes them."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.http import ApiError, allow_params, json_response
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from twin.scenarios import pointing

bp = Blueprint("network", __name__)
CONFORMANCE: list[str] = []


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _number(raw: str | None, name: str, low: float, high: float) -> float:
    """A coordinate from `low` to `high` (the city's bounding box), else a 400 naming it."""
    if raw is None:
        raise ApiError(400, f"{name} is required (degrees, WGS 84)")
    try:
        value = float(raw.strip()[:40])
    except ValueError:
        raise ApiError(400, f"{name} must be a number of degrees, got {raw[:40]!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, f"{name} must be inside the city, from {low} to {high}; got {value}")
    return value


def _point(raw: str | None, name: str) -> tuple[float, float]:
    """`lon,lat` inside the city's bounding box."""
    west, south, east, north = _settings().city_bbox
    parts = (raw or "").split(",")
    if raw is None or len(parts) != 2:
        raise ApiError(400, f"{name} must be 'lon,lat' in degrees, e.g. {name}=24.94,60.17")
    return _number(parts[0], f"{name} lon", west, east), _number(
        parts[1], f"{name} lat", south, north
    )


def _answer(doc: dict[str, Any]) -> Response:
    roads = Catalog(_settings().catalog_url).version("roads")  # answers change with the roads
    return json_response(doc, etag_source=f"roads:{roads.version}", max_age=300)


@bp.get("/api/network/nearest")
def nearest() -> Response:
    """The street nearest to `lon`,`lat`: the clicked road link and every link of its street."""
    allow_params({"lon", "lat"})
    west, south, east, north = _settings().city_bbox
    lon = _number(request.args.get("lon"), "lon", west, east)
    lat = _number(request.args.get("lat"), "lat", south, north)
    return _answer(pointing.nearest_street(_settings(), lon, lat))


@bp.get("/api/network/stretch")
def stretch() -> Response:
    """The road links on the shortest path between the streets nearest to `from` and `to`."""
    allow_params({"from", "to"})
    start, end = _point(request.args.get("from"), "from"), _point(request.args.get("to"), "to")
    return _answer(pointing.stretch(_settings(), start, end))


def _param(name: str, description: str, example: float) -> dict[str, Any]:
    schema = {"type": "number", "format": "double", "minimum": -180, "maximum": 180}
    return {"name": name, "in": "query", "required": True, "description": description,
            "schema": schema, "example": example}  # fmt: skip


def _op(op_id: str, summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    problem = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
    return {
        "get": {
            "tags": ["Scenarios"],
            "operationId": op_id,
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {
                    "description": "Road fids, street names and lines (GeoJSON geometry)",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "400": {"description": "Missing, not a number, or outside the city", **problem},
                "404": {
                    "description": f"No street within {pointing.MAX_DISTANCE_M:.0f} m, "
                    "no road path, or no published roads",
                    **problem,
                },  # fmt: skip
            },
        }
    }


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.0 path items this blueprint serves."""
    point = {
        "type": "string",
        "pattern": r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$",
        "example": "24.94,60.17",
    }
    # examples on Mannerheimintie in the bundled city, so generated clients and crawlers get a
    # street and a stretch (a city with other data answers 400 outside its bounding box)
    ends = [
        {"name": n, "in": "query", "required": True, "description": f"{n} point: lon,lat",
         "schema": point, "example": example}
        for n, example in (("from", "24.9386,60.1693"), ("to", "24.9395,60.1712"))
    ]  # fmt: skip
    return {
        "/api/network/nearest": _op(
            "nearestStreet",
            "The street nearest to a point (for pointing at the map)",
            [
                _param("lon", "Longitude, degrees (inside the city)", 24.9386),
                _param("lat", "Latitude, degrees (inside the city)", 60.1693),
            ],
        ),  # fmt: skip
        "/api/network/stretch": _op(
            "streetStretch",
            "The road links on the shortest path between two points (a stretch of street)",
            ends,
        ),
    }
