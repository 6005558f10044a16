"""Result maps of a scenario as self-contained HTML (folium on our vendored Leaflet, over the
city's own vector-tile basemap): baseline flows, flow difference, noise bands and accessibility
change, each followed by a table of the largest changes as its text alternative. One file per
language, written when the scenario runs: `data_dir/maps/<scenario>/<kind>.<lang>.html`
(`<kind>.html` is the English one); the API serves the one the reader asked for."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure

from opendata.settings import Settings
from opendata.store._atomic import write_text_atomic
from opendata.store.published import read_published
from twin.city.roads import METRIC_CRS
from twin.scenarios.maps_layers import (
    BASEMAP_TILES,
    NOISE,
    STYLE,
    Basemap,
    Legend,
    VectorBasemapMap,
    diverging,
    geojson_layer,
    nice,
    noise_bands,
    sequential,
    table_html,
    tooltip_frame,
)
from twin.scenarios.maps_text import MAP_LANGS, MapText
from twin.scenarios.run import ScenarioResult

TOP = 15
LINE = {"opacity": 0.85}
AREA = {"weight": 1, "opacity": 0.9, "fillOpacity": 0.6}


@dataclass(frozen=True)
class MapContext:
    """What maps need beyond the result: the basemap (our vector tiles unless a city opted in
    to a raster `tile_url`), street names by road fid, and the language's words and numbers."""

    tile_url: str
    attribution: str
    names: dict[int, str] = field(default_factory=dict)
    text: MapText = field(default_factory=MapText)
    basemap: str = BASEMAP_TILES


def base_map(result: ScenarioResult, ctx: MapContext, title: str) -> tuple[Figure, folium.Map]:
    """A page titled `title` with a skip link and a map fitted to the result over the basemap."""
    t = ctx.text
    scenario = result.spec.title.get(t.lang) or result.spec.title["en"]
    fig = Figure(title=t.t("page.title", map=title, scenario=scenario))
    fig.header.add_child(Element(STYLE), name="civic_style")
    skip = html.escape(t.t("page.skip"))
    fig.html.add_child(Element(f'<a class="skip" href="#table">{skip}</a>'))
    fig.html.add_child(Element(f"<h1 class='civic-table'>{html.escape(fig.title)}</h1>"))
    m = VectorBasemapMap(tiles=None, height="70vh", control_scale=True)
    if ctx.tile_url:  # an opted-in third-party raster basemap
        folium.TileLayer(ctx.tile_url, attr=ctx.attribution, name="basemap").add_to(m)
    else:  # the city's own vector tiles, the same style as the site's /map
        Basemap(ctx.basemap, ctx.attribution).add_to(m)
    x0, y0, x1, y1 = result.bbox
    m.fit_bounds([[y0, x0], [y1, x1]])
    fig.add_child(m)
    return fig, m


def _links(result: ScenarioResult, ctx: MapContext) -> gpd.GeoDataFrame:
    """The result's links with street names (else the road class in brackets) and road classes
    as the map's language says them."""
    t = ctx.text
    links = result.links.assign(
        highway=[
            t.t(f"highway.{v}") if t.has(f"highway.{v}") else v for v in result.links["highway"]
        ]
    )
    names = links["road_fid"].map(ctx.names).fillna("")
    return links.assign(street=names.where(names != "", "(" + links["highway"] + ")"))


@dataclass(frozen=True)
class Page:
    """A map figure, its text alternative (placed after the map when rendered), its language."""

    figure: Figure
    table: str
    lang: str = "en"


def _finish(fig: Figure, m: folium.Map, table: str, legend: Legend, lang: str) -> Page:
    legend.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return Page(fig, table, lang)


def _edit(value: str, t: MapText) -> str:
    """An edit label (closed, added, charged, changed) in the map's language; "-" for none."""
    return t.t(f"edit.{value}") if value and t.has(f"edit.{value}") else value or t.t("page.none")


def flows_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Baseline peak-hour flows: line colour and width by flow."""
    t = ctx.text
    fig, m = base_map(result, ctx, t.t("flows.title"))
    links = _links(result, ctx)
    flow = links["flow_base"].to_numpy()
    unit = t.t("unit.flow")
    classes = sequential(float(np.quantile(flow, 0.98)), unit, t)
    labels = {"street": t.t("flows.street"), "highway": t.t("flows.road_class"), "flow_base": unit}
    frame = tooltip_frame(links, labels, t)
    frame["_color"] = [classes.color(v) for v in flow]
    top = max(float(flow.max()), 1.0)
    frame["_weight"] = 1.0 + 7.0 * np.sqrt(flow / top)
    steps = [nice(top / 4), nice(top / 2), nice(top)]
    widths = [(f"{t.num(v, 0)}\u00a0{unit}", 1.0 + 7.0 * np.sqrt(min(v, top) / top)) for v in steps]
    geojson_layer(frame, t.t("flows.layer"), LINE).add_to(m)
    top = links.sort_values("flow_base", ascending=False).drop_duplicates("street").head(TOP)
    rows = [(r.street, r.highway, r.flow_base) for r in top.itertuples()]
    table = table_html(t.t("flows.caption"), list(labels.values()), rows, anchor="table", text=t)
    return _finish(fig, m, table, Legend(t.t("flows.legend"), classes, widths, t), t.lang)


def difference_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Scenario minus baseline flow: orange where traffic grows, blue where it falls."""
    t = ctx.text
    fig, m = base_map(result, ctx, t.t("difference.title"))
    links = _links(result, ctx)
    links["edit"] = [_edit(v, t) for v in links["edit"]]
    change = links["d_flow"].to_numpy()
    unit = t.t("unit.flow")
    classes = diverging(float(np.quantile(np.abs(change), 0.98)), unit, t)
    before, after, changed = (
        f"{t.t(f'difference.{k}')} {unit}" for k in ("before", "after", "change")
    )
    fields = {"street": t.t("flows.street"), "edit": t.t("difference.edit")}
    numbers = {"flow_base": before, "flow_scen": after, "d_flow": changed}
    frame = tooltip_frame(links, fields | numbers, t)
    frame["_color"] = [classes.color(v) for v in change]
    frame["_weight"] = np.where(np.abs(change) >= classes.breaks[4], 4.0, 1.5)
    geojson_layer(frame, t.t("difference.layer"), LINE).add_to(m)
    order = np.argsort(-np.abs(change), kind="stable")
    top = links.iloc[order].drop_duplicates("street").head(TOP)  # one row per street
    rows = [(r.street, r.edit, r.flow_base, r.flow_scen, r.d_flow) for r in top.itertuples()]
    columns = [*fields.values(), before, after, changed]
    table = table_html(t.t("difference.caption"), columns, rows, anchor="table", text=t)
    return _finish(fig, m, table, Legend(t.t("difference.legend"), classes, text=t), t.lang)


def noise_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Facade Lden per home in the scenario, in 5 dB bands from 55 dB(A)."""
    t = ctx.text
    fig, m = base_map(result, ctx, t.t("noise.title"))
    homes = result.buildings
    classes = noise_bands(t)
    db = t.t("unit.db")
    before, after, changed = (
        f"{t.t(f'difference.{k}')} {db}" for k in ("before", "after", "change")
    )
    fields = {"lden_base": before, "lden_scen": after, "d_lden": changed}
    frame = tooltip_frame(homes, fields | {"residents_scen": t.t("noise.residents")}, t)
    frame["_color"] = [classes.color(v) for v in homes["lden_scen"].fillna(0).to_numpy()]
    geojson_layer(frame, t.t("noise.layer"), AREA).add_to(m)
    totals = result.totals.set_index("metric")
    bands = {f"residents_lden_{b}": b for b in NOISE if b != "<55"} | {
        "residents_lden_55_plus": t.t("noise.band_top")
    }
    rows = [
        (b, *totals.loc[k, ["base", "scen", "change"]])
        for k, b in bands.items()
        if k in totals.index
    ]
    top = homes.iloc[np.argsort(-np.abs(homes["d_lden"].fillna(0).to_numpy()))[:TOP]]
    rows += [
        (t.t("noise.building", fid=r.fid), r.lden_base, r.lden_scen, r.d_lden)
        for r in top.itertuples()
    ]
    columns = [
        t.t("noise.band_or_building"),
        *(t.t(f"difference.{k}") for k in ("before", "after", "change")),
    ]
    table = table_html(t.t("noise.caption"), columns, rows, anchor="table", text=t)
    return _finish(fig, m, table, Legend(t.t("noise.legend"), classes, text=t), t.lang)


def zone_cells(zones: gpd.GeoDataFrame, bbox: tuple[float, ...]) -> gpd.GeoSeries:
    """Voronoi cells of the zone centres (EPSG:4326), clipped to the result's bounding box
    (grown to keep every centre 150 m inside)."""
    metric = zones.geometry.to_crs(METRIC_CRS)
    box = gpd.GeoSeries([shapely.box(*bbox)], crs=4326).to_crs(METRIC_CRS).iloc[0]
    box = shapely.union(box, shapely.MultiPoint(list(metric)).buffer(150)).envelope
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(metric)), extend_to=box, ordered=True)
    clipped = shapely.intersection(np.asarray(cells.geoms), box)
    return gpd.GeoSeries(clipped, crs=METRIC_CRS, index=zones.index).to_crs(4326)


def access_changes(zones: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Minutes-to-service changes per zone by measure (`walk_grocery_min`, ...) plus the mean
    congested trip time from the zone; measures that change nowhere are left out."""
    measures = {c.removesuffix("_base") for c in zones.columns if c.endswith("_min_base")}
    out = {"time_from": zones["d_time_from"].to_numpy(dtype=float)}
    for measure in sorted(measures):
        change = zones[f"{measure}_scen"].to_numpy(dtype=float) - zones[f"{measure}_base"]
        out[measure] = np.asarray(change, dtype=float)
    return {
        k: v for k, v in out.items() if k == "time_from" or np.nanmax(np.abs(v), initial=0) > 0.01
    }


def _label(measure: str, t: MapText) -> str:
    """A measure (`walk_grocery_min`, `time_from`) in words; an unknown one as written."""
    key = f"accessibility.{measure.removesuffix('_min')}"
    return t.t(key) if t.has(key) else measure.replace("_", " ")


def accessibility_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Change in minutes to the nearest services (and in mean trip time) per zone."""
    t = ctx.text
    fig, m = base_map(result, ctx, t.t("accessibility.title"))
    zones = result.zones[result.zones["kind"] == "grid"]
    changes = access_changes(zones)
    limit = max(float(np.nanquantile(np.abs(v), 0.98)) for v in changes.values())
    classes = diverging(limit, t.t("unit.min"), t, noise=0.05)
    cells = zones.set_geometry(zone_cells(zones, result.bbox))
    zone, change_min = t.t("accessibility.zone"), t.t("accessibility.change_min")
    rows = []
    for i, (measure, change) in enumerate(changes.items()):
        frame = gpd.GeoDataFrame(
            {zone: cells["zone"].astype(str).to_numpy(), change_min: np.round(change, 2)},
            geometry=cells.geometry.to_numpy(),
            crs=4326,
        )
        frame[change_min] = [t.num(v, 1) for v in frame[change_min]]
        frame["_color"] = [classes.color(v) for v in change]
        geojson_layer(frame, _label(measure, t), AREA, show=i == 0).add_to(m)
        rows += [
            (t.t("accessibility.zone_n", zone=z), _label(measure, t), c)
            for z, c in zip(cells["zone"], change, strict=True)
        ]
    rows = sorted(rows, key=lambda r: -abs(r[2]) if r[2] == r[2] else 0)[:TOP]
    columns = [zone, t.t("accessibility.measure"), change_min]
    table = table_html(t.t("accessibility.caption"), columns, rows, anchor="table", text=t)
    legend = Legend(t.t("accessibility.legend"), classes, text=t)
    return _finish(fig, m, table, legend, t.lang)


BUILDERS: dict[str, Callable[[ScenarioResult, MapContext], Page]] = {
    "flows": flows_map,
    "difference": difference_map,
    "noise": noise_map,
    "accessibility": accessibility_map,
}


def render(page: Page) -> str:
    """The page's HTML: map, then its table; declared in its language and zoomable
    (WCAG 1.4.4)."""
    html_text = page.figure.render().replace("<html>", f'<html lang="{page.lang}">', 1)
    html_text = html_text.replace(", maximum-scale=1.0, user-scalable=no", "")
    head, tail = html_text.rsplit("</body>", 1)
    return f"{head}{page.table}\n</body>{tail}"


def road_names(
    settings: Settings, version: int | None = None, langs: tuple[str, ...] = ("fi",)
) -> dict[str, dict[int, str]]:
    """Street names of the published roads by fid, per language: Swedish names on Swedish maps,
    else Finnish (the `name` tag), else whichever the street has."""
    roads, _ = read_published(settings, "roads", version)
    finnish = roads["name"]
    swedish = roads.get("name_sv", pd.Series(index=roads.index, dtype=object))
    fids = roads["fid"].astype(int)
    out = {}
    for lang in langs:
        first, second = (swedish, finnish) if lang == "sv" else (finnish, swedish)
        names = first.fillna(second).fillna("").astype(str)
        out[lang] = dict(zip(fids, names, strict=True))
    return out


def map_dir(settings: Settings, name: str) -> Path:
    """Where the maps of scenario `name` are written."""
    return settings.data_dir / "maps" / name


def map_file(kind: str, lang: str) -> str:
    """The file name of a map kind in a language (`flows.fi.html`; English: `flows.html`)."""
    return f"{kind}.html" if lang == "en" else f"{kind}.{lang}.html"


def write_maps(settings: Settings, result: ScenarioResult) -> dict[str, Path]:
    """Build every map kind in every map language and replace each file atomically; returns the
    English page of each kind (the others sit beside it, see `map_file`)."""
    roads = result.provenance.get("datasets", {}).get("roads")
    names = road_names(settings, roads, MAP_LANGS)
    out = {}
    for lang in MAP_LANGS:
        text = MapText(lang)
        ctx = MapContext(settings.tile_url, settings.tile_attribution, names[lang], text)
        for kind, build in BUILDERS.items():
            path = map_dir(settings, result.spec.name) / map_file(kind, lang)
            write_text_atomic(path, render(build(result, ctx)))
            if lang == "en":
                out[kind] = path
    return out
