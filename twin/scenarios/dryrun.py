"""A dry run of a scenario's edits on the published network (no assignment, no job): what each
edit resolves to (matched streets, link counts, a cordon's crossing links), the problem if the
edits cannot run (a selection matching nothing, zones cut off: which, and where on the map), and
for a street name that matches nothing the closest real names, case- and accent-insensitively."""

from __future__ import annotations

import difflib
import unicodedata
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq

from opendata.errors import SpecError
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from twin.city.developments import zone_shares
from twin.city.roads import METRIC_CRS
from twin.scenarios.cache import Memo, city_for
from twin.scenarios.edits import (
    Disconnected,
    apply_edits,
    baseline_variant,
    link_arrays,
    select_links,
)
from twin.scenarios.model import ScenarioSpec

MAX_STREETS = 20  #: street names listed per edit
MAX_ZONES = 5  #: zones listed for a development spread over several
MAX_CUT_OFF = 50  #: zones cut off by a closure listed (most pairs lost first)
NAME_COLUMNS = ("name", "name_sv")
_NAMES = Memo(2)


def fold(text: str) -> str:
    """Lower case without accents, for matching what people type.

    >>> fold("Töölönkatu") == fold("toolonkatu")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def closest_names(known: list[str], asked: str, n: int = 5) -> list[str]:
    """Up to `n` known names nearest to `asked` (exact fold matches first).

    >>> closest_names(["Mannerheimintie", "Bulevardi"], "mannerheimintie")
    ['Mannerheimintie']
    """
    by_fold: dict[str, str] = {}
    for name in known:
        by_fold.setdefault(fold(name), name)
    key = fold(asked)
    if key in by_fold:
        return [by_fold[key]]
    return [by_fold[k] for k in difflib.get_close_matches(key, list(by_fold), n=n, cutoff=0.6)]


def street_names(settings: Settings) -> frozenset[str]:
    """Every Finnish and Swedish street name of the current published roads: two columns of
    one Parquet file, cached per roads version (no city model is built)."""
    record = Catalog(settings.catalog_url).version("roads")
    return _NAMES.get(
        (settings.catalog_url, record.version),
        lambda: frozenset(
            str(v)
            for column in pq.read_table(version_path(settings, record), columns=list(NAME_COLUMNS))
            .to_pydict()
            .values()
            for v in column
            if v
        ),
    )


def check_names(settings: Settings, spec: ScenarioSpec) -> None:
    """Refuse a selection naming a street the city does not have, with the closest names: the
    cheap part of the edit check, done in the request (the rest runs in the worker)."""
    known = street_names(settings)
    for i, edit in enumerate(spec.edits):
        select = getattr(edit, "select", None)
        unknown = [n for n in (select.name if select else ()) if n not in known]
        if unknown:
            near = closest_names(sorted(known), unknown[0])
            hint = f"; closest: {', '.join(near)}" if near else ""
            raise SpecError(
                f"edits[{i}] ({edit.type}): the selection matches no road links "
                f"(no street named {unknown[0][:60]!r}{hint})"
            )


def dry_run(settings: Settings, spec: ScenarioSpec) -> dict[str, Any]:
    """What `spec`'s edits resolve to on the network, and what stops them running (if any)."""
    city = city_for(settings, spec)
    base = baseline_variant(city)
    roads = city.roads
    known = sorted({str(v) for c in ("name", "name_sv") for v in roads[c].dropna().unique()})
    edits = [_resolve(city, base, edit, i, known) for i, edit in enumerate(spec.edits)]
    problem, cut_off = None, {}
    try:
        variant = apply_edits(city, spec, base)
        for note in variant.notes:
            edits[note["index"]].update(_described(city, note, spec.edits[note["index"]]))
    except Disconnected as err:
        problem, cut_off = str(err), err.zones
    except SpecError as err:
        problem = str(err)
    return {
        "valid": problem is None,
        "problem": problem,
        "edits": edits,
        "cut_off": _placed(city, cut_off),
        "cut_off_total": len(cut_off),
    }


def _placed(city: Any, cut_off: dict[int, int]) -> list[dict[str, Any]]:
    """The zones a closure cuts off, most pairs lost first, each at its centroid (EPSG:4326)
    so a map can show them; at most `MAX_CUT_OFF`."""
    centres = city.model.zones.set_index("zone").geometry
    top = sorted(cut_off.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CUT_OFF]
    return [
        {
            "zone": zone,
            "pairs": pairs,
            "lon": round(float(centres.loc[zone].centroid.x), 6),
            "lat": round(float(centres.loc[zone].centroid.y), 6),
        }
        for zone, pairs in top
    ]


def _resolve(city: Any, base: Any, edit: Any, index: int, known: list[str]) -> dict[str, Any]:
    """One edit's matched streets (for selections) and suggestions for unknown names."""
    out: dict[str, Any] = {"index": index, "type": edit.type}
    select = getattr(edit, "select", None)
    if select is None:
        return out
    unknown = [n for n in select.name if n not in known]
    if unknown:
        out["suggestions"] = {n: closest_names(known, n) for n in unknown}
    try:
        idx = select_links(city, link_arrays(city, base), select, f"edits[{index}]")
    except SpecError:
        out.update(links=0, streets=[])
        return out
    fids = base.road_fid[idx]
    names = city.roads.set_index("fid").reindex(fids)["name"].dropna().unique()
    out.update(links=int(idx.size), streets=sorted(map(str, names))[:MAX_STREETS])
    return out


def _described(city: Any, note: dict[str, Any], edit: Any) -> dict[str, Any]:
    """What an applied edit reports: its note, and for a development the zones it lands in
    (the zone numbers the demand model uses, with each one's share of its homes and jobs)."""
    out = {k: v for k, v in note.items() if k not in ("index", "geometry")}
    if note["type"] == "development":
        zones = city.model.zones
        n = int((zones["kind"] == "grid").sum())
        metric = gpd.GeoSeries([edit.geometry], crs="EPSG:4326").to_crs(METRIC_CRS).iloc[0]
        share = zone_shares(city.model, metric, n)
        top = np.argsort(share)[::-1][:MAX_ZONES]
        out["zones"] = [
            {"zone": int(zones["zone"].iloc[i]), "share": round(float(share[i]), 3)}
            for i in top
            if share[i] > 0
        ]
    return out
