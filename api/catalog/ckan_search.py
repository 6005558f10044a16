"""CKAN's `package_search` over our packages: the Solr query subset CKAN clients and harvesters
send (ckanext-harvest's CKAN harvester above all), evaluated in Python over the package dicts.

Supported in `fq` (and as `field:value` words in `q`): `field:value`, `field:"a value"`,
`field:*`, `-field:value` (not), `a OR b`, `AND`, parentheses around a group, and ranges
`metadata_modified:[2026-01-01T00:00:00Z TO *]` (also `{...}` exclusive bounds, `[* TO date]`,
`NOW`) on `metadata_modified` and `metadata_created`. Terms side by side must all hold (CKAN's
Solr schema makes AND the default operator). Anything else is CKAN's 409 Search Query Error.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.http import MAX_COUNT, ApiError, whole_number
from opendata.metadata.search import fold

FQ_FIELDS = ("tags", "organization", "res_format", "license_id", "groups", "name", "id", "type")
RANGE_FIELDS = ("metadata_modified", "metadata_created")
SORT_FIELDS = ("score", "id", "metadata_modified", "metadata_created", "name", "title_string")
MAX_ROWS = 1000  #: CKAN's default `ckan.search.rows_max`: larger `rows` are reduced to it
DEFAULT_FACET_LIMIT = 50


class CkanError(Exception):
    """An action error rendered in CKAN's shape: `__type`, a message or field errors."""

    def __init__(self, status: int, kind: str, message: str = "", fields: dict | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.fields = status, kind, message, fields or {}


def query_error(detail: str) -> CkanError:
    """CKAN's 409 for a query its search cannot run."""
    return CkanError(409, "Search Query Error", f"Search Query is invalid: {detail}")


@dataclass(frozen=True)
class Term:
    """`field:value` (`value` None: the field has any value); `keep` False for `-field:...`."""

    keep: bool
    field: str
    value: str | None


@dataclass(frozen=True)
class Range:
    """`field:[low TO high]` on a timestamp field; None is an open end (`*`)."""

    keep: bool
    field: str
    low: datetime | None
    high: datetime | None
    low_inclusive: bool
    high_inclusive: bool


Clause = list[Term | Range]  #: alternatives (OR); a query is a list of clauses (AND)
TOKEN = re.compile(
    r"""\s*(?:
      (?P<op>AND|OR|&&|\|\|)(?=[\s(]|$)
    | (?P<paren>[()])
    | (?P<all>\*:\*)
    | (?P<sign>[+-]?)(?P<field>[A-Za-z_]+):
      (?P<value>"[^"]*"|[\[{][^\]}]*[\]}]|[^\s"()]+)
    )""",
    re.VERBOSE,
)
RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])")


def _instant(text: str) -> datetime | None:
    """A Solr date bound: `*`, `NOW`, a date or an ISO 8601 UTC timestamp (naive = UTC)."""
    if text == "*":
        return None
    if text == "NOW":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise query_error(f"cannot read the date {text[:40]!r}; use 2026-01-01T00:00:00Z") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _term(keep: bool, field: str, value: str) -> Term | Range:
    if value[0] in "[{":
        match = RANGE.fullmatch(value)
        if field not in RANGE_FIELDS or not match:
            raise query_error(
                f"ranges like [a TO b] apply to {', '.join(RANGE_FIELDS)}, not {value[:40]!r}"
            )
        opening, low, high, closing = match.groups()
        return Range(keep, field, _instant(low), _instant(high), opening == "[", closing == "]")
    if field not in FQ_FIELDS:
        raise query_error(
            f"unsupported field {field[:40]!r}; use {', '.join(FQ_FIELDS + RANGE_FIELDS)}"
        )
    value = value[1:-1] if value.startswith('"') else value
    return Term(keep, field, None if value == "*" else value)


def parse_fq(text: str) -> list[Clause]:
    """`tags:a -organization:"x y" groups:b OR groups:c` -> clauses that must all hold, each a
    list of alternatives; a 409 Search Query Error for what we cannot evaluate."""
    clauses: list[Clause] = []
    joining, pos, text = False, 0, text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise query_error(f"cannot read the query near {text[pos : pos + 40]!r}")
        pos = match.end()
        if match["op"] in ("OR", "||"):
            if not clauses or joining:
                raise query_error("OR needs a term on each side")
            joining = True
        elif match["field"]:
            term = _term(match["sign"] != "-", match["field"], match["value"])
            clauses[-1].append(term) if joining else clauses.append([term])
            joining = False
    if joining:
        raise query_error("OR needs a term on each side")
    return clauses


def _values(pkg: dict[str, Any], field: str) -> list[str]:
    """The values of a searchable field of a package dict."""
    return {
        "tags": lambda: [t["name"] for t in pkg["tags"]],
        "organization": lambda: [pkg["organization"]["name"]],
        "res_format": lambda: [r["format"] for r in pkg["resources"]],
        "license_id": lambda: [pkg["license_id"]],
        "groups": lambda: [g["name"] for g in pkg["groups"]],
        "name": lambda: [pkg["name"]],
        "id": lambda: [pkg["id"]],
        "type": lambda: [pkg["type"]],
    }[field]()


def _holds(pkg: dict[str, Any], cond: Term | Range) -> bool:
    if isinstance(cond, Range):
        moment = datetime.fromisoformat(pkg[cond.field]).replace(tzinfo=UTC)
        above = cond.low is None or moment > cond.low or (cond.low_inclusive and moment == cond.low)
        below = (
            cond.high is None or moment < cond.high or (cond.high_inclusive and moment == cond.high)
        )
        return (above and below) == cond.keep
    values = {fold(v) for v in _values(pkg, cond.field) if v}
    found = bool(values) if cond.value is None else fold(cond.value) in values
    return found == cond.keep


def matches(pkg: dict[str, Any], clauses: list[Clause]) -> bool:
    """Whether a package passes every clause (one alternative of each)."""
    return all(any(_holds(pkg, cond) for cond in clause) for clause in clauses)


def sort_packages(rows: list[tuple[float, dict[str, Any]]], sort: str) -> list[dict[str, Any]]:
    """Order (score, package) rows by `sort` (`field asc|desc`, comma-separated)."""
    keys = []
    for part in [p.strip() for p in sort.split(",") if p.strip()]:
        field, _, direction = part.partition(" ")
        direction = direction.strip().lower() or "asc"
        if field not in SORT_FIELDS or direction not in ("asc", "desc"):
            raise query_error(
                f"cannot sort by {part[:60]!r}; use one of {', '.join(SORT_FIELDS)} "
                "with asc or desc"
            )
        keys.append((field, direction == "desc"))
    for field, reverse in reversed(keys):

        def key(row: tuple[float, dict[str, Any]], field: str = field) -> Any:
            score, pkg = row
            return {"score": score, "title_string": pkg["title"].lower()}.get(field, pkg.get(field))

        rows.sort(key=key, reverse=reverse)
    return [pkg for _, pkg in rows]


def count(data: dict[str, Any], key: str, default: int, *, low: int = 0) -> int:
    """A whole-number argument from `low` to MAX_COUNT, else CKAN's 409 Validation Error that
    names the argument and the range."""
    try:
        return whole_number(data.get(key, default), key, low=low, high=MAX_COUNT)
    except ApiError as err:
        raise CkanError(409, "Validation Error", fields={key: [err.detail]}) from None


def facet_counts(
    matched: list[dict[str, Any]], fields: list[str], limit: int
) -> dict[str, dict[str, int]]:
    """Value counts per facet field, most common first; `limit` < 0 means all (as in Solr)."""
    return {
        f: dict(
            Counter(v for p in matched for v in dict.fromkeys(_values(p, f))).most_common(
                None if limit < 0 else limit
            )
        )
        for f in fields
    }
