"""Volume-delay functions: a registry from name to vectorised (cost, derivative, integral)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.traffic.network import Network

Array = np.ndarray


@dataclass(frozen=True)
class VDF:
    """A volume-delay function: travel time, its derivative and its integral over flow."""

    time: Callable[[Array, Network], Array]
    derivative: Callable[[Array, Network], Array]
    integral: Callable[[Array, Network], Array]


def _ratio(flow: Array, net: Network) -> Array:
    """v/c, zero where the link has no capacity (such links must have b = 0)."""
    cap = net.capacity
    return np.divide(flow, cap, out=np.zeros_like(flow, dtype=np.float64), where=cap > 0)


def bpr_time(flow: Array, net: Network) -> Array:
    """BPR: t0 * (1 + b * (v/c)^power)."""
    return net.free_flow_time * (1.0 + net.b * _ratio(flow, net) ** net.power)


def bpr_derivative(flow: Array, net: Network) -> Array:
    """d time / d flow of the BPR function (0 at zero flow for power > 1)."""
    ratio = _ratio(flow, net)
    powm1 = np.power(ratio, net.power - 1.0, where=ratio > 0, out=np.zeros_like(ratio))
    powm1[net.power == 1.0] = 1.0
    cap = np.where(net.capacity > 0, net.capacity, 1.0)
    return net.free_flow_time * net.b * net.power * powm1 / cap


def bpr_integral(flow: Array, net: Network) -> Array:
    """Integral of the BPR time from 0 to `flow`, the link's Beckmann term."""
    ratio = _ratio(flow, net)
    extra = net.b * net.capacity * ratio ** (net.power + 1.0) / (net.power + 1.0)
    return net.free_flow_time * (flow + extra)


VDFS: dict[str, VDF] = {"bpr": VDF(bpr_time, bpr_derivative, bpr_integral)}


def get_vdf(name: str) -> VDF:
    """Look up a registered VDF by name."""
    return VDFS[name]


def register_vdf(name: str, vdf: VDF) -> None:
    """Register a VDF under a new name (built-ins use the same registry)."""
    if name in VDFS:
        raise ValueError(f"a VDF named {name!r} is already registered")
    VDFS[name] = vdf


def generalised_cost(time: Array, net: Network) -> Array:
    """Generalised cost = time + toll_factor * toll + distance_factor * length."""
    return time + net.fixed_cost()


def cost_and_derivative(flow: Array, net: Network, vdf: str = "bpr") -> tuple[Array, Array]:
    """Generalised link cost and its derivative at `flow`."""
    fn = VDFS[vdf]
    return generalised_cost(fn.time(flow, net), net), fn.derivative(flow, net)


def beckmann(flow: Array, net: Network, vdf: str = "bpr") -> float:
    """Beckmann objective: sum over links of the integral of the generalised cost."""
    return float(np.sum(VDFS[vdf].integral(flow, net) + net.fixed_cost() * flow))
