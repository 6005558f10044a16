"""CSV reader: Nordic encodings, delimiters and decimal commas; bad files give clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyproj
import pytest

from opendata.errors import SourceError, SpecError
from opendata.readers import REJECT_COLUMN
from opendata.readers.csv_ import read_csv
from tests.opendata.readers.fixtures_readers import PLACES, places_csv

GEOD = pyproj.Geod(ellps="WGS84")
NAMES = [p.name for p in PLACES]
XY = {"x": "x", "y": "y"}

#: (epsg, delimiter, decimal, encoding written ("utf-8-sig" = with BOM), encoding option)
CATALOGUE = [
    pytest.param(3067, ";", ",", "cp1252", "cp1252", id="3067-semicolon-comma-cp1252"),
    pytest.param(3006, ";", ",", "utf-8-sig", "utf-8", id="3006-utf8-bom"),
    pytest.param(25832, ",", ".", "utf-8", "utf-8", id="25832-comma-utf8"),
    pytest.param(25833, "\t", ",", "cp1252", "windows-1252", id="25833-tab-windows1252"),
    pytest.param(4326, ";", ",", "utf-8-sig", "auto", id="4326-auto-detects-utf8-bom"),
    pytest.param(3067, ";", ",", "cp1252", "auto", id="3067-auto-detects-cp1252"),
]
PARAMS = ("epsg", "delimiter", "decimal", "written", "encoding")


def _read(path: Path, crs: str | None = "EPSG:3067", **options: object) -> pd.DataFrame:
    return read_csv(path, crs=crs, options=options)


def _catalogue_file(tmp_path: Path, epsg, delimiter, decimal, written) -> Path:
    return places_csv(
        tmp_path / "places.csv", epsg=epsg, delimiter=delimiter, decimal=decimal, encoding=written
    )


@pytest.mark.parametrize(PARAMS, CATALOGUE)
def test_points_land_within_1_m_of_true_positions(
    tmp_path, epsg, delimiter, decimal, written, encoding
):
    path = _catalogue_file(tmp_path, epsg, delimiter, decimal, written)
    frame = _read(
        path, f"EPSG:{epsg}", delimiter=delimiter, decimal=decimal, encoding=encoding, **XY
    )
    wgs84 = frame.to_crs(4326)
    for point, place in zip(wgs84.geometry, PLACES, strict=True):
        _, _, metres = GEOD.inv(point.x, point.y, place.lon, place.lat)
        assert metres < 1.0, place.name


@pytest.mark.parametrize(PARAMS, CATALOGUE)
def test_names_with_nordic_letters_and_euro_come_through_intact(
    tmp_path, epsg, delimiter, decimal, written, encoding
):
    path = _catalogue_file(tmp_path, epsg, delimiter, decimal, written)
    frame = _read(
        path, f"EPSG:{epsg}", delimiter=delimiter, decimal=decimal, encoding=encoding, **XY
    )
    assert frame["nimi"].tolist() == NAMES
    assert frame.crs.to_epsg() == epsg


def test_latin1_file_keeps_its_letters(tmp_path):
    no_euro = tuple(p for p in PLACES if "€" not in p.name)
    path = places_csv(tmp_path / "p.csv", encoding="latin-1", places=no_euro)
    frame = _read(path, delimiter=";", decimal=",", encoding="latin-1", **XY)
    assert frame["nimi"].tolist() == [p.name for p in no_euro]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_auto_delimiter_is_sniffed_from_the_header(tmp_path, delimiter):
    decimal = "." if delimiter == "," else ","
    path = places_csv(tmp_path / "p.csv", delimiter=delimiter, decimal=decimal)
    frame = _read(path, delimiter="auto", decimal=decimal, encoding="cp1252", **XY)
    assert frame["luokka"].tolist() == [p.kind for p in PLACES]


def test_text_columns_are_pandas_strings_and_coordinate_columns_are_removed(tmp_path):
    frame = _read(places_csv(tmp_path / "p.csv"), delimiter=";", decimal=",", **XY)
    assert list(frame.columns) == ["id", "nimi", "luokka", "geometry"]
    assert all(isinstance(frame[c].dtype, pd.StringDtype) for c in ("id", "nimi", "luokka"))
    assert frame["id"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert REJECT_COLUMN not in frame.columns


def test_wkt_column_becomes_the_geometry(tmp_path):
    path = places_csv(tmp_path / "p.csv", geometry="wkt", epsg=3006)
    frame = _read(path, "EPSG:3006", delimiter=";", wkt="wkt")
    assert "wkt" not in frame.columns
    wgs84 = frame.to_crs(4326).geometry
    assert GEOD.inv(wgs84[0].x, wgs84[0].y, PLACES[0].lon, PLACES[0].lat)[2] < 1.0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("7;Rikki;koulu;12,3a;6672000,0", "x='12,3a' is not a number"),
        ("7;Tyhjä;koulu;;6672000,0", "x is missing"),
        ("7;Tyhjä;koulu;385000,5;", "y is missing"),
        ("7;Kaksi;koulu;abc;def", "x='abc' is not a number; y='def' is not a number"),
        ("7;Väli;koulu; 385000,5 ;6672000,0 x", "y='6672000,0 x' is not a number"),
        ("7;Inf;koulu;inf;6672000,0", "x='inf' is not a number"),
        ("7;Nan;koulu;nan;6672000,0", "x='nan' is not a number"),
    ],
)
def test_unusable_coordinates_keep_the_row_with_an_empty_point_and_reason(tmp_path, line, reason):
    frame = _read(
        places_csv(tmp_path / "p.csv", extra_lines=(line,)), delimiter=";", decimal=",", **XY
    )
    assert len(frame) == len(PLACES) + 1
    assert frame.geometry.iloc[-1].is_empty
    assert frame[REJECT_COLUMN].iloc[-1] == reason
    assert frame[REJECT_COLUMN].iloc[:-1].isna().all()
    assert not frame.geometry.iloc[:-1].is_empty.any()


def test_unreadable_wkt_keeps_the_row_with_a_reason(tmp_path):
    path = places_csv(tmp_path / "p.csv", geometry="wkt", extra_lines=('7;Rikki;koulu;"POINT (1"',))
    frame = _read(path, delimiter=";", wkt="wkt")
    assert frame.geometry.iloc[-1].is_empty
    assert frame[REJECT_COLUMN].iloc[-1] == "wkt='POINT (1' is not valid WKT"


def test_skip_rows_skips_title_lines_above_the_header(tmp_path):
    path = places_csv(tmp_path / "p.csv")
    path.write_bytes(
        "Kouluverkko 2025;;\r\nLähde: kaupunki;;\r\n".encode("cp1252") + path.read_bytes()
    )
    frame = _read(path, delimiter=";", decimal=",", encoding="cp1252", skip_rows=2, **XY)
    assert frame["nimi"].tolist() == NAMES


def test_columns_option_keeps_only_the_listed_columns(tmp_path):
    path = places_csv(tmp_path / "p.csv")
    frame = _read(path, delimiter=";", decimal=",", columns={"nimi": "string"}, **XY)
    assert list(frame.columns) == ["nimi", "geometry"]


def test_without_geometry_options_the_table_has_no_geometry(tmp_path):
    frame = _read(places_csv(tmp_path / "p.csv"), crs=None, delimiter=";")
    assert list(frame.columns) == ["id", "nimi", "luokka", "x", "y"]
    assert frame["x"].iloc[0].count(",") == 1


def _mixed_utf8_with_cp1252_line(path: Path) -> Path:
    path.write_bytes(
        "id;nimi;x;y\r\n1;Ähtäri;385000,1;6672000,2\r\n2;Åbo;385000,1;6672000,2\r\n".encode()
        + "3;Tõnismägi;385000,1;6672000,2\r\n".encode("cp1252")
    )
    return path


def _mixed_cp1252_with_utf8_line(path: Path) -> Path:
    path.write_bytes(
        "id;nimi;x;y\r\n1;Ähtäri;385000,1;6672000,2\r\n".encode("cp1252")
        + "2;Müller;385000,1;6672000,2\r\n".encode()
    )
    return path


MALFORMED = [
    pytest.param(lambda p: p.write_bytes(b""), {}, "empty", id="empty-file"),
    pytest.param(lambda p: p.write_bytes(b"\xef\xbb\xbf\r\n"), {}, "empty", id="bom-only"),
    pytest.param(lambda p: p.write_bytes(b"id;nimi;x;y\r\n"), {}, "no data rows", id="header-only"),
    pytest.param(
        lambda p: places_csv(p), {"delimiter": ","}, "semicolon-separated", id="wrong-delimiter"
    ),
    pytest.param(
        lambda p: places_csv(p),
        {"encoding": "utf-8"},
        "line 2 is not valid UTF-8",
        id="cp1252-as-utf8",
    ),
    pytest.param(
        _mixed_utf8_with_cp1252_line, {"encoding": "utf-8"}, "line 4", id="mixed-utf8-then-cp1252"
    ),
    pytest.param(
        _mixed_cp1252_with_utf8_line,
        {"encoding": "cp1252"},
        "line 3 contains UTF-8",
        id="mixed-cp1252",
    ),
    pytest.param(
        _mixed_cp1252_with_utf8_line, {"encoding": "auto"}, "mixed encodings", id="mixed-auto"
    ),
    pytest.param(
        lambda p: places_csv(p), {"x": "itä"}, "has no column 'itä'", id="missing-x-column"
    ),
    pytest.param(
        lambda p: p.write_bytes(b"id;geometry;x;y\r\n1;a;1,0;2,0\r\n"),
        {},
        "has a column named 'geometry'",
        id="geometry-column-besides-x-y",
    ),
    pytest.param(
        lambda p: places_csv(p, extra_lines=("7;a;b;1,0;2,0;extra",)),
        {},
        "line 8 has 6 fields but the header has 5",
        id="ragged-row",
    ),
]


@pytest.mark.parametrize(("build", "options", "message"), MALFORMED)
def test_malformed_file_is_refused_with_a_clear_message(tmp_path, build, options, message):
    path = tmp_path / "bad.csv"
    build(path)
    with pytest.raises(SourceError, match=message) as caught:
        _read(path, **{"delimiter": ";", "decimal": ",", **XY, **options})
    # The file is named; the folder it sits in on the server is not.
    assert str(caught.value).startswith("bad.csv: ")
    assert str(path.parent) not in str(caught.value)


def test_mixed_encodings_error_names_the_line(tmp_path):
    path = _mixed_utf8_with_cp1252_line(tmp_path / "bad.csv")
    with pytest.raises(SourceError, match="mixes encodings"):
        _read(path, delimiter=";", decimal=",", encoding="utf-8", **XY)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"delimiter": "|"}, "delimiter"),
        ({"decimal": ";"}, "decimal"),
        ({"encoding": "ebcdic"}, "encoding"),
        ({"x": "x"}, "x"),
        ({"x": "x", "y": "y", "wkt": "wkt"}, "wkt"),
        ({"columns": {"nimi": "integer"}}, "columns.nimi"),
        ({"skip_rows": -1}, "skip_rows"),
        ({"skip_rows": "2"}, "skip_rows"),
        ({"sheet": "x"}, "sheet"),
    ],
)
def test_bad_option_is_refused_with_its_key_path(tmp_path, options, key):
    with pytest.raises(SpecError, match=rf"^source\.options\.{key}:"):
        _read(places_csv(tmp_path / "p.csv"), **options)


def test_coordinates_without_crs_are_refused(tmp_path):
    with pytest.raises(SpecError, match=r"^source\.crs: required"):
        _read(places_csv(tmp_path / "p.csv"), crs=None, delimiter=";", **XY)
