"""Context of the SQL page (`/sql`): one table per current dataset with its columns as DuckDB sees
them and example queries generated from them (first rows, a count by a category column, a map-box
filter on the `bbox` covering column, a join), the sandbox's limits, and, for `/sql?sql=...`, the
result or the error of one query run server-side in the same sandbox as `/api/sql`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from api.site.common import Site
from opendata.metadata.search import Entry
from opendata.query import sql as sandbox
from opendata.query import sql_process
from opendata.query.sql_check import SqlError
from opendata.settings import Settings

#: Rows the page shows (HTML and its JSON twin); the downloads carry up to `sql_max_rows`.
SHOWN_ROWS = 500
#: Columns that name or identify one feature: a count by them says nothing.
_NAMELIKE = re.compile(r"(^|_)(name|id|key|ref|address|street|housenumber|email|phone|url)(_|$)")
_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$")
_KINDS = {
    "SqlRefused": "refused",
    "SqlTimeout": "timeout",
    "SqlTooBig": "memory",
    "SqlBusy": "busy",
}


@dataclass(frozen=True)
class Example:
    """One ready-made query: what it shows, its text, and the link that runs it."""

    title: str
    sql: str
    href: str


@dataclass(frozen=True)
class Column:
    name: str
    type: str  #: the DuckDB type a query sees (geometry is a WKB BLOB)


@dataclass(frozen=True)
class Table:
    """A dataset as a SQL table."""

    name: str
    title: str
    title_lang: str
    href: str  #: the dataset page
    rows: int
    columns: list[Column]
    examples: list[Example]


@dataclass(frozen=True)
class PageLimits:
    timeout_s: float
    max_rows: int
    memory_mb: int


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: str
    numeric: bool  #: right-aligned in the table


@dataclass(frozen=True)
class Result:
    """The first `SHOWN_ROWS` rows of a query's answer (JSON-safe values, geometry as WKT)."""

    columns: list[ResultColumn]
    rows: list[list[Any]]
    row_count: int
    truncated: bool  #: more rows exist than are shown
    elapsed_ms: float


@dataclass(frozen=True)
class QueryError:
    """Why a query did not run: `kind` picks the words, `detail` is the engine's message."""

    status: int
    kind: str  #: invalid, refused, timeout, memory or busy
    title: str  #: the problem title of `/api/sql` (English)
    detail: str


@dataclass(frozen=True)
class Download:
    format: str
    href: str


@dataclass(frozen=True)
class SqlPage:
    """The SQL page: the editor's text, the limits, the tables with examples, the answer."""

    sql: str
    limits: PageLimits
    tables: list[Table]
    result: Result | None
    error: QueryError | None
    downloads: list[Download]
    api_href: str
    shown_rows: int


def sql_href(sql: str, path: str = "/sql", fmt: str | None = None) -> str:
    """A link that runs `sql` (on this page, or at `/api/sql` in a format).

    >>> sql_href("SELECT 1"), sql_href("SELECT 1", "/api/sql", "csv")
    ('/sql?sql=SELECT+1', '/api/sql?sql=SELECT+1&format=csv')
    """
    params = [("sql", sql)] + ([("format", fmt)] if fmt else [])
    return f"{path}?{urlencode(params)}"


def category_column(columns: Sequence[dict[str, Any]], types: dict[str, str]) -> str | None:
    """The first text column worth counting by: not unique, not a name, key or address;
    required columns first (they are categories in our specs).

    >>> cols = [{"name": "osm_key", "unique": True}, {"name": "name"}, {"name": "kind"}]
    >>> category_column(cols, {"osm_key": "VARCHAR", "name": "VARCHAR", "kind": "VARCHAR"})
    'kind'
    """
    text = [
        c
        for c in columns
        if types.get(str(c.get("name"))) == "VARCHAR"
        and not c.get("unique")
        and not _NAMELIKE.search(str(c.get("name")))
    ]
    ranked = sorted(text, key=lambda c: not c.get("required"))
    return str(ranked[0]["name"]) if ranked else None


def box_around_centre(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """The middle half of a bbox (west, south, east, north), rounded for reading.

    >>> box_around_centre([24.9, 60.1, 25.1, 60.3])
    (24.95, 60.15, 25.05, 60.25)
    """
    w, s, e, n = bbox
    dx, dy = (e - w) / 4, (n - s) / 4
    return (round(w + dx, 4), round(s + dy, 4), round(e - dx, 4), round(n - dy, 4))


def _overlap(a: str, b: str) -> str:
    return (
        f"{a}.bbox.xmin <= {b}.bbox.xmax\n  AND {a}.bbox.xmax >= {b}.bbox.xmin\n"
        f"  AND {a}.bbox.ymin <= {b}.bbox.ymax\n  AND {a}.bbox.ymax >= {b}.bbox.ymin"
    )


def example_queries(
    item: Entry, types: dict[str, str], partner: str | None, site: Site
) -> list[Example]:
    """First rows, a count by category, a map-box filter and a join, as this dataset allows."""
    t, name = site.t, sandbox.ident(item.name)
    spatial = "bbox" in types and "geometry" in types
    rest = " EXCLUDE (geometry, bbox)" if spatial else ""
    found = [(t("sql.example.rows"), f"SELECT *{rest}\nFROM {name}\nLIMIT 10")]
    category = category_column(item.version.columns, types)
    if category:
        col = sandbox.ident(category)
        found.append(
            (
                t("sql.example.count_by", column=category),
                f"SELECT {col}, count(*) AS n\nFROM {name}\nGROUP BY {col}\nORDER BY n DESC",
            )
        )
    else:
        found.append((t("sql.example.count"), f"SELECT count(*) AS n\nFROM {name}"))
    if spatial and item.version.bbox:
        w, s, e, n = box_around_centre(item.version.bbox)
        where = (
            f"bbox.xmin <= {e}\n  AND bbox.xmax >= {w}\n  AND bbox.ymin <= {n}\n"
            f"  AND bbox.ymax >= {s}"
        )
        found.append((t("sql.example.bbox"), f"SELECT *{rest}\nFROM {name}\nWHERE {where}"))
    if spatial and partner:
        group = f"a.{sandbox.ident(category)}" if category else None
        head = f"SELECT {group}, count(*) AS n" if group else "SELECT count(*) AS pairs"
        tail = f"\nGROUP BY {group}\nORDER BY n DESC" if group else ""
        found.append(
            (
                t("sql.example.join", other=partner),
                f"{head}\nFROM {name} AS a\nJOIN {sandbox.ident(partner)} AS b\n"
                f"  ON {_overlap('a', 'b')}{tail}",
            )
        )
    return [Example(title, text, sql_href(text)) for title, text in found]


def _partner(name: str, spatial: Sequence[Entry]) -> str | None:
    """The smallest other spatial dataset (published datasets before scenario results)."""
    others = sorted(
        (e for e in spatial if e.name != name), key=lambda e: (e.kind != "dataset", e.version.rows)
    )
    return others[0].name if others else None


def tables(
    items: Sequence[Entry], described: dict[str, list[tuple[str, str]]], site: Site
) -> list[Table]:
    """A `Table` per queryable dataset, in catalog name order."""
    shown = sorted((i for i in items if i.name in described), key=lambda i: i.name)
    spatial = [i for i in shown if {"bbox", "geometry"} <= {c for c, _ in described[i.name]}]
    out = []
    for item in shown:
        types = dict(described[item.name])
        title = site.text(item.title)
        out.append(
            Table(
                name=item.name,
                title=title.text or item.name,
                title_lang=title.lang,
                href=f"/datasets/{item.name}",
                rows=item.version.rows,
                columns=[Column(c, kind) for c, kind in described[item.name]],
                examples=example_queries(item, types, _partner(item.name, spatial), site),
            )
        )
    return out


def run_query(sql: str, settings: Settings) -> tuple[Result | None, QueryError | None]:
    """Run `sql` in the sandbox (child process), keeping the first `SHOWN_ROWS` rows."""
    limits = sandbox.Limits.of(settings)
    limits = replace(limits, max_rows=min(limits.max_rows, SHOWN_ROWS))
    try:
        answer = sql_process.run_sql(sql, sandbox.sources(settings), limits)
    except SqlError as err:
        kind = _KINDS.get(type(err).__name__, "invalid")
        return None, QueryError(err.status, kind, err.title, str(err))
    table = answer.table
    columns = [
        ResultColumn(n, kind, bool(_NUMERIC.match(kind)))
        for n, kind in zip(table.column_names, answer.types, strict=True)
    ]
    rows = sandbox.rows_of(table)
    return Result(columns, rows, len(rows), answer.truncated, answer.elapsed_ms), None


def sql_page(settings: Settings, items: Sequence[Entry], sql: str, site: Site) -> SqlPage:
    """The page for `/sql?sql=...`: the query runs only when there is one."""
    described = sandbox.describe_views(sandbox.sources(settings))
    found = tables(items, described, site)
    text = sql.strip()
    result, error = run_query(text, settings) if text else (None, None)
    starter = found[0].examples[0].sql if found else "SHOW TABLES"
    # The download links always run the query in the editor (shown once it has a result).
    downloads = [Download(f, sql_href(text or starter, "/api/sql", f)) for f in ("csv", "json")]
    return SqlPage(
        sql=sql if text else starter,
        limits=PageLimits(settings.sql_timeout_s, settings.sql_max_rows, settings.sql_memory_mb),
        tables=found,
        result=result,
        error=error,
        downloads=downloads,
        api_href="/api/sql",
        shown_rows=SHOWN_ROWS,
    )
