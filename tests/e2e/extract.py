"""Every URL a response advertises: HTML links, scripts, images and GET forms (submitted with
their default values), `links[]` and URL members of JSON documents, DCAT download and access URLs
(parsed with rdflib), and CKAN resources. Pure functions of a body; the crawler fetches."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any, NamedTuple
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, FOAF

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
IANA = "http://www.iana.org/assignments/media-types/"
#: Tag -> attribute holding a URL the page makes a browser fetch or offers to follow.
URL_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src"}
#: DCAT (and paging) properties whose objects are URLs a harvester follows.
DCAT_URLS = (
    DCAT.downloadURL,
    DCAT.accessURL,
    DCAT.endpointURL,
    DCAT.endpointDescription,
    DCAT.landingPage,
    FOAF.page,
    HYDRA.next,
    HYDRA.previous,
    HYDRA.first,
    HYDRA.last,
)


class Found(NamedTuple):
    """A URL as advertised: absolute, without fragment, with the media type it claims."""

    url: str
    claimed: str = ""
    size: int | None = None
    via: str = ""
    #: Media types a browser insists on without asking for them (the site sends nosniff).
    implied: tuple[str, ...] = ()


def absolute(href: str, page_url: str) -> str:
    """`href` resolved against the page, fragment dropped ("" for data:, javascript:, #…)."""
    href = href.strip()
    if not href or href.startswith(("#", "data:", "javascript:", "blob:")):
        return ""
    parts = urlsplit(urljoin(page_url, href))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def essence(media: str) -> str:
    """A media type without parameters, lower-case (`text/html; charset=utf-8` -> `text/html`)."""
    return media.split(";")[0].strip().lower()


class _Page(HTMLParser):
    """Collects URL attributes, the `<html lang>`, inline JSON and GET forms with defaults."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str, str]] = []  # (href, claimed type, tag, rel)
        self.lang = ""
        self.forms: list[dict[str, Any]] = []
        self.inline_json: list[str] = []
        self._json = False
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag in URL_ATTRS and a.get(URL_ATTRS[tag]):
            self.links.append((a[URL_ATTRS[tag]], a.get("type", ""), tag, a.get("rel", "")))
        if tag == "script" and a.get("type", "") in ("application/json", "application/ld+json"):
            self._json = True
        if tag == "form":
            method = a.get("method", "get").lower()
            self.forms.append({"action": a.get("action", ""), "method": method, "fields": []})
        elif self.forms:
            self._field(tag, a)

    def _field(self, tag: str, a: dict[str, str]) -> None:
        fields = self.forms[-1]["fields"]
        kind = a.get("type", "text").lower()
        if tag == "input" and a.get("name") and kind not in ("submit", "button", "image", "file"):
            if kind not in ("checkbox", "radio") or "checked" in a:
                fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and ("selected" in a or not self._chosen()):
            fields[:] = [f for f in fields if f[0] != self._select]
            fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            fields.append((a["name"], ""))

    def _chosen(self) -> bool:
        return any(name == self._select for name, _ in self.forms[-1]["fields"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._json = False
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._json:
            self.inline_json.append(data)


def _implied(tag: str, rel: str) -> tuple[str, ...]:
    """What a browser requires of a script or stylesheet served with `nosniff`."""
    if tag == "script":
        return ("text/javascript", "application/javascript")
    if tag == "link" and "stylesheet" in rel.split():
        return ("text/css",)
    return ()


def html_links(body: str, page_url: str, base: str) -> tuple[list[Found], str, list[str]]:
    """The URLs an HTML page advertises, its `<html lang>`, and its POST form actions (listed,
    never submitted: a crawler must not write)."""
    page = _Page()
    page.feed(body)
    found = [
        Found(url, essence(kind), via=tag, implied=_implied(tag, rel))
        for href, kind, tag, rel in page.links
        if (url := absolute(href, page_url)) and not href.startswith("mailto:")
    ]
    found += [Found(h, via="mailto") for h, _, _, _ in page.links if h.startswith("mailto:")]
    posts = []
    for form in page.forms:
        action = absolute(form["action"] or page_url, page_url)
        if form["method"] != "get":
            posts.append(action)
            continue
        query = urlencode(form["fields"])
        found.append(Found(action.split("?")[0] + ("?" + query if query else ""), via="form"))
    for text in page.inline_json:
        try:
            found += json_links(json.loads(text), page_url, base)
        except ValueError:  # not JSON after all; the page's own scripts would fail the same way
            continue
    return found, page.lang, posts


def expand_tile_template(href: str, limits: Any) -> str | None:
    """A tile URI template filled with the first tile of `tileMatrixSetLimits` (None: no limits,
    or a template with other variables)."""
    if not limits or not isinstance(limits, list):
        return None
    first = limits[0]
    values = {
        "{tileMatrix}": str(first["tileMatrix"]),
        "{tileRow}": str(first["minTileRow"]),
        "{tileCol}": str(first["minTileCol"]),
    }
    for name, value in values.items():
        href = href.replace(name, value)
    return None if "{" in href else href


def json_links(doc: Any, doc_url: str, base: str) -> list[Found]:
    """`links[]` members (with their `type`), `href`/`url` members, and every string that is an
    absolute URL on our own host, anywhere in a JSON document. A templated link (OGC API –
    Tiles' `{tileMatrix}/{tileRow}/{tileCol}`) is followed with the first tile the document's
    own `tileMatrixSetLimits` name, and left out when it names none."""
    found: list[Found] = []
    limits = doc.get("tileMatrixSetLimits") if isinstance(doc, dict) else None

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            is_link = key == "links" and isinstance(node.get("href"), str)
            if is_link and node.get("templated") is True:
                href = expand_tile_template(node["href"], limits)
                if href and (url := absolute(href, doc_url)):
                    found.append(Found(url, essence(node.get("type", "")), via="links[]"))
                return
            if is_link and (url := absolute(node["href"], doc_url)):
                found.append(Found(url, essence(node.get("type", "")), via="links[]"))
            for k, v in node.items():
                if is_link and k == "href":
                    continue
                if k in ("href", "url") and isinstance(v, str) and v.startswith("/"):
                    found.append(Found(absolute(v, doc_url), via=k))
                else:
                    walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and node.startswith(base + "/"):
            found.append(Found(absolute(node, doc_url), via=key or "url string"))

    walk(doc)
    return found


def dcat_links(body: bytes, media: str, doc_url: str) -> list[Found]:
    """dcat:downloadURL / accessURL (with the distribution's dcat:mediaType), endpoint and
    landing pages, and hydra paging links of a DCAT document in any RDF syntax."""
    graph = Graph()
    fmt = {"text/turtle": "turtle", "application/rdf+xml": "xml", "application/ld+json": "json-ld"}
    graph.parse(data=body, format=fmt[essence(media)], publicID=doc_url)
    found = []
    for prop in DCAT_URLS:
        for subject, obj in graph.subject_objects(prop):
            if not isinstance(obj, URIRef):
                continue
            claimed = ""
            if prop in (DCAT.downloadURL, DCAT.accessURL):
                kind = graph.value(subject, DCAT.mediaType)
                claimed = str(kind).removeprefix(IANA) if kind is not None else ""
            found.append(Found(absolute(str(obj), doc_url), claimed, via=graph.qname(prop)))
    return sorted(set(found))


def ckan_links(doc: dict[str, Any], doc_url: str) -> list[Found]:
    """package_list -> package_show of each name; package_show -> every resource URL with the
    mimetype and size it claims."""
    result = doc.get("result")
    path = urlsplit(doc_url).path
    if path.endswith("/package_list") and isinstance(result, list):
        show = doc_url.split("?")[0].removesuffix("package_list") + "package_show"
        return [Found(f"{show}?{urlencode({'id': name})}", via="package_list") for name in result]
    if path.endswith("/package_show") and isinstance(result, dict):
        resources = [r for r in result.get("resources", []) if r.get("url")]
        return [
            Found(absolute(r["url"], doc_url), essence(r.get("mimetype") or ""), r.get("size"))
            for r in resources
        ]
    return []
