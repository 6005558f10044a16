"""Road-traffic CO2 and NOx per link from flow x length x a speed-dependent emission factor.

The factor curves (g/km per vehicle, COPERT-style rational functions of speed in km/h) live in
`twin/data/emission_factors.csv` with their source; this module only evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.data import load_table

POLLUTANTS = ("CO2", "NOx")
VEHICLE_CLASSES = ("passenger_car", "heavy_vehicle")


@dataclass(frozen=True)
class Curve:
    """EF(v) = (a + c v + e v^2) / (1 + b v + d v^2) in g/km, speeds clipped to [v_min, v_max]."""

    a: float
    b: float
    c: float
    d: float
    e: float
    v_min: float
    v_max: float

    def __call__(self, speed_kmh: np.ndarray) -> np.ndarray:
        v = np.clip(np.asarray(speed_kmh, dtype=float), self.v_min, self.v_max)
        return (self.a + self.c * v + self.e * v * v) / (1.0 + self.b * v + self.d * v * v)


def curve(vehicle_class: str, pollutant: str) -> Curve:
    """The factor curve of one vehicle class and pollutant from the data table."""
    table = load_table("emission_factors")
    row = table[(table["vehicle_class"] == vehicle_class) & (table["pollutant"] == pollutant)]
    if len(row) != 1:
        raise KeyError(f"no emission factor for {vehicle_class}/{pollutant}")
    r = row.iloc[0]
    return Curve(*(float(r[k]) for k in ("a", "b", "c", "d", "e", "v_min", "v_max")))


def emission_factor(
    speed_kmh: np.ndarray, pollutant: str, heavy_share: np.ndarray | float = 0.0
) -> np.ndarray:
    """Fleet factor in g/km per vehicle at each speed for a given heavy-vehicle share."""
    light = curve("passenger_car", pollutant)(speed_kmh)
    heavy = curve("heavy_vehicle", pollutant)(speed_kmh)
    share = np.asarray(heavy_share, dtype=float)
    return (1.0 - share) * light + share * heavy


def link_emissions(
    flow: np.ndarray,
    length_m: np.ndarray,
    speed_kmh: np.ndarray,
    heavy_share: np.ndarray | float,
) -> dict[str, np.ndarray]:
    """Emissions per link in kg per hour of the flow period, keyed by pollutant."""
    vkm = np.asarray(flow, dtype=float) * np.asarray(length_m, dtype=float) / 1000.0
    return {p: vkm * emission_factor(speed_kmh, p, heavy_share) / 1000.0 for p in POLLUTANTS}
