"""GTFS schedules (a `.zip` feed or a folder of `.txt` files) as a stops dataset: one point per
stop with how often something leaves it in a time window of a chosen weekday, so a traffic model
can use real headways.

Per stop: `stop_id`, `name`, `kind` (the mode of most departures: tram_stop, station, bus_stop,
ferry, ...), `departures` in the window and `headway_min` = window minutes / departures (every
route together; empty when nothing leaves). GTFS coordinates are WGS 84 by definition. Options:
`window` ("07:00-09:00"), `weekday` ("tuesday"; services from calendar.txt, or every trip when
the feed has none).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from opendata.errors import SourceError, SpecError
from opendata.readers import check_options

OPTIONS = {"window": str, "weekday": str}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: GTFS route_type (basic and extended) to the stop kind the twin knows.
KINDS = {0: "tram_stop", 1: "station", 2: "station", 3: "bus_stop", 4: "ferry", 5: "tram_stop",
         7: "station", 11: "bus_stop", 12: "station"}  # fmt: skip
EXTENDED = ((100, "station"), (400, "station"), (700, "bus_stop"), (900, "tram_stop"),
            (1000, "ferry"), (1200, "ferry"))  # fmt: skip
WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _kind(route_type: int) -> str:
    if route_type in KINDS:
        return KINDS[route_type]
    for start, kind in EXTENDED:
        if start <= route_type < start + 100:
            return kind
    return "stop"


def _window(text: str) -> tuple[int, int]:
    match = WINDOW.match(text.strip())
    if not match:
        raise SpecError(f"source.options.window: expected HH:MM-HH:MM, got {text!r}")
    h0, m0, h1, m1 = map(int, match.groups())
    start, end = (h0 * 60 + m0) * 60, (h1 * 60 + m1) * 60
    if not 0 <= start < end <= 48 * 3600:
        raise SpecError(f"source.options.window: the end must come after the start, got {text!r}")
    return start, end


class _Feed:
    """The feed's text files, from a zip or a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None
        names = self.zip.namelist() if self.zip else [p.name for p in path.iterdir()]
        self.names = {Path(n).name: n for n in names}

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str, columns: list[str]) -> pd.DataFrame:
        if name not in self.names:
            raise SourceError(f"{self.path.name}: the GTFS feed has no {name}")
        raw = self.zip.read(self.names[name]) if self.zip else (self.path / name).read_bytes()
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, encoding="utf-8-sig", keep_default_na=False)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SourceError(f"{self.path.name}: {name} has no column(s) {', '.join(missing)}")
        return frame


def _seconds(times: pd.Series, feed: str) -> np.ndarray:
    """HH:MM:SS (hours may pass 24) as seconds after midnight; NaN where empty."""
    parts = times.str.strip().str.extract(r"^(\d{1,2}):(\d{2}):(\d{2})$").astype(float)
    bad = parts.isna().any(axis=1) & (times.str.strip() != "")
    if bad.any():
        raise SourceError(f"{feed}: stop_times.txt has a bad time {times[bad].iloc[0]!r}")
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def _running_trips(feed: _Feed, weekday: str) -> pd.DataFrame:
    """Trips (trip_id, route_type) whose service runs on `weekday` (all if no calendar.txt)."""
    trips = feed.read("trips.txt", ["trip_id", "route_id", "service_id"])
    routes = feed.read("routes.txt", ["route_id", "route_type"])
    types = pd.to_numeric(routes["route_type"], errors="coerce").fillna(3).astype(int)
    trips = trips.merge(routes.assign(route_type=types)[["route_id", "route_type"]], how="left")
    if feed.has("calendar.txt"):
        calendar = feed.read("calendar.txt", ["service_id", weekday])
        running = set(calendar.loc[calendar[weekday].str.strip() == "1", "service_id"])
        trips = trips[trips["service_id"].isin(running)]
    return trips[["trip_id", "route_type"]].fillna({"route_type": 3})


def read_gtfs(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Stops of a GTFS feed with their departures and headway in the window (EPSG:4326)."""
    check_options(options, OPTIONS)
    start, end = _window(options.get("window", "07:00-09:00"))
    weekday = options.get("weekday", "tuesday").lower()
    if weekday not in WEEKDAYS:
        raise SpecError(f"source.options.weekday: expected one of {', '.join(WEEKDAYS)}")
    if crs not in (None, "EPSG:4326"):
        raise SpecError("source.crs: GTFS coordinates are always EPSG:4326 (WGS 84)")
    feed = _Feed(path)
    stops = feed.read("stops.txt", ["stop_id", "stop_name", "stop_lat", "stop_lon"])
    times = feed.read("stop_times.txt", ["trip_id", "stop_id", "departure_time"])
    times = times.assign(t=_seconds(times["departure_time"], path.name))
    times = times[(times["t"] >= start) & (times["t"] < end)]
    times = times.merge(_running_trips(feed, weekday), on="trip_id")
    counts = times.groupby("stop_id").size()
    kinds = times.groupby("stop_id")["route_type"].agg(lambda s: int(s.mode().iloc[0]))
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce")
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce")
    if lon.isna().any() or lat.isna().any():
        row = int(np.flatnonzero((lon.isna() | lat.isna()).to_numpy())[0]) + 2
        raise SourceError(f"{path.name}: stops.txt line {row} has no valid stop_lat/stop_lon")
    departures = stops["stop_id"].map(counts).fillna(0).astype(int)
    minutes = (end - start) / 60
    return gpd.GeoDataFrame(
        {
            "stop_id": stops["stop_id"],
            "name": stops["stop_name"],
            "kind": stops["stop_id"].map(kinds).map(_kind, na_action="ignore").fillna("stop"),
            "departures": departures,
            "headway_min": np.where(departures > 0, minutes / departures.clip(lower=1), np.nan),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
