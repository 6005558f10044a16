"""Transforms: named, declarative steps a spec lists under `[[transforms]]`.

Each transform is registered with a `check(params, path)` that refuses bad parameters at spec-load
time (so nothing runs on a bad spec) and an `apply(frame, params)` that returns a new frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from opendata.errors import SpecError

Params = Mapping[str, Any]


@dataclass(frozen=True)
class TransformDef:
    """A registered transform: its parameter types and its function."""

    params: Mapping[str, tuple[type | tuple[type, ...], bool]]  # name -> (type, required)
    func: Callable[[gpd.GeoDataFrame, Params], gpd.GeoDataFrame]
    doc: str

    def check(self, params: Params, path: str) -> None:
        for key, value in params.items():
            if key not in self.params:
                allowed = ", ".join(sorted(self.params)) or "none"
                raise SpecError(f"{path}.{key}: unknown parameter; allowed: {allowed}")
            kind = self.params[key][0]
            if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float):
                raise SpecError(f"{path}.{key}: expected {_kind_name(kind)}, got {value!r}")
        for key, (_, required) in self.params.items():
            if required and key not in params:
                raise SpecError(f"{path}.{key}: required parameter is missing")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"str": "a string", "dict": "a table", "list": "a list", "int": "an integer"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


TRANSFORMS: dict[str, TransformDef] = {}


def register(name: str, params: Mapping[str, tuple[Any, bool]]) -> Callable:
    """Register a transform under `name` (the same registry outside code would use)."""

    def wrap(func: Callable[[gpd.GeoDataFrame, Params], gpd.GeoDataFrame]) -> Callable:
        TRANSFORMS[name] = TransformDef(params=params, func=func, doc=(func.__doc__ or "").strip())
        return func

    return wrap


def apply_transforms(frame: gpd.GeoDataFrame, transforms: tuple[Any, ...]) -> gpd.GeoDataFrame:
    """Run the spec's transforms in order; a missing input column is a clear SpecError."""
    for i, step in enumerate(transforms):
        try:
            frame = TRANSFORMS[step.op].func(frame, step.params)
        except KeyError as err:
            raise SpecError(
                f"transforms[{i}] ({step.op}): column {err} is not in the data; "
                f"columns are: {', '.join(map(str, frame.columns))}"
            ) from None
    return frame


@register("rename", {"columns": (dict, True)})
def rename(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Rename columns: `columns = {old = "new"}`."""
    missing = [c for c in params["columns"] if c not in frame.columns]
    if missing:
        raise KeyError(missing[0])
    return frame.rename(columns=params["columns"])


@register("constant", {"column": (str, True), "value": ((str, int, float), True)})
def constant(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Add a column with the same value on every row."""
    out = frame.copy()
    out[params["column"]] = params["value"]
    return out


@register("keep_geometry", {"types": (list, True)})
def keep_geometry(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Keep rows whose geometry type is listed, e.g. `types = ["Polygon", "MultiPolygon"]`."""
    keep = frame.geometry.geom_type.isin(params["types"])
    return frame.loc[keep].reset_index(drop=True)


@register(
    "map_values",
    {
        "column": (str, True),
        "target": (str, False),
        "mapping": (dict, True),
        "default": ((str, int, float), False),
    },
)
def map_values(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Map values of a column through a table; unmapped values get `default` (or stay)."""
    out = frame.copy()
    source = out[params["column"]]
    mapped = source.map(params["mapping"])
    fallback = params.get("default")
    mapped = mapped.fillna(fallback) if fallback is not None else mapped.fillna(source)
    out[params.get("target", params["column"])] = mapped
    return out


@register("coalesce", {"target": (str, True), "columns": (list, True)})
def coalesce(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """First non-null value of several columns, e.g. a use from `amenity` or `shop`."""
    out = frame.copy()
    result = out[params["columns"][0]].copy()
    for column in params["columns"][1:]:
        result = result.fillna(out[column])
    out[params["target"]] = result
    return out


@register("to_number", {"column": (str, True), "target": (str, False), "table": (dict, False)})
def to_number(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Leading number of a text column ("50", "2;3" -> 2, "30 mph" -> 48.3); `table` maps codes
    such as "FI:urban" to numbers first. Text that holds no number becomes null."""
    out = frame.copy()
    text = out[params["column"]].astype("string")
    table = params.get("table", {})
    from_table = pd.to_numeric(text.map(table), errors="coerce") if table else None
    parts = text.str.extract(r"^\s*(\d+(?:[.,]\d+)?)\s*(mph)?", expand=True)
    number = pd.to_numeric(parts[0].str.replace(",", ".", regex=False), errors="coerce").astype(
        "Float64"
    )
    number = number.where(parts[1].isna(), number * 1.609344)
    if from_table is not None:
        number = from_table.fillna(number)
    out[params.get("target", params["column"])] = number.astype("Float64")
    return out


def _metric(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Geometry in a local metric CRS (UTM zone of the data) for lengths and areas."""
    geo = frame.geometry
    if geo.crs is None or not geo.crs.is_geographic:
        return geo
    return geo.to_crs(geo.estimate_utm_crs() if len(geo) else "EPSG:3857")


@register("length_m", {"target": (str, True)})
def length_m(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Length of each geometry in metres (computed in the local UTM zone)."""
    out = frame.copy()
    out[params["target"]] = np.round(_metric(frame).length.to_numpy(), 2)
    return out


@register("area_m2", {"target": (str, True)})
def area_m2(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Area of each geometry in square metres (computed in the local UTM zone)."""
    out = frame.copy()
    out[params["target"]] = np.round(_metric(frame).area.to_numpy(), 1)
    return out


@register(
    "estimate_residents",
    {
        "use_column": (str, True),
        "levels_column": (str, True),
        "target": (str, True),
        "residential_uses": (list, True),
        "mixed_uses": (list, False),
        "mixed_share": (float, False),
        "default_levels": (int, False),
        "floor_area_per_resident": (float, True),
    },
)
def estimate_residents(frame: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Estimated residents per building = footprint area x levels x residential share /
    floor area per resident. An estimate: the spec's metadata must say so and cite the figures."""
    out = frame.copy()
    footprint = _metric(frame).area.to_numpy()
    levels = pd.to_numeric(out[params["levels_column"]], errors="coerce")
    levels = levels.fillna(params.get("default_levels", 1)).clip(lower=1).to_numpy(dtype=float)
    use = out[params["use_column"]].astype("string")
    share = np.where(use.isin(params["residential_uses"]).fillna(False).to_numpy(), 1.0, 0.0)
    mixed = use.isin(params.get("mixed_uses", [])).fillna(False).to_numpy()
    share = np.where(mixed, params.get("mixed_share", 0.5), share)
    floor_area = footprint * levels
    out[params["target"]] = np.round(floor_area * share / params["floor_area_per_resident"])
    out[params["target"]] = out[params["target"]].astype("int64")
    return out
