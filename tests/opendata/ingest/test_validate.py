"""Validation: types, constraints, geometry repair and rejection, CRS plausibility, duplicates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import LineString, Point, Polygon

from opendata.errors import ValidationFailed
from opendata.ingest.crs_hints import guess_crs
from opendata.ingest.rules import Extent
from opendata.ingest.spec_model import FieldSpec, Schema
from opendata.ingest.validate import validate
from opendata.readers import REJECT_COLUMN

# Helsinki Senate Square in ETRS-TM35FIN (EPSG:3067) and SWEREF 99 TM (EPSG:3006) for Stockholm.
HKI = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(24.9522, 60.1694)
STHLM = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True).transform(18.0686, 59.3293)


def _frame(values: dict, geoms: list, crs: str = "EPSG:3067") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(values).astype("string"), geometry=geoms, crs=crs)


def _pts(n: int) -> list[Point]:
    return [Point(HKI[0] + 10 * i, HKI[1] + 5 * i) for i in range(n)]


def test_decimal_comma_numbers_are_coerced() -> None:
    frame = _frame({"v": ["1,5", "2", " 3,25 "]}, _pts(3))
    out = validate(frame, Schema((FieldSpec("v", "float"),), geometry="Point"), decimal=",")
    assert out.valid["v"].tolist() == [1.5, 2.0, 3.25]
    assert len(out.rejects) == 0


@pytest.mark.parametrize(
    ("field", "values", "bad_row", "reason"),
    [
        (FieldSpec("v", "integer"), ["1", "x2", "3"], 2, "column 'v': not a valid integer: 'x2'"),
        (FieldSpec("v", "integer"), ["1", "2.5", "3"], 2, "not a valid integer"),
        (FieldSpec("v", "integer"), ["1", "9" * 20, "3"], 2, "not a valid integer"),  # > int64
        (FieldSpec("v", "date"), ["2024-01-05", "-1", "2024-01-07"], 2, "not a valid date"),
        (FieldSpec("v", "float", minimum=0), ["1", "-4", "3"], 2, "column 'v': below minimum 0"),
        (FieldSpec("v", "float", maximum=10), ["1", "11", "3"], 2, "column 'v': above maximum 10"),
        (FieldSpec("v", "string", required=True), ["a", None, "c"], 2, "required value is missing"),
        (
            FieldSpec("v", "string", allowed=("a", "c")),
            ["a", "b", "c"],
            2,
            "value not in allowed list",
        ),
        (
            FieldSpec("v", "string", unique=True),
            ["a", "b", "a"],
            3,
            "duplicate value (must be unique)",
        ),
        (FieldSpec("v", "date"), ["2024-01-31", "31.13.2024", "2024-02-01"], 2, "not a valid date"),
        (FieldSpec("v", "boolean"), ["ja", "maybe", "nej"], 2, "not a valid boolean"),
    ],
)
def test_broken_rows_are_quarantined_with_reason(
    field: FieldSpec, values: list, bad_row: int, reason: str
) -> None:
    out = validate(_frame({"v": values}, _pts(3)), Schema((field,), geometry="Point"))
    assert out.rejects["source_row"].tolist() == [bad_row]
    assert reason in out.rejects["reason"].iloc[0]
    assert len(out.valid) == 2


def test_missing_required_column_fails_the_run_and_lists_columns() -> None:
    frame = _frame({"other": ["1"]}, _pts(1))
    with pytest.raises(
        ValidationFailed, match="required column.*missing.*: v; the source has: other"
    ):
        validate(frame, Schema((FieldSpec("v", "string", required=True),)))


def test_empty_and_missing_geometries_are_rejected() -> None:
    frame = _frame({"v": ["a", "b", "c"]}, [_pts(1)[0], Point(), None])
    out = validate(frame, Schema((FieldSpec("v", "string"),), geometry="Point"))
    assert out.rejects["source_row"].tolist() == [2, 3]
    assert set(out.rejects["reason"]) == {"geometry is missing or empty"}


def test_self_intersecting_polygon_is_repaired_and_counted() -> None:
    x, y = HKI
    bowtie = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100), (x, y)])
    square = Polygon([(x, y), (x + 50, y), (x + 50, y + 50), (x, y + 50)])
    out = validate(
        _frame({"v": ["bow", "ok"]}, [bowtie, square]),
        Schema((FieldSpec("v", "string"),), geometry="Polygon"),
    )
    assert out.repaired == 1
    assert len(out.rejects) == 0
    assert out.valid.geometry.is_valid.all()
    assert out.valid.geometry.iloc[0].geom_type == "MultiPolygon"
    assert out.valid.geometry.iloc[0].area == pytest.approx(5000.0)


def test_wrong_geometry_type_is_rejected() -> None:
    x, y = HKI
    frame = _frame({"v": ["line", "pt"]}, [LineString([(x, y), (x + 1, y + 1)]), Point(x, y)])
    out = validate(frame, Schema((FieldSpec("v", "string"),), geometry="Point"))
    assert out.rejects["reason"].tolist() == ["geometry is not a Point"]


def test_sweref_coordinates_labelled_wgs84_fail_naming_the_likely_crs() -> None:
    frame = _frame(
        {"v": ["a", "b"]}, [Point(STHLM), Point(STHLM[0] + 100, STHLM[1])], crs="EPSG:4326"
    )
    with pytest.raises(ValidationFailed) as err:
        validate(frame, Schema((FieldSpec("v", "string"),)))
    message = str(err.value)
    assert "do not fit the declared CRS EPSG:4326" in message
    assert "EPSG:3006" in message and "SWEREF99 TM" in message


def test_finnish_grid_coordinates_are_recognised() -> None:
    assert "EPSG:3067" in guess_crs(np.array([HKI[0]]), np.array([HKI[1]]), "EPSG:4326")


def test_degree_coordinates_labelled_as_grid_point_to_wgs84() -> None:
    assert guess_crs(np.array([24.95]), np.array([60.17]), "EPSG:3067") == ["EPSG:4326"]


def test_one_stray_coordinate_is_quarantined_not_fatal() -> None:
    geoms = _pts(20) + [Point(5_000_000, 9_000_000)]
    out = validate(
        _frame({"v": [str(i) for i in range(21)]}, geoms), Schema((FieldSpec("v", "string"),))
    )
    assert out.rejects["source_row"].tolist() == [21]
    assert "outside the area of use of EPSG:3067" in out.rejects["reason"].iloc[0]


def test_reader_reject_reasons_are_kept() -> None:
    frame = _frame({"v": ["a", "b"]}, [_pts(1)[0], Point()])
    frame[REJECT_COLUMN] = [None, "x='12,3a' is not a number"]
    out = validate(frame, Schema((FieldSpec("v", "string"),)))
    assert out.rejects["reason"].tolist() == ["x='12,3a' is not a number"]
    assert REJECT_COLUMN not in out.rejects.columns


def test_columns_outside_schema_are_not_published() -> None:
    frame = _frame({"v": ["a"], "secret": ["x"]}, _pts(1))
    out = validate(frame, Schema((FieldSpec("v", "string"),)))
    assert list(out.valid.columns) == ["v", "geometry"]
    assert out.dropped_columns == ["secret"]


CITY = Extent((24.5, 59.9, 25.5, 60.5), "CIVIC_CITY_BBOX")


def test_polygons_with_swapped_axes_fail_naming_the_cause() -> None:
    squares = [Polygon([(y, x), (y + 50, x), (y + 50, x + 50), (y, x + 50)]) for x, y in [HKI]]
    frame = _frame({"v": ["a"]}, squares)
    with pytest.raises(ValidationFailed) as err:
        validate(frame, Schema((FieldSpec("v", "string"),), geometry="Polygon"), extent=CITY)
    assert str(err.value).endswith(
        "the coordinates look like easting and northing (x and y) swapped; write them in x/y "
        "(longitude/latitude) order in the source"
    )


def test_a_feature_outside_the_city_is_quarantined_when_most_are_inside() -> None:
    turku = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(22.27, 60.45)
    frame = _frame({"v": ["a", "b", "c"]}, [*_pts(2), Point(turku)])
    out = validate(frame, Schema((FieldSpec("v", "string"),), geometry="Point"), extent=CITY)
    assert out.rejects["source_row"].tolist() == [3]
    assert out.rejects["reason"].tolist() == [
        "coordinates outside 24.5, 59.9, 25.5, 60.5 (lon/lat, CIVIC_CITY_BBOX)"
    ]
    assert len(out.valid) == 2
