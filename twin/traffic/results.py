"""Assignment results: link arrays, totals, OD skims and the results table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.traffic.errors import TrafficError
from twin.traffic.network import Network
from twin.traffic.paths import skim
from twin.traffic.vdf import VDFS, beckmann

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    """Equilibrium link flows and what follows from them."""

    network: Network
    demand: np.ndarray
    flow: np.ndarray
    time: np.ndarray
    cost: np.ndarray
    voc: np.ndarray
    tstt: float
    objective: float
    iterations: int
    gaps: np.ndarray
    converged: bool
    unassigned: float
    algorithm: str

    @property
    def gap(self) -> float:
        """Relative gap at the final iteration."""
        return float(self.gaps[-1]) if self.gaps.size else float("nan")

    def skim(self) -> dict[str, np.ndarray]:
        """Zone x zone time, distance and cost along the final shortest-cost paths."""
        net = self.network
        fields = {"time": self.time, "distance": net.length, "cost": self.cost}
        return skim(net, self.cost, fields)

    def link_table(self) -> pd.DataFrame:
        """One row per link: from, to, flow, time, cost, voc (and source_id)."""
        import pandas as pd  # imported here: an assignment alone should not pay ~70 MB for pandas

        net = self.network
        return pd.DataFrame(
            {
                "from": net.from_id,
                "to": net.to_id,
                "flow": self.flow,
                "time": self.time,
                "cost": self.cost,
                "voc": self.voc,
                "source_id": net.source_id,
            }
        )


def write_results(result: AssignmentResult, path: str | Path) -> Path:
    """Write the link table as CSV or Parquet, chosen by the file suffix."""
    path = Path(path)
    table = result.link_table()
    if path.suffix.lower() == ".csv":
        table.to_csv(path, index=False)
    elif path.suffix.lower() == ".parquet":
        table.to_parquet(path, index=False)
    else:
        raise TrafficError(f"{path}: results must be written as .csv or .parquet")
    return path


def build_result(
    net: Network,
    demand: np.ndarray,
    x: np.ndarray,
    gaps: list[float],
    target_gap: float,
    unassigned: float,
    algorithm: str,
    vdf: str,
) -> AssignmentResult:
    """Derive times, costs, totals and the objective from final link flows."""
    travel = VDFS[vdf].time(x, net)
    voc = np.divide(x, net.capacity, out=np.zeros_like(x), where=net.capacity > 0)
    return AssignmentResult(
        network=net,
        demand=demand,
        flow=x,
        time=travel,
        cost=travel + net.fixed_cost(),
        voc=voc,
        tstt=float(travel @ x),
        objective=beckmann(x, net, vdf),
        iterations=len(gaps),
        gaps=np.array(gaps),
        converged=bool(gaps and gaps[-1] <= target_gap),
        unassigned=float(unassigned),
        algorithm=algorithm,
    )


@dataclass(frozen=True)
class Progress:
    """One iteration's report, passed to the callback."""

    iteration: int
    gap: float  # relative gap of the current flows
    step: float  # step length that led to the current flows
    elapsed: float  # seconds since `assign` started
    direction: str  # rule of that step: "fw", "cfw" or "bfw"
