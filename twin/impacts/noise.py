"""Screening-level road-traffic noise: CNOSSOS-EU source emission per link, divergence of a finite
line source, a hard-ground term and air absorption to the most exposed building facade, Lden per
building and residents exposed per 5 dB band (the END indicator).

Left out (screening only): reflections from facades, screening by buildings and barriers,
diffraction, meteorological corrections, road surface, junction, gradient and studded-tyre
corrections. Levels are therefore upper-bound-ish at exposed facades and not legally usable maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from twin.data import load_table

V_REF = 70.0  # km/h, CNOSSOS-EU reference speed
V_MIN = 20.0  # km/h, lowest speed the CNOSSOS-EU road source formulae are defined for
RECEIVER_HEIGHT = 4.0  # m, END assessment height
SOURCE_HEIGHT = 0.05  # m, CNOSSOS-EU road source line
HARD_GROUND_DB = 3.0  # homogeneous-condition ground effect over hard urban ground (G = 0)
BANDS = (
    (55.0, 60.0, "55-59"),
    (60.0, 65.0, "60-64"),
    (65.0, 70.0, "65-69"),
    (70.0, 75.0, "70-74"),
    (75.0, np.inf, ">=75"),
)


@dataclass(frozen=True)
class Coefficients:
    """CNOSSOS-EU road coefficients, (3 categories x 8 octave bands), and band corrections."""

    a_r: np.ndarray
    b_r: np.ndarray
    a_p: np.ndarray
    b_p: np.ndarray
    a_weight: np.ndarray
    air: np.ndarray  # dB per metre


def coefficients() -> Coefficients:
    """Read `cnossos_road.csv` and `octave_bands.csv`."""
    road = load_table("cnossos_road").sort_values(["category", "band_hz"])
    bands = load_table("octave_bands").sort_values("band_hz")
    grid = {k: road[k].to_numpy(dtype=float).reshape(3, 8) for k in ("a_r", "b_r", "a_p", "b_p")}
    return Coefficients(
        **grid,
        a_weight=bands["a_weighting_db"].to_numpy(dtype=float),
        air=bands["air_absorption_db_per_km"].to_numpy(dtype=float) / 1000.0,
    )


def vehicle_power(speed_kmh: np.ndarray, c: Coefficients) -> np.ndarray:
    """Sound power level of one vehicle, (links, 3 categories, 8 bands): rolling + propulsion."""
    v = np.maximum(np.asarray(speed_kmh, dtype=float), V_MIN)[:, None, None]
    rolling = c.a_r + c.b_r * np.log10(v / V_REF)
    propulsion = c.a_p + c.b_p * (v - V_REF) / V_REF
    return 10.0 * np.log10(10 ** (rolling / 10) + 10 ** (propulsion / 10))


def line_power(
    flow: np.ndarray, speed_kmh: np.ndarray, medium: np.ndarray, heavy: np.ndarray, c: Coefficients
) -> np.ndarray:
    """Sound power per metre of each link, (links, 8 bands), from hourly flow (veh/h):
    L_W' = 10 lg(sum_m 10^(L_W,m/10) Q_m / (1000 v_m)), Directive (EU) 2015/996 Annex 2.2.1."""
    v = np.maximum(np.asarray(speed_kmh, dtype=float), V_MIN)
    shares = np.column_stack([1 - medium - heavy, medium, heavy])
    q = np.asarray(flow, dtype=float)[:, None] * shares
    density = q / (1000.0 * v[:, None])  # vehicles per metre by category
    energy = np.einsum("lm,lmb->lb", density, 10 ** (vehicle_power(v, c) / 10))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(energy)


def pieces(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight pieces of each link line: start (k, 2), end (k, 2), link index (k)."""
    coords, owner = shapely.get_coordinates(geometry, return_index=True)
    same = owner[1:] == owner[:-1]
    start, end, link = coords[:-1][same], coords[1:][same], owner[:-1][same]
    keep = np.hypot(*(end - start).T) > 1e-6
    return start[keep], end[keep], link[keep]


def _pairs(buildings: np.ndarray, start: np.ndarray, end: np.ndarray, radius: float):
    """(building, piece) pairs within `radius` and the facade point nearest each piece."""
    lines = shapely.linestrings(np.stack([start, end], axis=1))
    tree = shapely.STRtree(lines)
    b, p = tree.query(buildings, predicate="dwithin", distance=radius)
    nearest = shapely.shortest_line(shapely.boundary(buildings)[b], lines[p])
    return b, p, shapely.get_coordinates(shapely.get_point(nearest, 0))


def _transfer(point: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Divergence term 10 lg(angle / (4 pi D)) of a finite incoherent line, and distance D."""
    seg = end - start
    length = np.hypot(*seg.T)
    u = seg / length[:, None]
    s1 = np.einsum("ij,ij->i", start - point, u)
    s2 = np.einsum("ij,ij->i", end - point, u)
    rel = start - point
    perp = np.abs(rel[:, 0] * u[:, 1] - rel[:, 1] * u[:, 0])
    dist = np.hypot(perp, RECEIVER_HEIGHT - SOURCE_HEIGHT)
    angle = np.arctan(s2 / dist) - np.arctan(s1 / dist)
    return 10.0 * np.log10(angle / (4.0 * np.pi * dist)), dist


def facade_levels(
    buildings: np.ndarray,
    geometry: np.ndarray,
    power: dict[str, np.ndarray],
    radius: float = 300.0,
) -> dict[str, np.ndarray]:
    """A-weighted equivalent level per building and period from each link's L_W' per band."""
    c = coefficients()
    start, end, link = pieces(geometry)
    b, p, point = _pairs(buildings, start, end, radius)
    divergence, dist = _transfer(point, start[p], end[p])
    attenuation = divergence[:, None] + HARD_GROUND_DB - c.air[None, :] * dist[:, None]
    out = {}
    for period, lw in power.items():
        energy = (10 ** ((lw[link[p]] + attenuation + c.a_weight) / 10)).sum(axis=1)
        total = np.bincount(b, weights=energy, minlength=len(buildings))
        with np.errstate(divide="ignore"):
            out[period] = 10.0 * np.log10(total)
    return out


def period_flows(peak_flow: np.ndarray, peak_hour_share: float) -> dict[str, np.ndarray]:
    """Mean hourly flow in each Lden period from the peak-hour flow (noise_periods.csv)."""
    daily = np.asarray(peak_flow, dtype=float) / peak_hour_share
    table = load_table("noise_periods")
    return {r.period: daily * r.share_of_daily / r.hours for r in table.itertuples()}


def lden(levels: dict[str, np.ndarray]) -> np.ndarray:
    """Day-evening-night level, Directive 2002/49/EC Annex I (penalties from noise_periods.csv)."""
    table = load_table("noise_periods")
    total = sum(
        r.hours * 10 ** ((levels[r.period] + r.penalty_db) / 10) for r in table.itertuples()
    )
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(total / table["hours"].sum())


def building_lden(
    buildings: np.ndarray,
    geometry: np.ndarray,
    flow: np.ndarray,
    speed_kmh: np.ndarray,
    mix: tuple[np.ndarray, np.ndarray],
    *,
    peak_hour_share: float,
    radius: float = 300.0,
) -> np.ndarray:
    """Lden at the most exposed facade of each building (-inf where no road is within radius)."""
    c = coefficients()
    use = np.asarray(flow) > 0
    power = {
        period: line_power(q[use], speed_kmh[use], mix[0][use], mix[1][use], c)
        for period, q in period_flows(flow, peak_hour_share).items()
    }
    return lden(facade_levels(buildings, geometry[use], power, radius))


def exposure(levels: np.ndarray, residents: np.ndarray) -> dict[str, float]:
    """Residents per 5 dB Lden band from 55 dB (END reporting bands)."""
    residents = np.asarray(residents, dtype=float)
    return {
        label: round(float(residents[(levels >= lo) & (levels < hi)].sum()), 1)
        for lo, hi, label in BANDS
    }
