"""The catalogue of malformed datasets a data officer can hand to `civic ingest`, each with the
one line it must be refused with: control characters in source paths, zip slip and zip bombs,
swapped coordinates, a wrong CRS, data outside the city, duplicate and empty primary keys.

Every case is a dataset `<name>.toml` plus its source, written into one folder; a good dataset
(`places`) sits beside them so the tests can see the batch go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import spec_data, write_toml
from tests.opendata.helpers import PLACES, nordic_csv
from tests.opendata.malformed import (
    MiB,
    claim_sizes,
    many,
    member,
    shapefile_zip_with,
    symlink,
    zeros,
)
from tests.opendata.readers.fixtures_readers import places_frame, zipped_shapefile

CSV_FIELDS = [
    {"name": "tunnus", "type": "string"},
    {"name": "nimi", "type": "string"},
    {"name": "tyyppi", "type": "string"},
    {"name": "määrä", "type": "integer", "min": 0},
]
CSV_OPTIONS = {"delimiter": ";", "decimal": ",", "encoding": "cp1252", "x": "itä", "y": "pohjoinen"}
SHP_FIELDS = [{"name": "nimi", "type": "string"}, {"name": "luokka", "type": "string"}]
CITY = "24.5, 59.9, 25.5, 60.5 (lon/lat, CIVIC_CITY_BBOX)"
REFUSED = "the archive was refused and nothing was unpacked"


@dataclass(frozen=True)
class Case:
    """One malformed dataset: how to write it into a folder and the message it must fail with."""

    name: str
    build: Callable[[Path, str], None]
    message: str


def write_dataset(
    folder: Path,
    name: str,
    source: dict[str, Any],
    fields: list[dict[str, Any]],
    *,
    raw_path: str | None = None,
    extent: tuple[float, ...] | None = None,
    **extra: Any,
) -> Path:
    """`folder/<name>.toml`; `raw_path` is put into the TOML text as written (escapes and all)."""
    data = spec_data(dict(source), fields, geometry="Point", **extra)
    if extent is not None:
        data["schema"]["extent"] = list(extent)
    if raw_path is not None:
        data["source"]["path"] = "@PATH@"
    path = write_toml(folder / f"{name}.toml", data)
    if raw_path is not None:
        text = path.read_text(encoding="utf-8").replace('"@PATH@"', raw_path)
        path.write_text(text, encoding="utf-8")
    return path


def csv_dataset(
    rows: list[tuple] = PLACES,
    *,
    crs: str = "EPSG:3067",
    fields: list[dict[str, Any]] = CSV_FIELDS,
    options: dict[str, str] | None = None,
    **extra: Any,
) -> Callable[[Path, str], None]:
    """A Nordic CSV of the places in EPSG:3067 (in degrees, `lon`/`lat` columns, for EPSG:4326)
    and its spec."""

    def build(folder: Path, name: str) -> None:
        path = folder / f"{name}.csv"
        nordic_csv(path, rows) if crs != "EPSG:4326" else degrees_csv(path, rows)
        source = {"path": path.name, "format": "csv", "crs": crs}
        source["options"] = {**CSV_OPTIONS, **(options or {})}
        write_dataset(folder, name, source, fields, **extra)

    return build


def degrees_csv(path: Path, rows: list[tuple]) -> Path:
    """The rows with lon/lat in degrees (decimal comma), as `lon` and `lat` columns."""
    lines = ["tunnus;nimi;tyyppi;lon;lat;määrä"]
    for key, name, kind, lon, lat, count in rows:
        lines.append(
            f"{key};{name};{kind};{str(lon).replace('.', ',')};{str(lat).replace('.', ',')};{count}"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def bad_path(raw: str) -> Callable[[Path, str], None]:
    """A good CSV, and a spec whose source.path is the TOML string `raw` (e.g. with `\\u0000`)."""

    def build(folder: Path, name: str) -> None:
        source = {"format": "csv", "crs": "EPSG:3067", "options": CSV_OPTIONS}
        write_dataset(folder, name, source, CSV_FIELDS, raw_path=raw)

    return build


def evil_zip(extra: Callable, fmt: str = "shapefile") -> Callable[[Path, str], None]:
    """A zipped Shapefile of the places with one hostile addition, read as `fmt`."""

    def build(folder: Path, name: str) -> None:
        shapefile_zip_with(folder / f"{name}.zip", extra)
        source = {"path": f"{name}.zip", "format": fmt}
        write_dataset(folder, name, source, SHP_FIELDS)

    return build


def claiming_zip(folder: Path, name: str) -> None:
    """A zipped Shapefile whose headers claim 1 GiB per member (5 GiB in all)."""
    claim_sizes(zipped_shapefile(folder / f"{name}.zip"), 1 << 30)
    write_dataset(folder, name, {"path": f"{name}.zip", "format": "shapefile"}, SHP_FIELDS)


def swapped_geojson(folder: Path, name: str) -> None:
    """A GeoJSON of the places written latitude first."""
    frame = places_frame(4326)
    frame.geometry = frame.geometry.map(lambda p: type(p)(p.y, p.x))
    frame.to_file(folder / f"{name}.geojson", driver="GeoJSON")
    write_dataset(folder, name, {"path": f"{name}.geojson", "format": "geojson"}, SHP_FIELDS)


#: The places with latitude in the `lon` column and longitude in `lat`.
SWAPPED = [(k, n, t, lat, lon, c) for k, n, t, lon, lat, c in PLACES]
DUPLICATE_KEY = [*PLACES, ("p2", "Kopio", "Koulu", 24.9411, 60.1703, "1")]
EMPTY_KEY = [*PLACES[:3], ("", "Nimetön", "Koulu", 24.9411, 60.1703, "1"), *PLACES[3:]]
TURKU = (22.1, 60.3, 22.5, 60.6)
LONLAT = {"x": "lon", "y": "lat"}


def _key(unique: bool) -> list[dict[str, Any]]:
    first = {"name": "tunnus", "type": "string", **({"unique": True} if unique else {})}
    return [first, *CSV_FIELDS[1:]]


def _control(char: str, name: str, position: int = 7) -> str:
    return (
        f"{{name}}.toml: source.path: contains an invisible control character ({char}, {name}) at "
        f"position {position}; type the file name again without it"
    )


def _slip(member_repr: str, why: str) -> str:
    return f"{{name}}.zip: member {member_repr} {why}; {REFUSED}"


KEY_DUPLICATE = (
    "column 'tunnus' is the primary key (schema.primary_key) but the value 'p2' appears in 2 rows "
    "(rows 2, 6); keys must be unique"
)
KEY_EMPTY = (
    "column 'tunnus' is the primary key (schema.primary_key) but 1 row has no value (row 4); "
    "every row needs its own key"
)

SWAPPED_LATLON = (
    "the coordinates (columns 'lon', 'lat') lie outside the city: 5 of 5 features are outside "
    f"{CITY} when read as EPSG:4326 (WGS 84), e.g. row 1 at lon 60.1699, lat 24.9384; the "
    "coordinates look like latitude and longitude swapped; swap the columns in source.options "
    "(x = 'lat', y = 'lon')"
)
SWAPPED_GRID = (
    "coordinates do not fit the declared CRS EPSG:3067 (ETRS89 / TM35FIN(E,N)): 5 of 5 features "
    "lie outside its area of use (e.g. x=6.67212e+06, y=385611); the coordinates look like "
    "easting and northing (x and y) swapped; swap the columns in source.options (x = 'itä', "
    "y = 'pohjoinen')"
)
SWAPPED_GEOJSON = (
    f"the features lie outside the city: 6 of 6 features are outside {CITY} when read as "
    "EPSG:4326 (WGS 84), e.g. row 1 at lon 60.1699, lat 24.9460; the coordinates look like "
    "latitude and longitude swapped; write them in x/y (longitude/latitude) order in the source"
)
WRONG_CRS = (
    "the coordinates (columns 'itä', 'pohjoinen') lie outside the city: 5 of 5 features are "
    f"outside {CITY} when read as EPSG:3006 (SWEREF99 TM), e.g. row 1 at lon 12.9384, lat "
    "60.1699; they fit EPSG:3067 (ETRS89 / TM35FIN(E,N)) inside the city; check source.crs"
)
OUTSIDE_EXTENT = (
    "the coordinates (columns 'itä', 'pohjoinen') lie outside the declared extent: 5 of 5 "
    "features are outside 22.1, 60.3, 22.5, 60.6 (lon/lat, schema.extent) when read as EPSG:3067 "
    "(ETRS89 / TM35FIN(E,N)), e.g. row 1 at lon 24.9384, lat 60.1699; check source.crs, the "
    "coordinates and schema.extent"
)
DOTDOT = "points outside the archive with '..' (zip slip)"
ABSOLUTE = "has an absolute path (zip slip)"
BOMB = "refused as a possible zip bomb, nothing was unpacked"
CONSTANT = [{"op": "constant", "column": "lähde", "value": "testi"}]

CASES = [
    # Control characters in source paths: refused when the spec is read, by key path.
    Case("path_nul", bad_path('"places\\u0000.csv"'), _control("U+0000", "NUL")),
    Case("path_newline", bad_path('"places\\n.csv"'), _control("U+000A", "LINE FEED")),
    Case("path_tab", bad_path('"sources/\\tplaces.csv"'), _control("U+0009", "TAB", 9)),
    Case("path_escape", bad_path('"places\\u001b[2J.csv"'), _control("U+001B", "ESCAPE")),
    Case("path_delete", bad_path('"places\\u007f.csv"'), _control("U+007F", "DELETE")),
    Case("path_c1", bad_path('"places\\u0085.csv"'), _control("U+0085", "a control character")),
    # Zip slip: a member escaping the archive, or a link, refused before GDAL opens anything.
    Case("zip_dotdot", evil_zip(member("../evil.txt")), _slip("'../evil.txt'", DOTDOT)),
    Case("zip_nested", evil_zip(member("data/../../x.shp")), _slip("'data/../../x.shp'", DOTDOT)),
    Case("zip_backslash", evil_zip(member("..\\evil.txt")), _slip("'..\\\\evil.txt'", DOTDOT)),
    Case("zip_absolute", evil_zip(member("/etc/cron.d/x")), _slip("'/etc/cron.d/x'", ABSOLUTE)),
    Case("zip_drive", evil_zip(member("C:/Windows/x.dll")), _slip("'C:/Windows/x.dll'", ABSOLUTE)),
    Case(
        "zip_symlink",
        evil_zip(symlink("data/kohteet.txt", "/etc/passwd")),
        _slip("'data/kohteet.txt'", "is a symbolic link"),
    ),
    Case(
        "zip_control",
        evil_zip(member("data/\x1b[2Jx.txt")),
        _slip("'data/\\x1b[2Jx.txt'", "has a control character in its name"),
    ),
    Case("geojson_zip", evil_zip(member("../x.json"), "geojson"), _slip("'../x.json'", DOTDOT)),
    # Zip bombs: refused from the archive's directory, before anything is inflated.
    Case(
        "zip_bomb_ratio",
        evil_zip(zeros("data/kohteet.bin", 9 * MiB)),
        _slip(
            "'data/kohteet.bin'",
            "would unpack 1,027 times larger (9.0 KiB to 9.0 MiB; a possible zip bomb)",
        ),
    ),
    Case(
        "zip_bomb_total",
        claiming_zip,
        f"{{name}}.zip: the archive would unpack to 5.0 GiB (more than 2.0 GiB); {BOMB}",
    ),
    Case(
        "zip_bomb_members",
        evil_zip(many(1500)),
        f"{{name}}.zip: the archive holds 1505 files (more than 1000); {BOMB}",
    ),
    # Data in the wrong place: swapped axes, a wrong CRS, outside the declared extent.
    Case("swapped_latlon", csv_dataset(SWAPPED, crs="EPSG:4326", options=LONLAT), SWAPPED_LATLON),
    Case("swapped_grid", csv_dataset(options={"x": "pohjoinen", "y": "itä"}), SWAPPED_GRID),
    Case("swapped_geojson", swapped_geojson, SWAPPED_GEOJSON),
    Case("wrong_crs_sweref", csv_dataset(crs="EPSG:3006"), WRONG_CRS),
    Case("outside_extent", csv_dataset(extent=TURKU), OUTSIDE_EXTENT),
    # Primary keys: unique and never empty, whether the field also says `unique` or not, on the
    # columnar path and (with a transform) only on the general one.
    Case(
        "key_duplicate",
        csv_dataset(DUPLICATE_KEY, fields=_key(False), primary_key="tunnus"),
        KEY_DUPLICATE,
    ),
    Case(
        "key_duplicate_unique",
        csv_dataset(DUPLICATE_KEY, fields=_key(True), primary_key="tunnus"),
        KEY_DUPLICATE,
    ),
    Case("key_empty", csv_dataset(EMPTY_KEY, fields=_key(False), primary_key="tunnus"), KEY_EMPTY),
    Case(
        "key_empty_general",
        csv_dataset(EMPTY_KEY, fields=_key(False), primary_key="tunnus", transforms=CONSTANT),
        KEY_EMPTY,
    ),
]
