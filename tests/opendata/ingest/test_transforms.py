"""Declarative transforms: each does what its spec says, on real geometry."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import LineString, Polygon

from opendata.errors import SpecError
from opendata.ingest.spec_model import Transform
from opendata.ingest.transforms import TRANSFORMS, apply_transforms


def _run(op: str, frame: gpd.GeoDataFrame, **params: object) -> gpd.GeoDataFrame:
    return apply_transforms(frame, (Transform(op, params),))


@pytest.fixture
def blocks() -> gpd.GeoDataFrame:
    # Two 20 m x 50 m footprints in ETRS-TM35FIN: 1000 m² each.
    sq = [
        Polygon([(385000, 6672000), (385020, 6672000), (385020, 6672050), (385000, 6672050)]),
        Polygon([(385100, 6672000), (385120, 6672000), (385120, 6672050), (385100, 6672050)]),
    ]
    return gpd.GeoDataFrame(
        {"use": ["apartments", "office"], "levels": ["6", None]}, geometry=sq, crs="EPSG:3067"
    )


def test_residents_estimate_follows_the_documented_formula(blocks: gpd.GeoDataFrame) -> None:
    out = _run(
        "estimate_residents",
        blocks,
        use_column="use",
        levels_column="levels",
        target="res",
        residential_uses=["apartments"],
        default_levels=5,
        floor_area_per_resident=35.0,
    )
    # 1000 m² x 6 levels / 35 m² per resident = 171.4 -> 171; offices house nobody.
    assert out["res"].tolist() == [171, 0]


def test_area_and_length_are_metric_even_in_wgs84(blocks: gpd.GeoDataFrame) -> None:
    wgs = blocks.to_crs("EPSG:4326")
    assert _run("area_m2", wgs, target="a")["a"].tolist() == pytest.approx([1000, 1000], rel=1e-3)
    line = gpd.GeoDataFrame(
        geometry=[LineString([(385000, 6672000), (385300, 6672400)])], crs="EPSG:3067"
    )
    assert _run("length_m", line.to_crs(4326), target="m")["m"].iloc[0] == pytest.approx(
        500, rel=1e-3
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("50", 50), ("30 mph", 48.28), ("FI:urban", 50), ("2;3", 2), ("none", None)],
)
def test_to_number_reads_tags_and_implicit_codes(raw: str, expected: float | None) -> None:
    frame = gpd.GeoDataFrame({"v": pd.array([raw], dtype="string")}, geometry=[None])
    out = _run("to_number", frame, column="v", target="n", table={"FI:urban": 50})
    value = out["n"].iloc[0]
    assert (pd.isna(value) and expected is None) or value == pytest.approx(expected, abs=0.01)


def test_rename_of_missing_column_names_the_step() -> None:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[None])
    with pytest.raises(
        SpecError, match=r"transforms\[0\] \(rename\): column 'zz' is not in the data"
    ):
        _run("rename", frame, columns={"zz": "b"})


def test_every_transform_is_documented() -> None:
    assert all(len(t.doc) > 20 for t in TRANSFORMS.values())
