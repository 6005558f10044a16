"""What an answer must be for the link that asked for it: a status under 400, the media type the
link claims, the page language the crawl asked for, the size CKAN claims; and for files, that
they open in their format's own reader with the row count the OGC collection reports."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tests.e2e.formats import BY_MEDIA, DOWNLOAD, count_rows
from tests.e2e.model import Failure, Link


@dataclass(frozen=True)
class Outcome:
    """The parts of an answer the checks need (bodies are not kept)."""

    status: int
    media: str
    final_url: str = ""
    length: int | None = None
    html_lang: str = ""
    detail: str = ""
    error: str = ""


def problem_detail(body: bytes, media: str) -> str:
    """The `detail` (or `title`) of a problem+json answer, a CKAN error's message, else the
    start of the body."""
    if media.endswith("json"):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            error = doc.get("error") if isinstance(doc.get("error"), dict) else {}
            text = doc.get("detail") or doc.get("title") or error.get("message") or error
            return str(text)[:160]
    return re.sub(r"\s+", " ", body[:160].decode("utf-8", "replace"))


def judge(link: Link, out: Outcome) -> list[Failure]:
    """Failures of one link against the answer its request got."""

    def fail(kind: str, detail: str) -> list[Failure]:
        return [Failure(link.url, out.status, out.media, link.referrer, link.source, kind, detail)]

    if out.error:
        return fail("fetch", out.error)
    if out.status >= 400:
        return fail("status", out.detail or "error status")
    if link.claimed and out.media not in link.claimed:
        return fail("media", f"advertised as {' or '.join(link.claimed)}")
    if link.size is not None and out.length is not None and link.size != out.length:
        return fail("size", f"{out.length} bytes, advertised as {link.size}")
    wanted = asked_language(link)
    if wanted and out.media == "text/html" and out.html_lang != wanted:
        return fail("language", f"page is lang={out.html_lang!r}, asked for {wanted!r}")
    return []


def asked_language(link: Link) -> str:
    """The language a request asked for: its crawl's, or a switch link's `lang` parameter."""
    if link.source == "language":
        return parse_qs(urlsplit(link.url).query).get("lang", [""])[0]
    return link.lang


def check_body(link: Link, out: Outcome, body: bytes, matched: dict[str, int]) -> list[Failure]:
    """A partial answer must match its Range; a file must open in its reader, and a dataset file
    must hold as many rows as its collection's `numberMatched`."""

    def fail(kind: str, detail: str) -> list[Failure]:
        return [Failure(link.url, out.status, out.media, link.referrer, link.source, kind, detail)]

    ranged = dict(link.headers).get("Range")
    if ranged:
        return _check_range(ranged, out, body, fail)
    if out.status != 200:
        return []
    download = DOWNLOAD.match(urlsplit(out.final_url or link.url).path)
    ext = download.group("ext") if download else BY_MEDIA.get(out.media, "")
    if not ext or (ext == "geojson" and not download):  # API pages are checked as JSON
        return []
    try:
        rows = count_rows(body, ext)
    except Exception as err:  # noqa: BLE001 - any reader error means users cannot open it
        return fail("format", f"does not open as {ext}: {type(err).__name__}: {str(err)[:120]}")
    expected = matched.get(download.group("name")) if download else None
    if expected is not None and rows != expected:
        return fail("rows", f"{rows} rows, the collection reports numberMatched={expected}")
    return []


def _check_range(ranged: str, out: Outcome, body: bytes, fail) -> list[Failure]:
    first, last = (int(v) for v in re.match(r"bytes=(\d+)-(\d+)", ranged).groups())  # type: ignore[union-attr]
    if out.status != 206:
        return fail("range", f"{ranged} answered {out.status}, not 206")
    if len(body) != last - first + 1:
        return fail("range", f"{ranged} gave {len(body)} bytes")
    return []
