"""Read and write the TNTP formats (`_net`, `_trips`, `_flow`, `_node`) of the Transportation
Networks for Research collection: metadata tags, `~` comments, `;` terminators, any whitespace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.traffic.errors import NetworkFormatError
from twin.traffic.network import Network, build_network

NET_COLUMNS = (
    "init_node",
    "term_node",
    "capacity",
    "length",
    "free_flow_time",
    "b",
    "power",
    "speed",
    "toll",
    "link_type",
)
_TAG = re.compile(r"^<([^>]+)>\s*(.*)$")
_PAIR = re.compile(r"^\s*([^:;\s]+)\s*:\s*([^:;\s]+)\s*$")


@dataclass(frozen=True)
class LinkFlows:
    """Link volumes (and costs) as published in a `_flow.tntp` file, keyed by node ids."""

    from_id: np.ndarray
    to_id: np.ndarray
    volume: np.ndarray
    cost: np.ndarray


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for every line of a file, failing with a named error."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise NetworkFormatError(path, None, f"cannot read file ({err.strerror})") from None
    yield from enumerate(text.splitlines(), start=1)


def _metadata(path: Path) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """Split a TNTP file into its metadata tags and the remaining (number, line) body."""
    meta: dict[str, str] = {}
    lines = list(_lines(path))
    for pos, (number, line) in enumerate(lines):
        match = _TAG.match(line.strip())
        if match is None:
            if line.strip():
                raise NetworkFormatError(path, number, "expected a <TAG> metadata line")
            continue
        tag = match.group(1).strip().upper()
        if tag == "END OF METADATA":
            return meta, lines[pos + 1 :]
        meta[tag] = match.group(2).strip()
    raise NetworkFormatError(path, None, "missing <END OF METADATA>")


def _meta_number(path: Path, meta: dict[str, str], tag: str, kind: type = int) -> float:
    if tag not in meta:
        raise NetworkFormatError(path, None, f"missing metadata <{tag}>")
    try:
        return kind(float(meta[tag])) if kind is int else kind(meta[tag])
    except ValueError:
        raise NetworkFormatError(path, None, f"<{tag}> is not a number: {meta[tag]!r}") from None


def _data_rows(body: list[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) for data lines, dropping comments and `;` terminators."""
    for number, line in body:
        text = line.split("~", 1)[0].replace(";", " ").split()
        if text:
            yield number, text


def _floats(path: Path, number: int, fields: list[str], names: tuple[str, ...]) -> list[float]:
    try:
        return [float(f) for f in fields]
    except ValueError:
        bad = next(i for i, f in enumerate(fields) if not _is_number(f))
        reason = f"column {names[bad]!r} is not a number: {fields[bad]!r}"
        raise NetworkFormatError(path, number, reason) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_net(
    path: str | Path, *, toll_factor: float = 0.0, distance_factor: float = 0.0
) -> Network:
    """Read a `_net.tntp` file: node ids 1..<NUMBER OF NODES>, zones 1..<NUMBER OF ZONES>."""
    path = Path(path)
    meta, body = _metadata(path)
    zones = int(_meta_number(path, meta, "NUMBER OF ZONES"))
    nodes = int(_meta_number(path, meta, "NUMBER OF NODES"))
    first_thru = int(_meta_number(path, meta, "FIRST THRU NODE"))
    declared = int(_meta_number(path, meta, "NUMBER OF LINKS"))
    rows, last = [], 0
    for number, fields in _data_rows(body):
        if len(fields) != len(NET_COLUMNS):
            reason = f"expected {len(NET_COLUMNS)} columns, found {len(fields)}"
            raise NetworkFormatError(path, number, reason)
        rows.append(_floats(path, number, fields, NET_COLUMNS))
        last = number
    if len(rows) != declared:
        reason = f"<NUMBER OF LINKS> is {declared} but {len(rows)} links were read (truncated?)"
        raise NetworkFormatError(path, last or None, reason)
    data = np.array(rows, dtype=np.float64).reshape(-1, len(NET_COLUMNS))
    ends = data[:, :2].astype(np.int64)
    if ends.size and (ends.min() < 1 or ends.max() > nodes):
        row = int(np.flatnonzero((ends < 1).any(axis=1) | (ends > nodes).any(axis=1))[0])
        reason = f"node id outside 1..{nodes} (<NUMBER OF NODES>)"
        raise NetworkFormatError(path, _line_of_row(body, row), reason)
    cols = {name: data[:, i] for i, name in enumerate(NET_COLUMNS[2:], start=2)}
    return build_network(
        np.arange(1, nodes + 1),
        ends[:, 0],
        ends[:, 1],
        zones=zones,
        first_thru_index=max(first_thru - 1, 0),
        toll_factor=toll_factor,
        distance_factor=distance_factor,
        name=path.name.removesuffix("_net.tntp"),
        **cols,
    )


def _line_of_row(body: list[tuple[int, str]], row: int) -> int:
    return [number for number, _ in _data_rows(body)][row]


def read_trips(path: str | Path) -> np.ndarray:
    """Read a `_trips.tntp` file into a dense zones x zones matrix (zone ids 1..Z)."""
    path = Path(path)
    meta, body = _metadata(path)
    zones = int(_meta_number(path, meta, "NUMBER OF ZONES"))
    matrix = np.zeros((zones, zones), dtype=np.float64)
    origin = None
    for number, line in body:
        text = line.split("~", 1)[0].strip()
        if not text:
            continue
        if text.lower().startswith("origin"):
            origin = _zone(path, number, text[6:].strip(), zones)
            continue
        if origin is None:
            raise NetworkFormatError(path, number, "destination values before any 'Origin' line")
        for pair in filter(str.strip, text.split(";")):
            match = _PAIR.match(pair)
            if match is None:
                raise NetworkFormatError(path, number, f"expected 'zone : trips', got {pair!r}")
            dest = _zone(path, number, match.group(1), zones)
            matrix[origin - 1, dest - 1] += _trip_value(path, number, match.group(2))
    _check_total(path, meta, matrix)
    return matrix


def _zone(path: Path, number: int, text: str, zones: int) -> int:
    if not text.isdigit() or not 1 <= int(text) <= zones:
        raise NetworkFormatError(path, number, f"zone {text!r} is not in 1..{zones}")
    return int(text)


def _trip_value(path: Path, number: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NetworkFormatError(path, number, f"trips value is not a number: {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise NetworkFormatError(path, number, f"trips value must be >= 0, got {text!r}")
    return value


def _check_total(path: Path, meta: dict[str, str], matrix: np.ndarray) -> None:
    """A declared <TOTAL OD FLOW> that the values miss by > 0.1% means a truncated file."""
    if "TOTAL OD FLOW" not in meta:
        return
    declared = float(_meta_number(path, meta, "TOTAL OD FLOW", float))
    total = float(matrix.sum())
    if abs(total - declared) > 1e-3 * max(abs(declared), 1.0):
        reason = f"<TOTAL OD FLOW> is {declared:g} but the values add up to {total:g} (truncated?)"
        raise NetworkFormatError(path, None, reason)


def read_flow(path: str | Path) -> LinkFlows:
    """Read a `_flow.tntp` best-known solution: from, to, volume and cost per link."""
    path = Path(path)
    rows = []
    for number, fields in _data_rows(list(_lines(path))):
        if not _is_number(fields[0]):
            continue  # the "From To Volume Cost" header
        if len(fields) < 3:
            raise NetworkFormatError(path, number, f"expected 4 columns, found {len(fields)}")
        names = ("from", "to", "volume", "cost")
        values = _floats(path, number, fields[:4], names)
        rows.append(values + [np.nan] * (4 - len(values)))
    data = np.array(rows, dtype=np.float64).reshape(-1, 4)
    ids = data[:, :2].astype(np.int64)
    return LinkFlows(ids[:, 0], ids[:, 1], data[:, 2], data[:, 3])


def read_nodes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a `_node.tntp` file; return node ids and an (n, 2) array of x, y coordinates."""
    path = Path(path)
    rows = []
    for number, fields in _data_rows(list(_lines(path))):
        if not _is_number(fields[0]):
            continue
        if len(fields) < 3:
            raise NetworkFormatError(path, number, f"expected 3 columns, found {len(fields)}")
        rows.append(_floats(path, number, fields[:3], ("node", "x", "y")))
    data = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return data[:, 0].astype(np.int64), data[:, 1:]


def write_net(net: Network, path: str | Path) -> None:
    """Write a network as `_net.tntp`; node ids must be 1..n with zones first (TNTP's rule)."""
    if not np.array_equal(net.node_ids, np.arange(1, net.n_nodes + 1)):
        raise NetworkFormatError(path, None, "TNTP needs node ids 1..n in order; renumber first")
    head = [
        f"<NUMBER OF ZONES> {net.zones}",
        f"<NUMBER OF NODES> {net.n_nodes}",
        f"<FIRST THRU NODE> {net.first_thru_index + 1}",
        f"<NUMBER OF LINKS> {net.n_links}",
        "<END OF METADATA>",
        "",
        "~\t" + "\t".join(NET_COLUMNS) + "\t;",
    ]
    cols = [net.from_id, net.to_id, net.capacity, net.length, net.free_flow_time]
    cols += [net.b, net.power, net.speed, net.toll, net.link_type]
    body = ["\t" + "\t".join(_fmt(v) for v in row) + "\t;" for row in zip(*cols, strict=True)]
    Path(path).write_text("\n".join(head + body) + "\n", encoding="utf-8")


def write_trips(matrix: np.ndarray, path: str | Path) -> None:
    """Write a zones x zones matrix as `_trips.tntp` (zero cells are left out)."""
    zones = matrix.shape[0]
    total = float(matrix.sum())
    out = [f"<NUMBER OF ZONES> {zones}", f"<TOTAL OD FLOW> {total!r}", "<END OF METADATA>"]
    for o in range(zones):
        out.append(f"\nOrigin {o + 1}")
        dests = np.flatnonzero(matrix[o])
        out += [f"{d + 1} : {float(matrix[o, d])!r};" for d in dests]
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def write_flow(flows: LinkFlows, path: str | Path) -> None:
    """Write link volumes and costs in the `_flow.tntp` layout."""
    rows = ["From\tTo\tVolume\tCost"]
    cols = (flows.from_id, flows.to_id, flows.volume, flows.cost)
    rows += ["\t".join(_fmt(v) for v in row) for row in zip(*cols, strict=True)]
    Path(path).write_text("\n".join(rows) + "\n", encoding="utf-8")


def _fmt(value: object) -> str:
    if isinstance(value, np.integer | int):
        return str(int(value))
    return repr(float(value))


def read_cost_weights(readme: str | Path) -> tuple[float, float]:
    """Toll and distance weights of the generalised cost from a TNTP README (0 if absent)."""
    path = Path(readme)
    if not path.is_file():
        return 0.0, 0.0
    text = path.read_text(encoding="utf-8", errors="replace")
    section = re.search(r"#+\s*Generali[sz]ed Cost Weights(.*?)(?:\n#|\Z)", text, re.S | re.I)
    if section is None:
        return 0.0, 0.0
    return _weight(section.group(1), "Toll"), _weight(section.group(1), "Distance")


def _weight(section: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s*:\s*([-+0-9.eE]+)", section, re.M | re.I)
    return float(match.group(1)) if match else 0.0


@dataclass(frozen=True)
class TntpCase:
    """A TNTP folder: the network, its demand, and the optional best-known flows and nodes."""

    network: Network
    demand: np.ndarray
    best_flows: LinkFlows | None
    node_xy: tuple[np.ndarray, np.ndarray] | None


def read_folder(folder: str | Path) -> TntpCase:
    """Read `*_net.tntp`, `*_trips.tntp` and, if present, `*_flow.tntp`, `*_node.tntp`, README."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NetworkFormatError(folder, None, "not a folder of TNTP files")
    toll, distance = read_cost_weights(folder / "README.md")
    net = read_net(_one(folder, "_net.tntp"), toll_factor=toll, distance_factor=distance)
    demand = read_trips(_one(folder, "_trips.tntp"))
    if demand.shape[0] != net.zones:
        raise NetworkFormatError(folder, None, "trips and net files disagree on the zone count")
    flow = _one(folder, "_flow.tntp", required=False)
    node = _one(folder, "_node.tntp", required=False)
    return TntpCase(
        net, demand, read_flow(flow) if flow else None, read_nodes(node) if node else None
    )


def _one(folder: Path, suffix: str, *, required: bool = True) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.lower().endswith(suffix))
    if len(found) > 1:
        raise NetworkFormatError(folder, None, f"several *{suffix} files; keep one")
    if not found and required:
        raise NetworkFormatError(folder, None, f"no *{suffix} file")
    return found[0] if found else None
