"""Crawl every URL a running install advertises, as its users' clients would follow them.

Starts from the entry points README lists, the site home in each interface language (the
language chosen by `?lang=` and then carried by the cookie the site sets) and the OpenAPI
document, and follows breadth-first every link of every answer on our own host. External links
are listed, not fetched. Deterministic: a frontier is fetched in parallel but processed in
order. Bounded: items pages beyond the first few and single items beyond a few per collection
are listed as left out. 429 answers are honoured (Retry-After), never switched off."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import parse_qs, urlsplit

import requests

from tests.e2e.checks import Outcome, check_body, judge, problem_detail
from tests.e2e.extract import Found, ckan_links, dcat_links, essence, html_links, json_links
from tests.e2e.formats import DOWNLOAD
from tests.e2e.model import SITE_PAGE, CrawlResult, Failure, Link, family
from tests.e2e.openapi_urls import Facts, gather_facts, openapi_links

LANGUAGES = ("fi", "sv", "en", "da")
#: README's table of what a user gets, the crawl's entry points besides the site home.
README_URLS = (
    "/?f=json", "/collections?f=json", "/conformance", "/openapi?f=json", "/api/datasets",
    "/dcat/catalog", "/dcat/catalog.rdf", "/dcat/catalog.ttl", "/dcat/catalog.jsonld",
    "/api/3/action/package_list", "/api/action/package_list", "/api/scenarios", "/healthz",
)  # fmt: skip
ITEMS = re.compile(r"^/collections/([^/]+)/items$")
ITEM = re.compile(r"^/collections/([^/]+)/items/([^/]+)$")
RDF = ("text/turtle", "application/rdf+xml", "application/ld+json")
#: Path segments that name a kind of page (others are names and ids): one language switch link
#: is followed per kind of page and language, since one piece of code serves them all.
PAGE_WORDS = {
    "", "collections", "items", "queryables", "datasets", "scenarios", "map", "sql", "language",
}  # fmt: skip


class Crawler:
    """One crawl of one install; `run()` returns what it found."""

    def __init__(
        self, base: str, *, threads: int = 4, item_pages: int = 3, items_per_collection: int = 3
    ) -> None:
        self.base = base
        self.threads, self.item_pages, self.items_per = threads, item_pages, items_per_collection
        self.result = CrawlResult()
        self.facts = Facts()
        self.outcomes: dict[tuple, Outcome | None] = {}
        self.cookies: dict[str, dict[str, str]] = {}
        self.items_seen: dict[str, set[str]] = {}
        self.switches_seen: set[tuple[str, str]] = set()
        self.waiting: list[Link] = []
        self.lock = threading.Lock()
        self.local = threading.local()

    # --- fetching -------------------------------------------------------------------------
    def session(self) -> requests.Session:
        """This thread's session, which never stores cookies (the language crawls send theirs
        explicitly; a language switch is followed in a fresh session that keeps them)."""
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return self.local.session

    def get(self, link: Link, session: requests.Session | None = None) -> requests.Response:
        """GET as the link's client would, waiting out 429 answers as Retry-After says."""
        session = session or self.session()
        headers = {"Accept": link.accept, **dict(link.headers)}
        for _ in range(30):
            resp = session.get(
                link.url, headers=headers, cookies=self.cookies.get(link.lang), timeout=60
            )
            if resp.status_code != 429:
                return resp
            wait = min(float(resp.headers.get("Retry-After", "1")), 30.0)
            with self.lock:
                self.result.throttled += 1
                self.result.throttled_s += wait
            time.sleep(wait)
        return resp

    def get_json(self, url: str) -> dict:
        """A JSON document the crawl needs to plan (facts, the OpenAPI document)."""
        self.result.requests += 1
        resp = self.get(Link(url, "(plan)", "plan"))
        resp.raise_for_status()
        return resp.json()

    def visit(self, link: Link) -> tuple[Outcome, list[Failure], list[Found]]:
        """Fetch one link; check its body; extract what it advertises."""
        try:
            if link.source == "language":
                with requests.Session() as fresh:
                    resp = self.get(link, fresh)
            else:
                resp = self.get(link)
        except requests.RequestException as err:
            return Outcome(0, "", error=f"{type(err).__name__}: {err}"[:200]), [], []
        media, body = essence(resp.headers.get("Content-Type", "")), resp.content
        out = Outcome(
            resp.status_code,
            media,
            final_url=resp.url,
            length=len(body),
            detail=problem_detail(body, media) if resp.status_code >= 400 else "",
        )
        failures = check_body(link, out, body, self.facts.matched)
        found: list[Found] = []
        if resp.status_code < 400 and self.expands(link, resp.url):
            try:
                found, lang = self.extract(resp.url, media, body)
            except Exception as err:  # noqa: BLE001 - a JSON or RDF answer its parser refuses
                return out, [*failures, _broken(link, out, err)], []
            out = replace(out, html_lang=lang)
        elif media == "text/html" and resp.status_code < 400:
            out = replace(out, html_lang=html_links(resp.text, resp.url, "")[1])
        return out, failures, found

    def expands(self, link: Link, final_url: str) -> bool:
        """Follow what an answer links to? Not for files, switch links, foreign hosts, or site
        pages reached outside a language crawl (each language crawl covers them)."""
        path = urlsplit(final_url).path
        if not final_url.startswith(self.base + "/") or DOWNLOAD.match(path):
            return False
        return link.source != "language" and (bool(link.lang) or not SITE_PAGE.match(path))

    def extract(self, url: str, media: str, body: bytes) -> tuple[list[Found], str]:
        """The links an answer advertises, and the page language of HTML answers."""
        if media == "text/html":
            found, lang, posts = html_links(body.decode("utf-8", "replace"), url, self.base)
            self.result.not_exercised += [f"POST form {p} on {url}" for p in posts]
            return found, lang
        if media in RDF:
            return dcat_links(body, media, url), ""
        if media.endswith("json"):
            doc = json.loads(body)
            extra = ckan_links(doc, url) if family(url, media) == "ckan" else []
            return json_links(doc, url, self.base) + extra, ""
        return [], ""

    # --- planning -------------------------------------------------------------------------
    def seeds(self) -> list[Link]:
        """README's entry points, each language's home, and the OpenAPI operations."""
        links = [Link(self.base + p, "README.md", family(self.base + p, "")) for p in README_URLS]
        for lang in LANGUAGES:  # as a user does: the home page's language switch
            entry = f"{self.base}/language?lang={lang}&next=%2F"
            with requests.Session() as session:
                self.result.requests += 1
                self.get(Link(entry, "(seed)", "language"), session)
                self.cookies[lang] = session.cookies.get_dict()
            if not self.cookies[lang]:
                self.result.add(
                    [Failure(entry, 0, "", "(seed)", "language", "language", "sets no cookie")]
                )
            links.append(Link(self.base + "/", entry, "site", lang=lang))
        plan = openapi_links(self.get_json(f"{self.base}/openapi?f=json"), self.facts, self.base)
        self.result.add(plan.failures)
        self.result.not_exercised += plan.notes
        return links + plan.links

    def link_for(self, found: Found, parent: Link, media: str) -> Link | None:
        """The request a found URL makes, or None when it is listed instead of fetched."""
        url = found.url
        if not url.startswith(self.base + "/"):
            self.result.external.setdefault(url, parent.url)
            return None
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        claimed = (found.claimed,) if found.claimed else found.implied
        source = family(parent.url, media)
        base = {"referrer": parent.url, "claimed": claimed, "size": found.size}
        if ("lang" in query or parts.path == "/language") and self.new_switch(parts.path, query):
            return Link(url, source="language", **base)
        if "lang" in query or self.beyond_bounds(parts.path, query):
            self.result.bounded.setdefault(url, parent.url)
            return None
        lang = parent.lang if SITE_PAGE.match(parts.path) else ""
        return Link(url, source=source, accept=found.claimed or "*/*", lang=lang, **base)

    def new_switch(self, path: str, query: dict[str, list[str]]) -> bool:
        """Is this the first switch to its language on this kind of page?"""
        kind = "/".join(s if s in PAGE_WORDS else "*" for s in path.split("/"))
        key = (kind, query.get("lang", [""])[0])
        fresh = key not in self.switches_seen
        self.switches_seen.add(key)
        return fresh

    def beyond_bounds(self, path: str, query: dict[str, list[str]]) -> bool:
        """Items pages after the first `item_pages`, single items after `items_per` a
        collection."""
        if ITEMS.match(path):
            limit = _number(query.get("limit", [""])[0], 10)
            return _number(query.get("offset", [""])[0], 0) >= self.item_pages * max(limit, 1)
        item = ITEM.match(path)
        if item:
            seen = self.items_seen.setdefault(item.group(1), set())
            if item.group(2) not in seen and len(seen) >= self.items_per:
                return True
            seen.add(item.group(2))
        return False

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> CrawlResult:
        """Crawl until no new link is left; returns the result."""
        started = time.monotonic()
        self.facts = gather_facts(self.get_json, self.base)
        frontier = self.seeds()
        with ThreadPoolExecutor(self.threads) as pool:
            while frontier:
                fresh = self.admit(frontier)
                answers = list(pool.map(self.visit, fresh))
                frontier = []
                for link, (out, failures, found) in zip(fresh, answers, strict=True):
                    self.outcomes[link.key] = out
                    if out.status == 200 and DOWNLOAD.match(urlsplit(out.final_url).path):
                        self.result.downloads_checked += 1
                    self.result.add(failures + judge(link, out))
                    children = (self.link_for(f, link, out.media) for f in found)
                    frontier += [c for c in children if c is not None]
                self.judge_waiting()
        self.result.seconds = time.monotonic() - started
        return self.result

    def admit(self, frontier: list[Link]) -> list[Link]:
        """Links whose request has not been made; the others wait to be judged on its answer."""
        fresh = []
        for link in frontier:
            self.result.by_source[link.source] += 1
            if link.key in self.outcomes:
                self.waiting.append(link)
                continue
            self.outcomes[link.key] = None
            fresh.append(link)
        self.result.requests += len(fresh)
        return fresh

    def judge_waiting(self) -> None:
        """Judge links that repeat an earlier request against that request's answer."""
        for link in self.waiting:
            out = self.outcomes.get(link.key)
            if out is not None:
                self.result.add(judge(link, out))
        self.waiting = [link for link in self.waiting if self.outcomes.get(link.key) is None]


def _number(text: str, default: int) -> int:
    """A query parameter as an integer (a link with a bad one is fetched, and judged, anyway)."""
    return int(text) if text.isdigit() else default


def _broken(link: Link, out: Outcome, err: Exception) -> Failure:
    detail = f"does not parse as {out.media}: {type(err).__name__}: {str(err)[:120]}"
    return Failure(link.url, out.status, out.media, link.referrer, link.source, "format", detail)


def crawl(base: str, **options: int) -> CrawlResult:
    """Crawl the install at `base` (see `Crawler`)."""
    return Crawler(base, **options).run()
