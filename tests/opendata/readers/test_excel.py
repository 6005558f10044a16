"""Excel reader: sheet and header row choice, numbers or decimal-comma text as coordinates."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pyproj
import pytest

from opendata.errors import SourceError, SpecError
from opendata.readers import REJECT_COLUMN
from opendata.readers.excel import read_xlsx
from tests.opendata.readers.fixtures_readers import PLACES, places_xlsx, truncated

GEOD = pyproj.Geod(ellps="WGS84")
XY = {"sheet": "Kohteet", "x": "x", "y": "y"}


def test_points_from_number_and_decimal_comma_cells_land_within_1_m(tmp_path):
    frame = read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs="EPSG:3067", options=XY)
    wgs84 = frame.to_crs(4326).geometry
    for point, place in zip(wgs84, PLACES, strict=True):
        assert GEOD.inv(point.x, point.y, place.lon, place.lat)[2] < 1.0


def test_cells_come_back_as_the_text_a_person_sees(tmp_path):
    frame = read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs="EPSG:3067", options=XY)
    assert frame["nimi"].tolist() == [p.name for p in PLACES]
    assert frame["id"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert frame["avattu"].iloc[0] == "2020-01-01"
    assert isinstance(frame["nimi"].dtype, pd.StringDtype)
    assert list(frame.columns) == ["id", "nimi", "luokka", "avattu", "geometry"]


def test_header_row_option_skips_title_rows(tmp_path):
    path = places_xlsx(tmp_path / "k.xlsx", header_row=3)
    frame = read_xlsx(path, crs="EPSG:3067", options={**XY, "header_row": 3})
    assert len(frame) == len(PLACES)


def test_first_sheet_is_read_by_default(tmp_path):
    path = places_xlsx(tmp_path / "k.xlsx", cover=False)
    frame = read_xlsx(path, crs="EPSG:3067", options={"x": "x", "y": "y"})
    assert len(frame) == len(PLACES)


def test_first_sheet_without_data_rows_is_refused(tmp_path):
    with pytest.raises(SourceError, match="header in row 1 but no data rows"):
        read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs=None, options={})


def test_unknown_sheet_lists_the_sheets(tmp_path):
    with pytest.raises(SpecError, match=r"^source\.options\.sheet: .*it has: Ohje, Kohteet"):
        read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs=None, options={"sheet": "Kohde"})


def test_text_coordinate_keeps_the_row_with_a_reason(tmp_path):
    path = places_xlsx(tmp_path / "k.xlsx")
    book = openpyxl.load_workbook(path)
    book["Kohteet"].append([7, "Rikki", "koulu", "n/a", "6672000,5"])
    book.save(path)
    frame = read_xlsx(path, crs="EPSG:3067", options=XY)
    assert frame.geometry.iloc[-1].is_empty
    assert frame[REJECT_COLUMN].iloc[-1] == "x='n/a' is not a number"


def test_missing_x_column_is_named(tmp_path):
    with pytest.raises(SourceError, match="has no column 'itä'"):
        read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs="EPSG:3067", options={**XY, "x": "itä"})


def test_coordinates_without_crs_are_refused(tmp_path):
    with pytest.raises(SpecError, match=r"^source\.crs: required"):
        read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs=None, options=XY)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda p, t: truncated(places_xlsx(p), t), id="truncated"),
        pytest.param(lambda p, t: t.write_text("id;nimi\n1;Ähtäri\n") and t, id="csv-named-xlsx"),
    ],
)
def test_unreadable_workbook_is_a_source_error(tmp_path, build):
    target = tmp_path / "bad.xlsx"
    build(tmp_path / "k.xlsx", target)
    with pytest.raises(SourceError, match="is not a readable .xlsx workbook"):
        read_xlsx(target, crs=None, options={})


def test_sheet_with_header_but_no_rows_is_refused(tmp_path):
    path = tmp_path / "k.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["id", "nimi"])
    book.save(path)
    with pytest.raises(SourceError, match="no data rows"):
        read_xlsx(path, crs=None, options={})


@pytest.mark.parametrize(
    ("options", "key"),
    [({"header_row": 0}, "header_row"), ({"x": "x"}, "x"), ({"decimal": ","}, "decimal")],
)
def test_bad_options_are_refused_with_their_key_path(tmp_path, options, key):
    with pytest.raises(SpecError, match=rf"^source\.options\.{key}:"):
        read_xlsx(places_xlsx(tmp_path / "k.xlsx"), crs="EPSG:3067", options=options)
