"""GMNS `node.csv` / `link.csv` import and export (General Modeling Network Specification).

Zones are nodes with a `zone_id`; they are placed first, ordered by zone id (`write_gmns`
writes the zone's position 1..Z, so the demand matrix order survives). GMNS capacity is
per lane, so the network's total capacity is `capacity * lanes`. Travel time uses `vdf_fftt`
(minutes) when present, otherwise `60 * length / free_speed`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin.traffic.errors import NetworkFormatError
from twin.traffic.network import Network, build_network

NODE_COLUMNS = ("node_id", "x_coord", "y_coord", "zone_id")
LINK_COLUMNS = ("link_id", "from_node_id", "to_node_id", "length", "capacity")


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise NetworkFormatError(path, None, f"cannot read CSV ({err})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise NetworkFormatError(path, 1, f"missing column(s): {', '.join(missing)}")
    return table


def _numeric(table: pd.DataFrame, column: str, path: Path, default: float | None = None):
    """A numeric column; a bad cell raises with its CSV line number (header is line 1)."""
    if column not in table.columns:
        return np.full(len(table), default, dtype=np.float64)
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(np.float64)
    bad = np.isnan(values) & (table[column].notna().to_numpy() | (default is None))
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise NetworkFormatError(path, line, f"column {column!r} is not a number")
    return np.where(np.isnan(values), default if default is not None else 0.0, values)


def read_gmns(folder: str | Path, *, block_centroids: bool = True) -> Network:
    """Read `node.csv` and `link.csv`; with `block_centroids`, zones are never passed through."""
    folder = Path(folder)
    nodes = _read(folder / "node.csv", ("node_id",))
    links = _read(folder / "link.csv", LINK_COLUMNS[1:])
    node_ids = _numeric(nodes, "node_id", folder / "node.csv").astype(np.int64)
    zone = _numeric(nodes, "zone_id", folder / "node.csv", default=np.nan)
    is_zone = ~np.isnan(zone)
    order = np.concatenate(
        [np.flatnonzero(is_zone)[np.argsort(zone[is_zone])], np.flatnonzero(~is_zone)]
    )
    path = folder / "link.csv"
    lanes = _numeric(links, "lanes", path, default=1.0)
    length = _numeric(links, "length", path)
    speed = _numeric(links, "free_speed", path, default=np.nan)
    fftt = _numeric(links, "vdf_fftt", path, default=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        fftt = np.where(np.isnan(fftt), 60.0 * length / speed, fftt)
    if np.isnan(fftt).any():
        line = int(np.flatnonzero(np.isnan(fftt))[0]) + 2
        raise NetworkFormatError(path, line, "needs vdf_fftt or free_speed to get a travel time")
    zones = int(is_zone.sum())
    return build_network(
        node_ids[order],
        _numeric(links, "from_node_id", path).astype(np.int64),
        _numeric(links, "to_node_id", path).astype(np.int64),
        zones=zones,
        first_thru_index=zones if block_centroids else 0,
        name=folder.name,
        length=length,
        free_flow_time=fftt,
        capacity=_numeric(links, "capacity", path) * lanes,
        lanes=lanes,
        speed=np.nan_to_num(speed),
        b=_numeric(links, "vdf_alpha", path, default=0.15),
        power=_numeric(links, "vdf_beta", path, default=4.0),
        toll=_numeric(links, "toll", path, default=0.0),
        link_type=_numeric(links, "facility_type", path, default=1).astype(np.int64),
        source_id=_numeric(links, "link_id", path, default=-1).astype(np.int64),
    )


def write_gmns(net: Network, folder: str | Path, xy: np.ndarray | None = None) -> tuple[Path, Path]:
    """Write `node.csv` and `link.csv`; `xy` is an optional (nodes, 2) coordinate array."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    xy = np.full((net.n_nodes, 2), np.nan) if xy is None else np.asarray(xy, dtype=np.float64)
    zone_id = pd.array([*range(1, net.zones + 1)] + [None] * (net.n_nodes - net.zones), "Int64")
    nodes = pd.DataFrame(
        {"node_id": net.node_ids, "x_coord": xy[:, 0], "y_coord": xy[:, 1], "zone_id": zone_id}
    )
    lanes = np.where(net.lanes > 0, net.lanes, 1.0)
    link_id = np.where(net.source_id >= 0, net.source_id, np.arange(1, net.n_links + 1))
    links = pd.DataFrame(
        {
            "link_id": link_id,
            "from_node_id": net.from_id,
            "to_node_id": net.to_id,
            "directed": True,
            "length": net.length,
            "lanes": lanes,
            "free_speed": net.speed,
            "capacity": net.capacity / lanes,
            "facility_type": net.link_type,
            "toll": net.toll,
            "vdf_fftt": net.free_flow_time,
            "vdf_alpha": net.b,
            "vdf_beta": net.power,
        }
    )
    node_path, link_path = folder / "node.csv", folder / "link.csv"
    nodes.to_csv(node_path, index=False)
    links.to_csv(link_path, index=False)
    return node_path, link_path
