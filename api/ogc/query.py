"""Request parsing for the features API: query strings in, typed `FeatureQuery` objects out.

Pure functions over a mapping of query parameters, so every rule is testable without Flask. Each
one raises `ApiError(400)` with a detail that names the offending parameter.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
from cachetools import TTLCache

from api.http import MAX_COUNT, ApiError, whole_number
from api.ogc import cql2
from opendata.query.tables import CRS84, FeatureQuery, Source, source
from opendata.store.catalog import Catalog, Dataset, Version

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
#: Output and bbox/filter CRSs offered for every collection (plus each version's source CRS).
CRS_LIST = (CRS84, EPSG + "4326", EPSG + "3006", EPSG + "3067", EPSG + "25832", EPSG + "25833")
ITEMS_PARAMS = frozenset(
    {"f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang",
     "filter-crs", "sortby"}
)  # fmt: skip


@dataclass(frozen=True)
class Collection:
    """A published dataset as a features collection: its catalog rows and its data file."""

    dataset: Dataset
    version: Version
    path: str
    source: Source

    @property
    def id(self) -> str:
        return self.dataset.name

    @property
    def crs(self) -> list[str]:
        extra = crs_uri(self.version.source_crs) if self.version.source_crs else None
        return list(CRS_LIST) + ([extra] if extra and extra not in CRS_LIST else [])


#: Seconds a worker trusts its copy of the catalog's current versions.
CATALOG_TTL = 2.0
_CURRENT: TTLCache = TTLCache(maxsize=8, ttl=CATALOG_TTL)
_CURRENT_LOCK = threading.Lock()  # cachetools caches are not thread-safe by themselves


def current(catalog_url: str, *, fresh: bool = False) -> dict[str, tuple[Dataset, Version]]:
    """The catalog's current versions by dataset name, re-read at most every CATALOG_TTL s
    (a cached, superseded version is still a valid, immutable answer) unless `fresh`."""
    with _CURRENT_LOCK:
        found = None if fresh else _CURRENT.get(catalog_url)
    if found is None:
        found = {d.name: (d, v) for d, v in Catalog(catalog_url).current()}
        with _CURRENT_LOCK:
            _CURRENT[catalog_url] = found
    return found


def collection(catalog_url: str, data_dir: str, name: str) -> Collection:
    """The named collection, or 404."""
    entry = current(catalog_url).get(name) or current(catalog_url, fresh=True).get(name)
    if entry is None:
        raise ApiError(404, f"no collection named '{name}'")
    dataset, version = entry
    path = f"{data_dir}/{version.path}"
    return Collection(dataset, version, path, source(path))


def crs_uri(text: str) -> str:
    """`EPSG:3067`, `[EPSG:3067]`, `OGC:CRS84` or a full URI, as the canonical OGC URI."""
    text = text.strip().strip("[]")
    if text.startswith("https://"):
        text = "http://" + text[8:]
    if text.upper().startswith("EPSG:"):
        return EPSG + text[5:]
    if text.upper() in ("OGC:CRS84", "CRS84"):
        return CRS84
    return text


def parse_crs(params: Mapping[str, str], name: str, allowed: list[str]) -> str:
    """A CRS parameter, checked against the collection's list."""
    value = params.get(name)
    if value is None:
        return CRS84
    uri = crs_uri(value)
    if uri not in allowed:
        raise ApiError(400, f"{name}: unsupported CRS '{value}'; supported: {', '.join(allowed)}")
    return uri


def parse_int(
    params: Mapping[str, str], name: str, default: int, minimum: int, maximum: int = MAX_COUNT
) -> int:
    """A whole-number parameter from `minimum` to `maximum` (400 naming it and the range)."""
    value = params.get(name)
    if value is None:
        return default
    return whole_number(value, name, low=minimum, high=maximum)


def parse_bbox(value: str, crs: str) -> tuple[float, float, float, float]:
    """`minx,miny,maxx,maxy` or with z values `minx,miny,minz,maxx,maxy,maxz` (z is ignored)."""
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise ApiError(
            400, f"bbox: expected 4 or 6 comma-separated numbers, got '{value[:60]}'"
        ) from None
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise ApiError(
            400, f"bbox: expected 4 or 6 finite numbers, got {len(numbers)} in '{value[:60]}'"
        )
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    if miny > maxy or minx > maxx:
        raise ApiError(
            400,
            "bbox: lower corner must not exceed the upper corner "
            "(boxes across the antimeridian are not supported)",
        )
    axes = {CRS84: ((minx, maxx), (miny, maxy)), EPSG + "4326": ((miny, maxy), (minx, maxx))}
    if crs in axes:
        lon, lat = axes[crs]
        if not all(-90 <= v <= 90 for v in lat):
            raise ApiError(400, "bbox: latitude outside -90..90")
        if not all(-180 <= v <= 180 for v in lon):
            raise ApiError(400, "bbox: longitude outside -180..180")
    return minx, miny, maxx, maxy


def _instant(text: str, end: bool, name: str = "datetime") -> datetime | None:
    """One end of an interval; a date alone covers the whole day (400 naming `name`)."""
    if text in ("..", ""):
        return None
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            return day + timedelta(days=1, microseconds=-1) if end else day
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(400, f"{name}: '{text[:40]}' is not an RFC 3339 date or date-time") from None
    except OverflowError:  # a time zone that moves the instant outside years 1..9999
        raise ApiError(400, f"{name}: '{text[:40]}' is outside the years 1 to 9999") from None


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """An instant, or an interval `start/end` where either end may be `..` (open)."""
    if "/" in value:
        start_text, _, end_text = value.partition("/")
        start, end = _instant(start_text, False), _instant(end_text, True)
        if start is None and end is None:
            raise ApiError(400, "datetime: an interval needs at least one bounded end")
        if start and end and start > end:
            raise ApiError(400, "datetime: the interval starts after it ends")
        return start, end
    if value == "..":
        raise ApiError(400, "datetime: '..' is only valid as one end of an interval")
    return _instant(value, False), _instant(value, True)


def queryables(source: Source) -> dict[str, dict[str, Any]]:
    """JSON Schema of each queryable property (every property of the file)."""
    return {name: json_schema(kind) for name, kind in source.properties.items()}


def json_schema(kind: pa.DataType) -> dict[str, Any]:
    """The JSON Schema type of an Arrow type."""
    if pa.types.is_boolean(kind):
        return {"type": "boolean"}
    if pa.types.is_integer(kind):
        return {"type": "integer"}
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return {"type": "number"}
    if pa.types.is_timestamp(kind):
        return {"type": "string", "format": "date-time"}
    if pa.types.is_date(kind):
        return {"type": "string", "format": "date"}
    return {"type": "string"}


def property_value(name: str, value: str, schema: Mapping[str, Any]) -> Any:
    """A `property=value` parameter converted to the property's type."""
    kind = schema.get("format") or schema.get("type")
    if kind == "integer":  # what a 64-bit column can hold, never an overflow in the query
        return whole_number(value, name, low=-(2**63), high=2**63 - 1)
    try:
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
    except ValueError:
        raise ApiError(400, f"{name}: expected a {kind}, got '{value[:40]}'") from None
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise ApiError(400, f"{name}: expected true or false, got '{value[:40]}'")
        return value.lower() == "true"
    if kind in ("date-time", "date"):
        _instant(value, False, name)
        return {"timestamp" if kind == "date-time" else "date": value}
    return value


def parse_sortby(value: str, names: Mapping[str, Any]) -> tuple[tuple[str, bool], ...]:
    keys = []
    for part in (p.strip() for p in value.split(",")):
        name = part.lstrip("+-")
        if name not in names:
            raise ApiError(
                400, f"sortby: unknown property '{name[:40]}'; sortable: {', '.join(names)}"
            )
        keys.append((name, not part.startswith("-")))
    return tuple(keys)


def parse_items(
    params: Mapping[str, str], coll: Collection, *, default_limit: int, max_limit: int
) -> FeatureQuery:
    """All items parameters of a request into one `FeatureQuery` (400 on anything invalid)."""
    props = queryables(coll.source)
    unknown = [k for k in params if k not in ITEMS_PARAMS and k not in props]
    if unknown:
        raise ApiError(
            400,
            f"unknown query parameter '{unknown[0][:40]}'; allowed: "
            f"{', '.join(sorted(ITEMS_PARAMS))} and the queryables {', '.join(props)}",
        )
    bbox_crs = parse_crs(params, "bbox-crs", coll.crs)
    filter_crs = parse_crs(params, "filter-crs", coll.crs)
    if params.get("datetime") and coll.source.temporal is None:
        raise ApiError(400, "datetime: this collection has no temporal property")
    return FeatureQuery(
        limit=min(parse_int(params, "limit", default_limit, 1), max_limit),
        offset=parse_int(params, "offset", 0, 0),
        bbox=parse_bbox(params["bbox"], bbox_crs) if "bbox" in params else None,
        bbox_crs=bbox_crs,
        datetime=parse_datetime(params["datetime"]) if params.get("datetime") else None,
        properties={k: property_value(k, v, props[k]) for k, v in params.items() if k in props},
        filter=_filter(params, coll, props),
        filter_crs=filter_crs,
        crs=parse_crs(params, "crs", coll.crs),
        sortby=parse_sortby(params["sortby"], props) if params.get("sortby") else (),
    )


def _filter(params: Mapping[str, str], coll: Collection, props: dict[str, dict[str, Any]]) -> Any:
    text = params.get("filter")
    if text is None:
        return None
    lang = params.get("filter-lang", "cql2-text")
    try:
        return cql2.parse(text, lang, props, coll.source.geometry)
    except cql2.Cql2Error as err:
        raise ApiError(400, str(err)) from None
