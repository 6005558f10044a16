"""Publishing scenario results as open data (`scenario_<name>_<part>`, kind=scenario, with full
DCAT metadata and provenance) and reading them back: summaries from a JSON file or the published
totals, and the comparison of two results."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from opendata.errors import CivicError, NotFound, SpecError
from opendata.ingest.computed import publish_frame
from opendata.settings import Settings
from opendata.store.published import read_published
from twin.data import HERE
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.results import ScenarioResult

#: The note on every published part, per language ({sha} is the spec's SHA-256).
NOTES = {
    "en": "Scenario spec SHA-256 {sha}; screening-level model estimates, see docs.",
    "fi": "Skenaarion määrittelyn SHA-256 {sha}; karkeita malliarvioita, katso dokumentaatio.",
    "sv": "Scenariots specifikation SHA-256 {sha}; grova modelluppskattningar, se dokumentationen.",
}


def _metadata(spec: ScenarioSpec, info: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """Full dataset metadata for one published part of a scenario result: title, description
    and notes in every language both the scenario spec and the part's description have."""
    title = {k: f"{spec.title.get(k, spec.title['en'])}: {v}" for k, v in info["title"].items()}
    part = info["description"]
    part = part if isinstance(part, dict) else {"en": part}
    about = {k: spec.description.get(k) or (spec.title["en"] if k == "en" else "") for k in part}
    return {
        **common,
        "title": title,
        "description": {k: f"{about[k]} {text}" for k, text in part.items() if about[k]},
        "notes": {k: note.format(sha=spec.sha256) for k, note in NOTES.items()},
    }


def _zone_fields(frame: pd.DataFrame, declared: list[dict]) -> list[dict]:
    """Declared zone fields plus one per accessibility column (walk/drive minutes per category)."""
    known = {f["name"] for f in declared}
    extra = [
        {
            "name": c,
            "type": "float",
            "unit": "min",
            "estimate": True,
            "description": {
                "en": f"{c.split('_')[0].title()} minutes to the nearest "
                f"{c.split('_')[1]} ({c.rsplit('_', 1)[1]}); zone mean over residents"
            },
        }
        for c in frame.columns
        if c not in known and c != "geometry"
    ]
    return declared + extra


def _provenance(result: ScenarioResult, part: str) -> dict[str, Any]:
    """A part's provenance; the periods part also carries the morning's network totals."""
    out = {**result.provenance, "part": part}
    if part == "periods" and result.morning:
        out["morning"] = result.morning
    return out


def publish_result(
    settings: Settings, result: ScenarioResult, *, kind: str = "scenario"
) -> dict[str, int]:
    """Publish links, buildings, zones and totals as `scenario_<name>_<part>` (kind=scenario;
    `draft`: stored alike but hidden from every public read until published); rerunning with
    identical output adds no new version. Returns the version of each part."""
    described = tomllib.loads((HERE / "scenario_datasets.toml").read_text(encoding="utf-8"))
    common = described.pop("metadata")
    box = shapely.box(*result.bbox)
    frames = {
        "links": result.links,
        "buildings": result.buildings,
        "zones": result.zones,
        "totals": gpd.GeoDataFrame(result.totals, geometry=[box] * len(result.totals), crs=4326),
    }
    if result.periods is not None:
        frames["periods"] = result.periods
    versions = {}
    for part, frame in frames.items():
        info = described[part]
        fields = info["fields"] if part != "zones" else _zone_fields(frame, info["fields"])
        outcome = publish_frame(
            settings,
            name=f"scenario_{result.spec.name}_{part}",
            metadata=_metadata(result.spec, info, common),
            fields=fields,
            frame=frame,
            provenance=_provenance(result, part),
            kind=kind,
        )
        versions[part] = outcome.version.version
    return versions


def load_result(settings: Settings, ref: str) -> dict[str, Any]:
    """A result summary from a JSON file, or the published `scenario_<ref>_totals` dataset."""
    path = Path(ref)
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise SpecError(f"{ref}: no such result file")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SpecError(f"{ref}: not a JSON result ({err})") from None
    try:
        frame, version = read_published(settings, f"scenario_{ref}_totals")
    except CivicError as err:
        raise NotFound(f"no published scenario named {ref!r} ({err})") from None
    totals = {
        r.metric: {"unit": r.unit, "base": r.base, "scen": r.scen, "change": r.change}
        for r in frame.itertuples()
    }
    return {"scenario": {"name": ref}, "totals": totals, "provenance": version.provenance}


def compare_results(a: dict[str, Any], b: dict[str, Any]) -> pd.DataFrame:
    """Scenario values of two results side by side for every metric they share, with B - A."""
    ta, tb = a["totals"], b["totals"]
    rows = [
        (m, ta[m]["unit"], ta[m]["scen"], tb[m]["scen"])
        for m in ta
        if m in tb and ta[m]["scen"] is not None and tb[m]["scen"] is not None
    ]
    frame = pd.DataFrame(rows, columns=["metric", "unit", "a", "b"])
    return frame.assign(b_minus_a=frame["b"] - frame["a"])
