"""OpenStreetMap PBF extracts through pyosmium, selected by tag filters.

Nodes become points, open ways lines, and closed ways with area tags plus multipolygon relations
(multi)polygons assembled by osmium. A C++ key filter drops untagged and unrelated objects before
Python sees them; the exact filter is then applied per object.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from opendata.errors import SourceError, SpecError
from opendata.readers import REJECT_COLUMN, check_options
from opendata.readers.vector import same_crs

log = logging.getLogger(__name__)
OPTIONS = {"filter": (str, list), "geometry": str, "tags": list, "centroids": bool}
GEOMETRIES = ("point", "line", "area", "any")
#: Keys that make a closed way an area (unless area=no); others (highway, barrier...) stay lines.
AREA_KEYS = frozenset(
    "aeroway amenity building building:part craft healthcare historic landuse leisure "
    "man_made military office place public_transport shop sport tourism water".split()
)
#: natural=* values that are lines even when closed.
LINEAR_NATURAL = frozenset({"coastline", "cliff", "ridge", "arete", "tree_row"})
_KEY = r"[A-Za-z0-9_:.\-]+"
_ANY = re.compile(rf"^\s*({_KEY})\s*=\s*\*\s*$")
_ONE = re.compile(rf"^\s*({_KEY})\s*=\s*([^*()=]+?)\s*$")
_IN = re.compile(rf"^\s*({_KEY})\s+in\s*\(([^()]*)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TagFilter:
    """One `key=*`, `key=value` or `key in (a, b)` filter; `values` None means any value."""

    key: str
    values: frozenset[str] | None

    def matches(self, tags: osmium.osm.TagList) -> bool:
        value = tags.get(self.key)
        return value is not None and (self.values is None or value in self.values)


def parse_filter(text: str, where: str) -> TagFilter:
    """Parse one filter string; `where` is the option path used in the error."""
    if match := _ANY.match(text):
        return TagFilter(match[1], None)
    if match := _IN.match(text):
        values = frozenset(v.strip().strip("'\"") for v in match[2].split(",") if v.strip())
        if values:
            return TagFilter(match[1], values)
    elif match := _ONE.match(text):
        return TagFilter(match[1], frozenset({match[2].strip("'\"")}))
    raise SpecError(
        f"{where}: cannot read {text!r} as a tag filter; write 'key=*', 'key=value' or "
        "'key in (value1, value2)', e.g. 'amenity in (school, library)'"
    )


@dataclass(frozen=True)
class OsmOptions:
    """The checked `source.options` of an OSM PBF source."""

    filters: tuple[TagFilter, ...]
    geometry: str = "any"
    tags: tuple[str, ...] = ()
    centroids: bool = False

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> OsmOptions:
        check_options(options, OPTIONS)
        if "filter" not in options:
            raise SpecError("source.options.filter: required, e.g. filter = ['building=*']")
        raw = options["filter"]
        texts, paths = _filter_texts(raw)
        filters = tuple(parse_filter(t, p) for t, p in zip(texts, paths, strict=True))
        geometry = options.get("geometry", "any")
        if geometry not in GEOMETRIES:
            allowed = ", ".join(GEOMETRIES)
            raise SpecError(f"source.options.geometry: expected one of {allowed}, got {geometry!r}")
        default_tags = dict.fromkeys([*(f.key for f in filters), "name"])
        tags = options.get("tags", list(default_tags))
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not tag:
                raise SpecError(f"source.options.tags[{i}]: expected a tag key, got {tag!r}")
        return cls(filters, geometry, tuple(tags), options.get("centroids", False))

    @property
    def kinds(self) -> str:
        """Which objects to read: 'point' with centroids means every kind, as points."""
        return "any" if self.centroids and self.geometry == "point" else self.geometry

    def wants(self, tags: osmium.osm.TagList) -> bool:
        return any(f.matches(tags) for f in self.filters)


def _filter_texts(raw: str | list[Any]) -> tuple[list[str], list[str]]:
    if isinstance(raw, str):
        return [raw], ["source.options.filter"]
    if not raw:
        raise SpecError("source.options.filter: expected at least one filter")
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise SpecError(f"source.options.filter[{i}]: expected a string, got {item!r}")
    return list(raw), [f"source.options.filter[{i}]" for i in range(len(raw))]


def read_osm(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read the objects matching the tag filters as points, lines and areas in EPSG:4326."""
    opts = OsmOptions.parse(options)
    if crs is not None and not same_crs(crs, "EPSG:4326"):
        raise SourceError(
            f"{path.name}: OpenStreetMap data is in EPSG:4326 (WGS 84) but source.crs is {crs}; "
            "remove source.crs or set it to 'EPSG:4326'"
        )
    rows = _Rows(opts.tags)
    try:
        _collect(path, opts, rows)
    except RuntimeError:
        log.debug("osmium could not read %s", path, exc_info=True)
        raise SourceError(
            f"{path.name}: is not a valid OpenStreetMap PBF file (truncated or corrupt); "
            "download the extract again"
        ) from None
    return rows.frame(centroids=opts.centroids)


def _collect(path: Path, opts: OsmOptions, rows: _Rows) -> None:
    keys = sorted({f.key for f in opts.filters})
    # Always read as PBF: by its name osmium would also inflate `.osm.gz`/`.bz2` XML files.
    processor = osmium.FileProcessor(osmium.io.File(str(path), "pbf"))
    if opts.kinds in ("area", "any"):
        processor = processor.with_areas(osmium.filter.KeyFilter(*keys))
    elif opts.kinds == "line":
        processor = processor.with_locations()
    processor = processor.with_filter(osmium.filter.KeyFilter(*keys))
    factory = osmium.geom.WKBFactory()
    for obj in processor:
        if opts.wants(obj.tags):
            _add(obj, opts.kinds, factory, rows)
    rows.add_unassembled()


def _add(obj: Any, geometry: str, factory: osmium.geom.WKBFactory, rows: _Rows) -> None:
    """Add one matching object if its kind is wanted: node, line way or assembled area."""
    areas = geometry in ("area", "any")
    if obj.is_node():
        if geometry in ("point", "any"):
            rows.add("node", obj.id, obj.tags, lambda: factory.create_point(obj))
    elif obj.is_way():
        if not (obj.is_closed() and is_area(obj.tags)):
            if geometry in ("line", "any"):
                rows.add("way", obj.id, obj.tags, lambda: _line_wkb(obj, factory))
        elif areas:
            rows.expect("way", obj.id, obj.tags)
    elif obj.is_relation():
        if areas and obj.tags.get("type") in ("multipolygon", "boundary"):
            rows.expect("relation", obj.id, obj.tags)
    elif obj.is_area() and areas and (not obj.from_way() or is_area(obj.tags)):
        kind = "way" if obj.from_way() else "relation"
        rows.add(kind, obj.orig_id(), obj.tags, lambda: factory.create_multipolygon(obj))


def _line_wkb(way: osmium.osm.Way, factory: osmium.geom.WKBFactory) -> str:
    """A way's line; a way cut by the extract's edge keeps the part inside it."""
    try:
        return factory.create_linestring(way)
    except osmium.InvalidLocationError:
        coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if len(set(coords)) < 2:
            raise
        return shapely.to_wkb(shapely.LineString(coords), hex=True)


def is_area(tags: Mapping[str, str] | osmium.osm.TagList) -> bool:
    """Whether a closed way's tags describe an area rather than a ring-shaped line."""
    area = tags.get("area")
    if area in ("yes", "no"):
        return area == "yes"
    natural = tags.get("natural")
    if natural is not None and natural not in LINEAR_NATURAL:
        return True
    return any(key in tags for key in AREA_KEYS)


class _Rows:
    """Column-wise accumulator: ids, WKB and the kept tags; geometry built once at the end."""

    def __init__(self, tags: tuple[str, ...]) -> None:
        self.tags = tags
        self.osm_type: list[str] = []
        self.osm_id: list[int] = []
        self.wkb: list[str | None] = []
        self.reason: list[str | None] = []
        self.values: dict[str, list[str | None]] = {t: [] for t in tags}
        self.expected: dict[tuple[str, int], dict[str, str | None]] = {}

    def expect(self, kind: str, osm_id: int, tags: osmium.osm.TagList) -> None:
        """Remember an object osmium should assemble into an area, to report it if it does not."""
        self.expected[kind, osm_id] = {t: tags.get(t) for t in self.tags}

    def add_unassembled(self) -> None:
        """Keep areas osmium could not assemble, with an empty geometry and the reason."""
        for (kind, osm_id), tags in self.expected.items():
            reason = f"{kind}/{osm_id}: the area cannot be assembled (broken or cut-off outline)"
            self._append(kind, osm_id, tags, None, reason)

    def add(self, kind: str, osm_id: int, tags: osmium.osm.TagList, make: Any) -> None:
        self.expected.pop((kind, osm_id), None)
        try:
            wkb, reason = make(), None
        except (osmium.InvalidLocationError, RuntimeError):
            wkb = None
            reason = f"{kind}/{osm_id}: geometry cannot be built; a node is probably outside "
            reason += "the extract"
        self._append(kind, osm_id, tags, wkb, reason)

    def _append(
        self, kind: str, osm_id: int, tags: Any, wkb: str | None, reason: str | None
    ) -> None:
        self.osm_type.append(kind)
        self.osm_id.append(osm_id)
        self.wkb.append(wkb)
        self.reason.append(reason)
        for tag, column in self.values.items():
            column.append(tags.get(tag))

    def frame(self, *, centroids: bool) -> gpd.GeoDataFrame:
        geometry = shapely.from_wkb(np.array(self.wkb, dtype=object))
        failed = pd.isna(geometry)
        geometry[failed] = shapely.Point()
        if centroids:
            geometry = shapely.point_on_surface(geometry)
        kinds = pd.array(self.osm_type, dtype="string")
        ids = pd.array(self.osm_id, dtype="int64")
        data = {"osm_type": kinds, "osm_id": ids, "osm_key": kinds + "/" + ids.astype("string")}
        data.update({t: pd.array(v, dtype="string") for t, v in self.values.items()})
        frame = gpd.GeoDataFrame(data, geometry=gpd.array.from_shapely(geometry), crs="EPSG:4326")
        if failed.any():
            frame[REJECT_COLUMN] = pd.array(self.reason, dtype="string")
        return frame
