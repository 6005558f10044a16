"""GTFS feeds as a stops dataset: departures and headways in a window of a weekday, stop kinds
from the routes, and clear refusals of broken feeds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from opendata.errors import SourceError, SpecError
from opendata.readers import read_source

STOPS = """stop_id,stop_name,stop_lat,stop_lon
A,Rautatientori,60.1710,24.9430
B,Ylioppilastalo,60.1690,24.9470
C,Kauppatori,60.1675,24.9520
D,Unused,60.1700,24.9400
"""
ROUTES = "route_id,route_type\nT2,0\nB18,3\n"
CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "WK,1,1,1,1,1,0,0,20260101,20261231\nSA,0,0,0,0,0,1,0,20260101,20261231\n"
)


def _at(minutes: int, seconds: int = 0) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}"


def _times() -> tuple[str, str]:
    """Tram T2 every 10 min 07:00-08:50 (A, B) on weekdays, bus B18 every 20 min (B, C), and a
    Saturday tram that must not count on a Tuesday."""
    trips, times = ["trip_id,route_id,service_id"], ["trip_id,stop_id,departure_time"]
    for i in range(12):
        t = 7 * 60 + 10 * i
        trips.append(f"t{i},T2,WK")
        times += [
            f"t{i},A,{t // 60:02d}:{t % 60:02d}:00",
            f"t{i},B,{t // 60:02d}:{t % 60 + 2:02d}:00",
        ]
    for i in range(6):
        t = 7 * 60 + 20 * i
        trips.append(f"b{i},B18,WK")
        times += [
            f"b{i},B,{t // 60:02d}:{t % 60:02d}:30",
            f"b{i},C,{t // 60:02d}:{t % 60 + 3:02d}:30",
        ]
    trips.append("s0,T2,SA")
    times.append("s0,A,07:30:00")
    return "\n".join(trips) + "\n", "\n".join(times) + "\n"


def gtfs_zip(path: Path, **override: str) -> Path:
    """A small feed as a zip; `override` replaces (or, with "", drops) one of its files."""
    trips, times = _times()
    files = {"stops.txt": STOPS, "routes.txt": ROUTES, "trips.txt": trips,
             "stop_times.txt": times, "calendar.txt": CALENDAR}  # fmt: skip
    files.update({f"{k}.txt": v for k, v in override.items()})
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            if text:
                z.writestr(name, text)
    return path


def read(path: Path, **options):
    return read_source(path, "gtfs", crs=None, options=options).set_index("stop_id")


def test_headways_count_every_route_in_the_window(tmp_path):
    stops = read(gtfs_zip(tmp_path / "feed.zip"))
    assert stops.crs.to_epsg() == 4326 and len(stops) == 4
    assert stops.loc["A", "departures"] == 12 and stops.loc["A", "headway_min"] == 10.0
    assert stops.loc["B", "departures"] == 18  # 12 trams + 6 buses
    assert stops.loc["B", "headway_min"] == pytest.approx(120 / 18)
    assert np.isnan(stops.loc["D", "headway_min"]) and stops.loc["D", "departures"] == 0


def test_stop_kinds_come_from_the_routes_serving_them(tmp_path):
    stops = read(gtfs_zip(tmp_path / "feed.zip"))
    assert stops.loc["A", "kind"] == "tram_stop" and stops.loc["C", "kind"] == "bus_stop"
    assert stops.loc["D", "kind"] == "stop"


def test_window_and_weekday_select_the_departures(tmp_path):
    feed = gtfs_zip(tmp_path / "feed.zip")
    assert read(feed, window="07:00-08:00").loc["A", "departures"] == 6
    assert read(feed, weekday="saturday").loc["A", "departures"] == 1


def test_a_feed_without_a_calendar_counts_every_trip(tmp_path):
    stops = read(gtfs_zip(tmp_path / "feed.zip", calendar=""))
    assert stops.loc["A", "departures"] == 13


@pytest.mark.parametrize(
    "override, message",
    [
        ({"stops": ""}, "the GTFS feed has no stops.txt"),
        ({"routes": "route_id\nT2\n"}, "routes.txt has no column(s) route_type"),
        ({"stops": "stop_id,stop_name,stop_lat,stop_lon\nA,x,north,24.9\n"}, "line 2 has no valid"),
        ({"stop_times": "trip_id,stop_id,departure_time\nt0,A,7h\n"}, "bad time '7h'"),
    ],
)
def test_broken_feeds_are_refused_by_name(tmp_path, override, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read(gtfs_zip(tmp_path / "feed.zip", **override))


@pytest.mark.parametrize(
    "options, message",
    [({"window": "9-7"}, "HH:MM-HH:MM"), ({"window": "09:00-07:00"}, "after the start"),
     ({"weekday": "funday"}, "weekday"), ({"colour": "red"}, "unknown option")],
)  # fmt: skip
def test_bad_options_are_refused(tmp_path, options, message):
    with pytest.raises(SpecError, match=message):
        read(gtfs_zip(tmp_path / "feed.zip"), **options)
