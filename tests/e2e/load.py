"""Load a running install with N concurrent clients for a while, on a mix of what its users ask
for: OGC items pages, bbox queries, single items, deep pages, file ranges, SQL and web pages.

An asyncio client (aiohttp) rather than wrk: each client connects from its own loopback address
(127.0.0.2, .3, ...), so the per-address rate limiter sees N users, not one, and stays on as
installed; each answer's status and latency are kept per kind of request, 429 answers are counted
apart and honoured (the client waits Retry-After), and Range headers and POSTs are plain Python.
The gunicorn workers' memory (RSS) is sampled every second."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

import aiohttp
import psutil

from tests.e2e.openapi_urls import Facts

BBOXES = (
    "24.940,60.168,24.949,60.1725", "24.935,60.164,24.953,60.179", "24.945,60.170,24.947,60.172",
)  # fmt: skip
SQL = (
    "SELECT highway, count(*) AS n FROM roads GROUP BY highway ORDER BY n DESC",
    "SELECT name, levels FROM buildings WHERE levels > 4 ORDER BY levels DESC LIMIT 20",
)  # fmt: skip


@dataclass(frozen=True)
class Ask:
    """One request of the mix: its kind (for the figures), path and headers."""

    kind: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()


def request_mix(facts: Facts) -> list[Ask]:
    """The rotation every client walks through (each starting at its own place)."""
    spatial = ("buildings", "roads", "stops", "services", "green_areas")
    asks = [Ask("items", f"/collections/{c}/items?limit=50&f=json") for c in spatial]
    asks += [Ask("bbox", f"/collections/buildings/items?bbox={b}&limit=100") for b in BBOXES]
    asks += [
        Ask("item", f"/collections/{c}/items/{facts.first_id[c]}?f=json")
        for c in spatial
        if c in facts.first_id
    ]
    deep = max(facts.matched.get("roads", 20) - 20, 0)
    asks.append(Ask("deep page", f"/collections/roads/items?offset={deep}&limit=10&f=json"))
    version = facts.versions.get("roads", 1)
    file = f"/datasets/roads/versions/{version}/roads.parquet"
    asks += [Ask("file range", file, (("Range", r),)) for r in ("bytes=0-65535", "bytes=-8192")]
    asks += [Ask("sql", f"/api/sql?sql={quote(q)}") for q in SQL]
    pages = ("/", "/datasets", "/datasets/roads", "/map?layers=stops", "/scenarios/centre_30kmh")
    asks += [Ask("page", p) for p in pages]
    return asks


@dataclass
class LoadResult:
    """What the clients saw and what the workers' memory did."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    throttled: int = 0
    rss_mib: list[float] = field(default_factory=list)

    @property
    def answered(self) -> int:
        """Answers other than 429."""
        return sum(len(v) for v in self.latencies.values())

    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, kind: str | None = None) -> float:
        """Latency percentile in ms (all kinds, or one)."""
        values = self.latencies[kind] if kind else [v for vs in self.latencies.values() for v in vs]
        if len(values) < 2:
            return values[0] if values else float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]

    def memory_drift(self, window: int = 10) -> float:
        """Mean RSS of the last `window` samples over that of the first `window`, minus 1."""
        if len(self.rss_mib) < 2 * window:
            return float("nan")
        first = statistics.mean(self.rss_mib[:window])
        return statistics.mean(self.rss_mib[-window:]) / first - 1


async def _client(
    index: int, clients: int, base: str, asks: list[Ask], until: float, result: LoadResult | None
) -> None:
    """One user: its own source address, walking the mix from its own starting point (the
    clients' starting points spread evenly over the mix)."""
    connector = aiohttp.TCPConnector(local_addr=(f"127.0.0.{2 + index % 250}", 0), limit=1)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        step = index * len(asks) // clients
        while time.monotonic() < until:
            ask = asks[step % len(asks)]
            step += 1
            await _one(session, base, ask, result)


async def _one(
    session: aiohttp.ClientSession, base: str, ask: Ask, result: LoadResult | None
) -> None:
    started = time.monotonic()
    try:
        async with session.get(base + ask.path, headers=dict(ask.headers)) as resp:
            body = await resp.read()
            status, wait = resp.status, resp.headers.get("Retry-After", "1")
    except (TimeoutError, aiohttp.ClientError) as err:
        if result is not None:
            result.errors.append(f"{ask.kind} {ask.path}: {type(err).__name__} {err}"[:200])
        return
    elapsed = (time.monotonic() - started) * 1000
    if result is None:  # warming up
        return
    result.statuses[status] += 1
    if status == 429:
        result.throttled += 1
        await asyncio.sleep(float(wait))
    elif status >= 400:
        detail = body[:160].decode("utf-8", "replace")
        result.errors.append(f"{ask.kind} {ask.path}: {status} {detail}")
    else:
        result.latencies[ask.kind].append(elapsed)


async def _sample_rss(worker_pids, until: float, result: LoadResult) -> None:
    """Sum of the web workers' RSS in MiB, once a second (workers found afresh each time)."""
    while time.monotonic() < until:
        total = 0
        for pid in worker_pids():
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.Error:  # a worker restarting between listing and reading
                continue
        result.rss_mib.append(total / 2**20)
        await asyncio.sleep(1.0)


async def _run(base, asks, clients, seconds, warmup, worker_pids) -> LoadResult:
    result = LoadResult()
    warm_until = time.monotonic() + warmup
    await asyncio.gather(
        *(_client(i, clients, base, asks, warm_until, None) for i in range(clients))
    )
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        _sample_rss(worker_pids, until, result),
        *(_client(i, clients, base, asks, until, result) for i in range(clients)),
    )
    result.seconds = time.monotonic() - started
    return result


def server_time(access_log: str, asks: list[Ask]) -> dict[str, tuple[int, float]]:
    """Requests and worker milliseconds per kind, from `civic serve`'s JSON access lines,
    counting only the load clients (127.0.0.2 and up; warm-up included): where the workers'
    time went."""
    kinds = {unquote(ask.path): ask.kind for ask in asks}  # the client may re-encode a URL
    spent: dict[str, list[float]] = defaultdict(list)
    for line in access_log.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        target = unquote(entry.get("target", ""))
        if entry.get("logger") == "civic.access" and entry.get("client") != "127.0.0.1":
            if entry.get("method") == "GET" and target in kinds:
                spent[kinds[target]].append(float(entry["ms"]))
    return {kind: (len(ms), sum(ms)) for kind, ms in spent.items()}


def run_load(
    base: str, asks: list[Ask], *, clients: int, seconds: float, warmup: float, worker_pids
) -> LoadResult:
    """`clients` users for `seconds` (after `warmup` seconds not counted); `worker_pids()` lists
    the processes whose memory is sampled. The loop runs in a thread of its own: a caller may
    already have one running (Playwright's sync API keeps one in pytest's main thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ran = pool.submit(asyncio.run, _run(base, asks, clients, seconds, warmup, worker_pids))
        return ran.result()
