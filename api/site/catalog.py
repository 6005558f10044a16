"""Contexts of the home page and the catalog page (search, facets, sort, paging), built from
catalog entries with `opendata.metadata.search`; pure functions, no Flask."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from api.site.common import Card, Site, card, day, shorten
from opendata.metadata.search import Entry, SearchQuery, facet_counts, search

#: Facets offered on the catalog page, in display order (`licence` is accepted for `license`).
PAGE_FACETS = ("theme", "kind", "publisher", "license", "format")
#: Sorts the page offers (`name`, by identifier, is still accepted for old links).
PAGE_SORTS = ("relevance", "title", "date")
SORTS_ACCEPTED = (*PAGE_SORTS, "name")
PER_PAGE = 10
MAX_PAGE = 10_000  #: 100,000 results: more than any catalog we serve
HOME_LIST = 5


@dataclass(frozen=True)
class ThemeLink:
    """A theme on the home page with the number of datasets in it."""

    code: str
    label: str
    count: int
    href: str


@dataclass(frozen=True)
class ScenarioCard:
    """A published planning scenario (a group of `scenario_<name>_*` datasets)."""

    name: str
    title: str
    title_lang: str
    summary: str
    summary_lang: str
    href: str
    datasets: list[str]
    modified: str


@dataclass(frozen=True)
class HomePage:
    """The home page: search, themes, newest and most used datasets, featured scenarios."""

    total: int  #: datasets with a published version
    themes: list[ThemeLink]
    newest: list[Card]
    most_used: list[Card]
    usage_basis: str  #: "counted" (views + downloads) or "recency" (nothing counted yet)
    scenarios: list[ScenarioCard]


def scenario_name(dataset: str) -> str:
    """The scenario a result dataset belongs to (`scenario_<name>_<part>`).

    >>> scenario_name("scenario_bridge_closed_links"), scenario_name("scenario_trips")
    ('bridge_closed', 'trips')
    """
    rest = dataset.removeprefix("scenario_")
    return rest.rsplit("_", 1)[0] if "_" in rest else rest


def scenario_groups(items: Sequence[Entry]) -> dict[str, list[Entry]]:
    """Scenario result datasets grouped by scenario name (names sorted)."""
    groups: dict[str, list[Entry]] = {}
    for item in items:
        if item.kind == "scenario":
            groups.setdefault(scenario_name(item.name), []).append(item)
    return dict(sorted(groups.items()))


def scenario_title(entry: Entry, site: Site) -> tuple[str, str]:
    """A scenario's own title: a result dataset's title without its ': <part>' suffix."""
    text = site.text(entry.title)
    return text.text.rsplit(": ", 1)[0], text.lang


def scenario_description(group: Sequence[Entry], name: str, site: Site) -> tuple[str, str]:
    """What the scenario is about: the part all its result datasets' descriptions share
    (each is "<about> <what this part holds>"; older stores prefix "Scenario '<name>': "), cut at a
    sentence end."""
    texts = [site.text(e.description) for e in group]
    shared = os.path.commonprefix([t.text for t in texts]) if len(texts) > 1 else texts[0].text
    if len(texts) > 1 and "." in shared:
        shared = shared[: shared.rindex(".") + 1]
    return shared.removeprefix(f"Scenario '{name}': ").strip(), texts[0].lang


def scenario_cards(items: Sequence[Entry], site: Site) -> list[ScenarioCard]:
    cards = []
    for name, group in scenario_groups(items).items():
        first = min(group, key=lambda e: e.name)
        title, lang = scenario_title(first, site)
        summary, summary_lang = scenario_description(group, name, site)
        cards.append(
            ScenarioCard(
                name=name,
                title=title or name,
                title_lang=lang,
                summary=shorten(summary),
                summary_lang=summary_lang,
                href=f"/scenarios/{name}",
                datasets=[e.name for e in group],
                modified=day(max(e.modified for e in group)),
            )
        )
    return sorted(cards, key=lambda c: c.modified, reverse=True)


@dataclass(frozen=True)
class ScenarioList:
    """The scenarios page: every published scenario, newest first."""

    scenarios: list[ScenarioCard]


def scenario_list(items: Sequence[Entry], site: Site) -> ScenarioList:
    return ScenarioList(scenario_cards(items, site))


def _newest(items: Sequence[Entry]) -> list[Entry]:
    by_name = sorted(items, key=lambda e: e.name)
    return sorted(by_name, key=lambda e: e.modified, reverse=True)


def home_page(items: Sequence[Entry], uses: Mapping[str, int], site: Site) -> HomePage:
    """The home page context; "most used" falls back to recency until usage is counted."""
    datasets = [i for i in items if i.kind != "scenario"]
    newest = _newest(datasets)
    counted = any(uses.get(i.name, 0) for i in datasets)
    ranked = sorted(newest, key=lambda e: -uses.get(e.name, 0)) if counted else newest
    themes = [
        ThemeLink(code, site.t.maybe("theme", code), n, "/datasets?" + urlencode({"theme": code}))
        for code, n in facet_counts(list(datasets), "theme")
    ]
    return HomePage(
        total=len(datasets),
        themes=themes,
        newest=[card(i, site) for i in newest[:HOME_LIST]],
        most_used=[card(i, site, uses.get(i.name, 0)) for i in ranked[:HOME_LIST]],
        usage_basis="counted" if counted else "recency",
        scenarios=scenario_cards(items, site)[:HOME_LIST],
    )


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet with its count among the matches."""

    value: str
    label: str
    count: int
    selected: bool
    lang: str = ""  #: the label's language when it is not the page's (publisher names)


@dataclass(frozen=True)
class FacetGroup:
    key: str
    label: str
    values: list[FacetValue]


@dataclass(frozen=True)
class ActiveFilter:
    """A chosen facet value with the link that removes it."""

    key: str
    value: str
    label: str
    remove_href: str


@dataclass(frozen=True)
class CatalogPage:
    """One page of catalog search results with facets."""

    q: str
    sort: str
    total: int
    page: int
    pages: int
    items: list[Card]
    facets: list[FacetGroup]
    filters: list[ActiveFilter]
    prev_href: str | None
    next_href: str | None
    api_href: str  #: the same search in the JSON catalog API
    scenario_items: list[Card]  #: matching scenario results, in their own section
    scenario_total: int
    scenario_href: str | None  #: all matching scenario results (the `kind=scenario` facet)


@dataclass(frozen=True)
class CatalogRequest:
    """The parsed query string of `/datasets`."""

    q: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    sort: str = ""
    page: int = 1


def parse_catalog(args: Sequence[tuple[str, str]]) -> CatalogRequest:
    """Parse `/datasets` parameters (ValueError on a bad `page` or `sort`; others are ignored).

    >>> parse_catalog([("q", " roads "), ("licence", "ODbL-1.0"), ("page", "2")])
    CatalogRequest(q='roads', filters=(('license', 'ODbL-1.0'),), sort='', page=2)
    """
    q, sort, page, filters = "", "", 1, []
    for key, value in args:
        key = "license" if key == "licence" else key
        if key == "q":
            q = value.strip()[:200]
        elif key == "sort" and value:
            if value not in SORTS_ACCEPTED:
                raise ValueError(f"sort must be one of {', '.join(PAGE_SORTS)}")
            sort = value
        elif key == "page" and value:
            if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
                raise ValueError(f"page: must be a whole number from 1 to {MAX_PAGE}")
            page = int(value)
        elif key in PAGE_FACETS and value and (key, value) not in filters:
            filters.append((key, value[:200]))
    return CatalogRequest(q, tuple(filters), sort, page)


def _href(req: CatalogRequest, **changes: object) -> str:
    q = changes.get("q", req.q)
    filters = changes.get("filters", req.filters)
    sort = changes.get("sort", req.sort)
    page = changes.get("page", 1)
    params = [("q", q)] if q else []
    params += list(filters)  # type: ignore[arg-type]
    params += [("sort", sort)] if sort else []
    params += [("page", str(page))] if page != 1 else []
    return "/datasets" + ("?" + urlencode(params) if params else "")


def _facet_label(site: Site, key: str, value: str) -> str:
    return site.t.maybe(key, value) if key in ("theme", "kind", "license") else value


def _facet_lang(site: Site, key: str, value: str) -> str:
    """A publisher's name is plain metadata text, English unless the page is (as in `pick`)."""
    return site.text(value).lang if key == "publisher" else ""


def catalog_page(items: Sequence[Entry], req: CatalogRequest, site: Site) -> CatalogPage:
    """Search, facet and page the catalog for the site (scenario results included)."""
    grouped: dict[str, tuple[str, ...]] = {}
    for key, value in req.filters:
        grouped[key] = (*grouped.get(key, ()), value)
    sort = req.sort or ("relevance" if req.q else "title")
    query = SearchQuery(
        q=req.q,
        filters=grouped,
        sort=sort,
        limit=PER_PAGE,
        offset=(req.page - 1) * PER_PAGE,
        lang=site.lang,
        fallback=site.fallback,
    )
    # Without a kind filter, source datasets fill the list and scenario results get their own
    # section; the facets count both.
    split = "kind" not in grouped
    sources = [i for i in items if i.kind != "scenario"] if split else list(items)
    result = search(sources, query)
    everything = search(list(items), replace(query, limit=0, offset=0)) if split else result
    results = (
        search(
            [i for i in items if i.kind == "scenario"], replace(query, limit=HOME_LIST, offset=0)
        )
        if split
        else None
    )
    pages = max(1, -(-result.total // PER_PAGE))
    chosen = set(req.filters)
    facets = [
        FacetGroup(
            key,
            site.t(f"facet.{key}"),
            [
                FacetValue(
                    v, _facet_label(site, key, v), n, (key, v) in chosen, _facet_lang(site, key, v)
                )
                for v, n in everything.facets[key]
            ],
        )
        for key in PAGE_FACETS
    ]
    filters = [
        ActiveFilter(
            k,
            v,
            _facet_label(site, k, v),
            _href(req, filters=tuple(f for f in req.filters if f != (k, v))),
        )
        for k, v in req.filters
    ]
    api_params = [("q", req.q)] if req.q else []
    api_params += list(req.filters) + ([("sort", req.sort)] if req.sort else [])
    return CatalogPage(
        q=req.q,
        sort=sort,
        total=result.total,
        page=req.page,
        pages=pages,
        items=[card(i, site) for i in result.items],
        facets=facets,
        filters=filters,
        prev_href=_href(req, page=req.page - 1) if req.page > 1 else None,
        next_href=_href(req, page=req.page + 1) if req.page < pages else None,
        api_href="/api/datasets" + ("?" + urlencode(api_params) if api_params else ""),
        scenario_items=[card(i, site) for i in results.items] if results else [],
        scenario_total=results.total if results else 0,
        scenario_href=_href(req, filters=(*req.filters, ("kind", "scenario")))
        if results and results.total
        else None,
    )
