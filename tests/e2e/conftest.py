"""Session fixtures of the end-to-end suite: the default install (`make run` in a temporary
checkout, started once) and one crawl of it, shared by every test; stage times in the summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.crawler import crawl
from tests.e2e.install import Install, default_install
from tests.e2e.model import CrawlResult

#: Seconds per stage of this session, printed at the end so CI time stays visible.
TIMINGS: dict[str, float] = {}
#: Where the full crawl report of this session was written.
REPORTS: list[str] = []


@pytest.fixture(scope="session")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    """`make run` as a new user runs it, in a fresh checkout, served on a free port."""
    with default_install(tmp_path_factory.mktemp("checkout")) as served:
        TIMINGS.update(served.timings)
        yield served


@pytest.fixture(scope="session")
def crawled(install: Install) -> CrawlResult:
    """One crawl of every URL the install advertises; its full report goes to logs/crawl.txt."""
    result = crawl(install.base)
    TIMINGS["crawl"] = result.seconds
    lines = [
        f"{result.requests} requests, {result.downloads_checked} downloads opened, "
        f"{result.throttled} answers 429 ({result.throttled_s:.0f} s waited)",
        result.report(result.failures, limit=10_000),
        f"== external links, listed not fetched ({len(result.external)})",
        *(f"  {url} <- {ref}" for url, ref in result.external.items()),
        f"== left out by the bounds ({len(result.bounded)})",
        *(f"  {url} <- {ref}" for url, ref in list(result.bounded.items())[:50]),
        "== not exercised",
        *(f"  {note}" for note in result.not_exercised),
    ]
    path = install.root / "logs" / "crawl.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    REPORTS.append(str(path))
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Seconds per stage of the default install and the crawl."""
    if TIMINGS:
        terminalreporter.section("default install: seconds per stage")
        for stage, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:7.1f}  {stage}")
        for path in REPORTS:
            terminalreporter.write_line(f"full crawl report: {path}")
