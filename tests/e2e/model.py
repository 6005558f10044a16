"""What the crawler plans and finds: a link to fetch (with who advertised it and what it claims),
a failure (with the page that linked it), and the crawl's whole result."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

#: Paths of the citizens' website: their answers depend on the interface language.
SITE_PAGE = re.compile(r"^/(?:datasets(?:/[^/]+)?|map|scenarios(?:/[^/]+)?|sql|language)?/?$")


@dataclass(frozen=True)
class Link:
    """One request to make: an absolute URL, the page that advertised it (`referrer`), the kind
    of advertiser (`source`: site, ogc, ckan, dcat, api, openapi, language), the media types the
    advertisement allows (empty: any), the Accept header a client following it would send, the
    language crawl it belongs to (site pages only), extra headers and a claimed size."""

    url: str
    referrer: str
    source: str
    claimed: tuple[str, ...] = ()
    accept: str = "*/*"
    lang: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    size: int | None = None

    @property
    def key(self) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
        """Requests with the same key get the same answer; each is made once. Query parameters
        count in any order, and an explicit `f` overrides Accept (as the API documents)."""
        url, pairs = canonical(self.url)
        accept = "" if any(k == "f" for k, _ in pairs) else self.accept
        return (self.lang, url, accept, self.headers)


def canonical(url: str) -> tuple[str, list[tuple[str, str]]]:
    """A URL with its query parameters sorted, and those parameters."""
    parts = urlsplit(url)
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = "?" + urlencode(pairs) if pairs else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{query}", pairs


@dataclass(frozen=True)
class Failure:
    """A link that did not hold: what was asked, what came back, who advertised it and why."""

    url: str
    status: int
    media: str
    referrer: str
    source: str
    kind: str  # status, media, language, rows, format, size, range, openapi, fetch
    detail: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        """Failures with the same key are one finding, whichever page linked it."""
        return (self.source, self.url, self.kind, self.status)

    def line(self, more: int = 0) -> str:
        """One line for a report: status, media type, URL, cause and the linking page."""
        also = f" (and {more} more linking pages)" if more else ""
        return (
            f"{self.status} {self.media or '-'} {self.url} [{self.kind}: {self.detail}] "
            f"<- {self.referrer}{also}"
        )


@dataclass
class CrawlResult:
    """Everything a crawl saw: requests made, failures, external links (listed, not fetched),
    links left out by the bounds, and time spent waiting on 429 answers."""

    requests: int = 0
    failures: list[Failure] = field(default_factory=list)
    external: dict[str, str] = field(default_factory=dict)
    bounded: dict[str, str] = field(default_factory=dict)
    not_exercised: list[str] = field(default_factory=list)
    throttled: int = 0
    throttled_s: float = 0.0
    seconds: float = 0.0
    by_source: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    downloads_checked: int = 0
    #: How many more linking pages each failure (by key) had beyond the first one recorded.
    repeats: dict[tuple, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, failures: list[Failure]) -> None:
        """Record failures, one per finding; a finding linked again only counts the page."""
        for failure in failures:
            if failure.key in self.repeats:
                self.repeats[failure.key] += 1
            else:
                self.repeats[failure.key] = 0
                self.failures.append(failure)

    def report(self, failures: list[Failure], limit: int = 60) -> str:
        """Some of this crawl's failures, grouped by cause (see `report`)."""
        return report(failures, self.repeats, limit)

    def of(self, *, sources: tuple[str, ...] = (), kinds: tuple[str, ...] = ()) -> list[Failure]:
        """Failures advertised by one of `sources` and of one of `kinds` (empty: any)."""
        return [
            f
            for f in self.failures
            if (not sources or f.source in sources) and (not kinds or f.kind in kinds)
        ]


def family(url: str, media: str) -> str:
    """Which part of the product a response belongs to, naming the links it advertises."""
    path = urlsplit(url).path
    if path.startswith(("/api/3/action/", "/api/action/")):
        return "ckan"
    if path.startswith("/dcat/"):
        return "dcat"
    if path.startswith(("/collections", "/conformance", "/openapi")):
        return "ogc"
    if path == "/" and "html" not in media:
        return "ogc"
    if path.startswith("/api/"):
        return "api"
    return "site"


def report(failures: list[Failure], repeats: dict[tuple, int], limit: int = 60) -> str:
    """Failures grouped by cause, one line each, for an assertion message."""
    groups: dict[str, list[Failure]] = defaultdict(list)
    for failure in failures:
        groups[f"{failure.kind}: {failure.status} {failure.media}"].append(failure)
    lines = [f"{len(failures)} failing links"]
    for cause, items in sorted(groups.items()):
        lines.append(f"== {cause} ({len(items)})")
        lines += ["  " + f.line(repeats.get(f.key, 0)) for f in items[:limit]]
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more")
    return "\n".join(lines)
