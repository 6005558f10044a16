"""The map viewer's context (layers from the catalog, a shareable view in the URL) and the cached
map previews every map on the site draws."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

import geopandas as gpd

from api.site.common import PALETTE, Site
from api.site.legend import Source, popup_labels, source
from opendata.metadata.search import Entry
from opendata.query.preview import PREVIEW_VERSION, make_preview, to_json
from opendata.store import exports
from opendata.store.tiles import LAYERS, Basemap

MAX_LAYERS = 8
#: What `/map` shows when the link names no layers (the basemap already draws the streets):
#: the public services, else the first of these that is published.
DEFAULT_LAYERS = ("services", "green_areas", "roads")
#: The large layers that reach `/map` as vector tiles (OGC API – Tiles of their collection, with
#: `fid` in the tiles for the popup's lookup), and what they are drawn as.
VECTOR_LAYERS = {"roads": "line", "buildings": "area"}


@dataclass(frozen=True)
class Layer:
    """A spatial dataset that can be drawn on a map."""

    name: str
    title: str
    title_lang: str
    kind: str
    rows: int
    color: str
    swatch: int  #: index into the palette (CSS class `swatch-<n>`)
    selected: bool
    preview_url: str
    href: str  #: the dataset page (table, downloads)
    labels: dict[str, dict[str, str]]  #: popup label and unit per column (no internal keys)
    source: Source  #: attribution and licence, shown in the legend
    tiles: dict[str, object] | None = None  #: vector tiles instead of the GeoJSON preview


@dataclass(frozen=True)
class MapView:
    lat: float
    lon: float
    zoom: int


@dataclass(frozen=True)
class MapRequest:
    layers: tuple[str, ...] = ()
    view: MapView | None = None
    asked: bool = False  #: the link names layers (an empty `layers=` too): no default layer


@dataclass(frozen=True)
class MapPage:
    """The map viewer: every layer on offer, which are shown, and the view to share."""

    layers: list[Layer]
    selected: list[str]
    view: MapView | None
    bbox: list[float] | None  #: extent of the shown layers (all layers when none is shown)
    share_href: str


def _number(raw: str, low: float, high: float, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


def parse_map(args: Sequence[tuple[str, str]]) -> MapRequest:
    """Parse `/map?layers=a,b&lat=..&lon=..&z=..` (ValueError on a bad number).

    >>> parse_map([("layers", "roads,stops"), ("layers", "roads"), ("z", "15")]).layers
    ('roads', 'stops')
    """
    layers: list[str] = []
    found: dict[str, str] = {}
    asked = False
    for key, value in args:
        if key == "layers":
            asked = True
            layers += [n for n in value.split(",") if n and n not in layers]
        elif key in ("lat", "lon", "z"):
            found[key] = value
    view = None
    if {"lat", "lon", "z"} <= found.keys():
        view = MapView(
            lat=_number(found["lat"], -90, 90, "lat"),
            lon=_number(found["lon"], -180, 180, "lon"),
            zoom=int(_number(found["z"], 0, 19, "z")),
        )
    return MapRequest(tuple(layers[:MAX_LAYERS]), view, asked)


def vector_tiles(basemap: Basemap | None, items: Sequence[Entry]) -> dict[str, dict[str, object]]:
    """The tile source of each large layer whose collection tiles were cut from its current
    version (an older basemap would answer popups with another version's features)."""
    if basemap is None:
        return {}
    current = {i.name: i.version.version for i in items}
    out: dict[str, dict[str, object]] = {}
    for layer in LAYERS:
        name = layer.dataset
        if name in VECTOR_LAYERS and basemap.datasets.get(name) == current.get(name):
            out[name] = {
                "template": f"/collections/{name}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}",
                "layer": layer.name, "shape": VECTOR_LAYERS[name],
                "minzoom": basemap.min_zoom, "maxzoom": basemap.max_zoom,
                "items": f"/collections/{name}/items/",
            }  # fmt: skip
    return out


def spatial_layers(
    items: Sequence[Entry],
    site: Site,
    selected: Sequence[str],
    tiled: Mapping[str, dict[str, object]] | None = None,
) -> list[Layer]:
    """A `Layer` per spatial dataset, coloured by its position in the catalog; `tiled` layers
    are drawn from vector tiles."""
    out = []
    spatial = [i for i in items if exports.is_spatial(i.version)]
    for index, item in enumerate(sorted(spatial, key=lambda e: (e.kind != "dataset", e.name))):
        title = site.text(item.title)
        out.append(
            Layer(
                name=item.name,
                title=title.text or item.name,
                title_lang=title.lang,
                kind=item.kind,
                rows=item.version.rows,
                color=PALETTE[index % len(PALETTE)],
                swatch=index % len(PALETTE),
                selected=item.name in selected,
                preview_url=f"/datasets/{item.name}/preview.geojson",
                href=f"/datasets/{item.name}",
                labels=popup_labels(item.version.columns, site),
                source=source(item),
                tiles=(tiled or {}).get(item.name),
            )
        )
    return out


def union_bbox(boxes: Sequence[Sequence[float] | None]) -> list[float] | None:
    """The box around all given boxes (None when there is none).

    >>> union_bbox([[0, 0, 1, 1], None, [2, -1, 3, 0.5]])
    [0, -1, 3, 1]
    """
    real = [b for b in boxes if b]
    if not real:
        return None
    return [min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real),
            max(b[3] for b in real)]  # fmt: skip


def share_href(layers: Sequence[str], view: MapView | None) -> str:
    """The URL that reopens this map: layers and view in the query string."""
    params = [("layers", ",".join(layers))] if layers else []
    if view:
        params += [("lat", f"{view.lat:.5f}"), ("lon", f"{view.lon:.5f}"), ("z", str(view.zoom))]
    return "/map" + ("?" + urlencode(params, safe=",") if params else "")


def map_page(
    items: Sequence[Entry], req: MapRequest, site: Site, basemap: Basemap | None = None
) -> MapPage:
    """The map viewer context; unknown layer names are dropped. A link without `layers` opens
    on the city's public services over the basemap (a first look, not an empty map)."""
    known = {i.name for i in items if exports.is_spatial(i.version)}
    wanted = req.layers if req.asked else default_layers(known)
    layers = spatial_layers(items, site, wanted, vector_tiles(basemap, items))
    selected = [n for n in wanted if n in known]
    by_name = {i.name: i for i in items}
    shown = selected or sorted(known)
    return MapPage(
        layers=layers,
        selected=selected,
        view=req.view,
        bbox=union_bbox([by_name[n].version.bbox for n in shown]),
        share_href=share_href(selected, req.view),
    )


def default_layers(known: set[str]) -> tuple[str, ...]:
    """The first published layer of `DEFAULT_LAYERS` (none when none is published).

    >>> default_layers({"stops", "green_areas"}), default_layers({"services", "roads"})
    (('green_areas',), ('services',))
    """
    return next(((n,) for n in DEFAULT_LAYERS if n in known), ())


@lru_cache(maxsize=32)
def preview_text(path: str, content_hash: str) -> str:
    """The serialised preview of a stored version (versions are immutable, so cache by hash)."""
    return to_json(make_preview(gpd.read_parquet(path)))


def preview_etag(content_hash: str) -> str:
    return f"preview-{PREVIEW_VERSION}-{content_hash[:32]}"
