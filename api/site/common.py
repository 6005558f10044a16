"""Pieces every page of the citizens' website shares: the request's language and chrome (`Site`),
dataset cards, and small text helpers. No Flask here except in `site_for_request`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from api.site.formats import Formatter
from api.site.i18n import LANGUAGES, NATIVE, Translator
from opendata.metadata.languages import Text, pick
from opendata.metadata.search import Entry

#: Data-layer colours (legend swatches and map strokes): all at least 4.5:1 on white, and no
#: red next to green, so readers with red-green colour blindness tell neighbours apart.
PALETTE = ("#0b5cad", "#a14a00", "#00626b", "#7b3fa0", "#444", "#b0006d", "#6b5500", "#1b1b6e")


@dataclass(frozen=True)
class LanguageLink:
    """One entry of the language switch."""

    code: str
    name: str
    href: str
    current: bool


@dataclass(frozen=True)
class Site:
    """The request's language and the page chrome (not part of a page's JSON twin)."""

    lang: str
    fallback: tuple[str, ...]
    base_url: str
    path: str
    tile_url: str
    tile_attribution: str
    languages: list[LanguageLink] = field(default_factory=list)

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    @property
    def fmt(self) -> Formatter:
        """Numbers, percentages and dates in this page's language (CLDR, through Babel)."""
        return Formatter(self.lang)

    def text(self, texts: object) -> Text:
        """Metadata in this page's language, with the configured fallback."""
        return pick(texts, self.lang, self.fallback)  # type: ignore[arg-type]


def switch_links(path: str, args: list[tuple[str, str]], lang: str) -> list[LanguageLink]:
    """Language switch targets: this URL with `lang=` (the other parameters kept)."""
    kept = [(k, v) for k, v in args if k != "lang"]
    href = {code: path + "?" + urlencode([*kept, ("lang", code)]) for code in LANGUAGES}
    return [LanguageLink(code, NATIVE[code], href[code], code == lang) for code in LANGUAGES]


def safe_next(target: str | None) -> str:
    """A local path to go back to after switching language ('/' for anything else).

    >>> safe_next("/datasets?q=a"), safe_next("//evil.example/"), safe_next("https://x.y/")
    ('/datasets?q=a', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def web_url(url: str | None) -> str:
    """`url` when it is an http(s) address, else '' (no `javascript:` or `data:` links).

    >>> web_url("https://example.org/a"), web_url("javascript:alert(1)"), web_url(" HTTP://x.fi ")
    ('https://example.org/a', '', 'HTTP://x.fi')
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def email(address: str | None) -> str:
    """`address` when it looks like a plain e-mail address, else ''.

    >>> email("data@example.org"), email("x@y?body=hi"), email("a b@c.d")
    ('data@example.org', '', '')
    """
    text = (address or "").strip()
    return text if re.fullmatch(r"[^@\s?&#/:]+@[^@\s?&#/:]+\.[^@\s?&#/:]+", text) else ""


def shorten(text: str, limit: int = 180) -> str:
    """`text` cut at a word boundary with an ellipsis.

    >>> shorten("Streets and roads of the centre", 20)
    'Streets and roads…'
    """
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "…"


def day(stamp: str) -> str:
    """The date part of an ISO timestamp ('' when missing)."""
    return (stamp or "")[:10]


@dataclass(frozen=True)
class Card:
    """One dataset in a list: title and summary in the page language (or the fallback)."""

    name: str
    title: str
    title_lang: str
    summary: str
    summary_lang: str
    href: str
    kind: str
    modified: str
    rows: int
    themes: list[str]
    formats: list[str]
    uses: int | None = None


def card(item: Entry, site: Site, uses: int | None = None) -> Card:
    """A `Card` for a catalog entry."""
    title, summary = site.text(item.title), site.text(item.description)
    return Card(
        name=item.name,
        title=title.text or item.name,
        title_lang=title.lang,
        summary=shorten(summary.text),
        summary_lang=summary.lang,
        href=f"/datasets/{item.name}",
        kind=item.kind,
        modified=day(item.modified),
        rows=item.version.rows,
        themes=[site.t.maybe("theme", code) for code in item.themes],
        formats=list(item.formats),
        uses=uses,
    )
