"""DCAT-AP 3 (with the Swedish DCAT-AP-SE additions) for the catalog, as an rdflib graph.

Every node has an absolute IRI under `settings.base_url` (no blank nodes), so the RDF/XML,
Turtle and JSON-LD serialisations are isomorphic and harvesters can merge pages. Controlled
values use the EU Publications Office vocabularies (data themes, frequencies, file types,
licences, languages, access rights) and ADMS publisher types; media types are IANA IRIs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, SKOS

from opendata.metadata.dcat_vocab import (
    ACCESS,
    ADMS_LICENCE,
    ADMS_PUBLISHER,
    AVAILABILITY,
    DCAT,
    DCATAP,
    EU,
    FREQUENCIES,
    FREQUENCY,
    GSP,
    HYDRA,
    LANGUAGE,
    LANGUAGES,
    LICENCE,
    LICENCE_TYPES,
    OGC_FEATURES,
    PREFIXES,
    THEME,
    VCARD,
    Iris,
    licence_iri,
    link,
    typed,
)
from opendata.metadata.search import Entry
from opendata.settings import Settings
from opendata.store.exports import (
    FORMATS,
    Format,
    cache_file,
    download_path,
    formats_for,
    is_spatial,
    latest_path,
)

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class CatalogInfo:
    """What the catalog says about itself: the city's publisher, which `CIVIC_CATALOG_*` settings
    override."""

    title: dict[str, str]
    description: dict[str, str]
    publisher: dict[str, str]
    licence: str = "CC0-1.0"

    @classmethod
    def of(cls, settings: Settings) -> CatalogInfo:
        default_publisher = settings.city.agent("publisher")  # the city file's (city.toml)
        publisher = {
            "name": settings.catalog_publisher_name or default_publisher.get("name", ""),
            "uri": settings.catalog_publisher_uri or default_publisher.get("uri", ""),
            "type": settings.catalog_publisher_type or default_publisher.get("type", ""),
        }
        return cls(
            title={
                "en": settings.catalog_title or "Open data catalogue",
                "fi": "Avoimen datan katalogi",
                "sv": "Katalog över öppna data",
            },
            description={
                "en": settings.catalog_description
                or "Datasets published by the city as open data, with "
                "downloads, an OGC API and SQL access.",
                "fi": "Kaupungin avoimena datana julkaisemat aineistot.",
                "sv": "Datamängder som staden publicerar som öppna data.",
            },
            publisher=publisher,
            licence=settings.catalog_licence,
        )


def _texts(graph: Graph, node: URIRef, prop: URIRef, texts: dict[str, str]) -> None:
    for lang, text in texts.items():
        graph.add((node, prop, Literal(text, lang=lang)))


def _stamp(value: str) -> Literal:
    return Literal(value.replace("Z", "+00:00"), datatype=XSD.dateTime)


def add_agent(graph: Graph, iris: Iris, agent: dict[str, str]) -> URIRef:
    """A foaf:Agent with name and an ADMS publisher type (DCAT-AP-SE requires dct:type)."""
    node = iris.agent(agent)
    kind = agent.get("type") or "LocalAuthority"
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, RDF.type, FOAF.Organization))
    graph.set((node, FOAF.name, Literal(agent.get("name") or "Unknown publisher")))
    graph.set((node, DCTERMS.type, URIRef(kind) if "://" in kind else ADMS_PUBLISHER[kind]))
    typed(graph, graph.value(node, DCTERMS.type), SKOS.Concept)
    return node


def _add_licence(graph: Graph, iri: URIRef) -> URIRef:
    graph.add((iri, RDF.type, DCTERMS.LicenseDocument))
    code = str(iri).rsplit("/", 1)[-1]
    if str(iri).startswith(str(LICENCE)) and code in LICENCE_TYPES:
        link(graph, iri, DCTERMS.type, ADMS_LICENCE[LICENCE_TYPES[code]], SKOS.Concept)
    return iri


def _add_contact(graph: Graph, iris: Iris, item: Entry) -> URIRef:
    node = iris.part(item.name, "contact")
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, RDF.type, VCARD.Organization))
    graph.add((node, VCARD.fn, Literal(item.contact.get("name") or item.publisher.get("name", ""))))
    if item.contact.get("email"):
        graph.add((node, VCARD.hasEmail, URIRef("mailto:" + item.contact["email"])))
    return node


def _add_spatial(graph: Graph, iris: Iris, item: Entry) -> URIRef | None:
    if item.spatial.startswith(("http://", "https://")):
        return URIRef(item.spatial)
    bbox = item.version.bbox
    if not bbox and not item.spatial:
        return None
    node = iris.part(item.name, "spatial")
    graph.add((node, RDF.type, DCTERMS.Location))
    if item.spatial:
        graph.add((node, SKOS.prefLabel, Literal(item.spatial)))
    if bbox and all(math.isfinite(v) for v in bbox):
        w, s, e, n = bbox
        wkt = f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"
        graph.add((node, DCAT.bbox, Literal(wkt, datatype=GSP.wktLiteral)))
        centre = f"POINT({(w + e) / 2:.7f} {(s + n) / 2:.7f})"
        graph.add((node, DCAT.centroid, Literal(centre, datatype=GSP.wktLiteral)))
    return node


def _byte_size(settings: Settings, item: Entry, fmt: Format) -> int | None:
    if fmt.ext == "parquet":
        return item.version.size_bytes
    cached = cache_file(settings, item.version, fmt.ext)
    return cached.stat().st_size if cached.is_file() else None


def _formats(graph: Graph, node: URIRef, fmt: Format) -> None:
    link(graph, node, DCAT.mediaType, URIRef(fmt.media_type_iri), DCTERMS.MediaType)
    link(graph, node, DCTERMS.format, URIRef(fmt.file_type_iri), DCTERMS.MediaTypeOrExtent)


def _add_distribution(
    graph: Graph, iris: Iris, settings: Settings, item: Entry, fmt: Format
) -> URIRef:
    node = iris.part(item.name, fmt.ext)
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.title, Literal(f"{item.label('en')} ({fmt.label})", lang="en")))
    graph.add((node, DCAT.accessURL, iris.url(latest_path(item.name, fmt.ext))))
    graph.add(
        (node, DCAT.downloadURL, iris.url(download_path(item.name, item.version.version, fmt.ext)))
    )
    graph.add(
        (
            node,
            DCTERMS.description,
            Literal(
                f"{item.label('en')}: version {item.version.version} as {fmt.label}.", lang="en"
            ),
        )
    )
    _formats(graph, node, fmt)
    link(graph, node, DCATAP.availability, AVAILABILITY.STABLE, SKOS.Concept)
    graph.add(
        (node, DCTERMS.license, _add_licence(graph, licence_iri(item.license, item.license_url)))
    )
    graph.add((node, DCTERMS.modified, _stamp(item.modified)))
    size = _byte_size(settings, item, fmt)
    if size is not None:
        graph.add((node, DCAT.byteSize, Literal(size, datatype=XSD.nonNegativeInteger)))
    return node


def _add_api_distribution(graph: Graph, iris: Iris, item: Entry) -> URIRef:
    node = iris.part(item.name, "ogcapi")
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.title, Literal(f"{item.label('en')} (OGC API - Features)", lang="en")))
    # The items endpoint itself: what it answers is what `dcat:mediaType` says (GeoJSON).
    graph.add((node, DCAT.accessURL, iris.url(f"/collections/{item.name}/items")))
    graph.add((node, DCAT.accessService, iris.service))
    graph.add(
        (
            node,
            DCTERMS.description,
            Literal(
                f"{item.label('en')} through the OGC API - Features (GeoJSON, paged, filterable).",
                lang="en",
            ),
        )
    )
    _formats(graph, node, FORMATS["geojson"])
    link(graph, node, DCTERMS.conformsTo, OGC_FEATURES, DCTERMS.Standard)
    link(graph, node, DCATAP.availability, AVAILABILITY.AVAILABLE, SKOS.Concept)
    graph.add(
        (node, DCTERMS.license, _add_licence(graph, licence_iri(item.license, item.license_url)))
    )
    return node


def add_dataset(graph: Graph, iris: Iris, settings: Settings, item: Entry) -> URIRef:
    """One dcat:Dataset with its publisher, contact point, location and distributions."""
    node = iris.dataset(item.name)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(item.id)))
    _texts(graph, node, DCTERMS.title, item.title)
    _texts(graph, node, DCTERMS.description, item.description or {"en": item.label("en")})
    for lang, words in item.keywords.items():
        for word in words:
            graph.add((node, DCAT.keyword, Literal(word, lang=lang)))
    for theme in item.themes:
        link(graph, node, DCAT.theme, THEME[theme], SKOS.Concept)
    for lang in item.title:
        if lang in LANGUAGES:
            link(graph, node, DCTERMS.language, LANGUAGE[LANGUAGES[lang]], DCTERMS.LinguisticSystem)
    graph.add((node, DCTERMS.publisher, add_agent(graph, iris, item.publisher)))
    graph.add((node, DCAT.contactPoint, _add_contact(graph, iris, item)))
    if item.update_frequency in FREQUENCIES:
        link(
            graph,
            node,
            DCTERMS.accrualPeriodicity,
            FREQUENCY[FREQUENCIES[item.update_frequency]],
            DCTERMS.Frequency,
        )
    spatial = _add_spatial(graph, iris, item)
    if spatial is not None:
        graph.add((node, DCTERMS.spatial, spatial))
    graph.add((node, DCTERMS.issued, _stamp(item.issued)))
    graph.add((node, DCTERMS.modified, _stamp(item.modified)))
    link(graph, node, DCTERMS.accessRights, ACCESS.PUBLIC, DCTERMS.RightsStatement)
    graph.add((node, DCAT.version, Literal(str(item.version.version))))
    link(graph, node, DCAT.landingPage, iris.url(f"/api/datasets/{item.name}"), FOAF.Document)
    for fmt in formats_for(is_spatial(item.version)):
        graph.add((node, DCAT.distribution, _add_distribution(graph, iris, settings, item, fmt)))
    if is_spatial(item.version):
        graph.add((node, DCAT.distribution, _add_api_distribution(graph, iris, item)))
    return node


def add_service(graph: Graph, iris: Iris, info: CatalogInfo, items: list[Entry]) -> URIRef:
    """The OGC API - Features endpoint as a dcat:DataService serving the spatial datasets."""
    node = iris.service
    graph.add((node, RDF.type, DCAT.DataService))
    graph.add((node, DCTERMS.title, Literal("OGC API - Features", lang="en")))
    graph.add(
        (
            node,
            DCTERMS.description,
            Literal(
                "Features of every spatial dataset as GeoJSON, with bbox and CQL2 filtering.",
                lang="en",
            ),
        )
    )
    graph.add((node, DCAT.endpointURL, iris.url("/")))
    graph.add((node, DCAT.endpointDescription, iris.url("/openapi")))
    link(graph, node, DCTERMS.conformsTo, OGC_FEATURES, DCTERMS.Standard)
    for word in ("OGC API", "GeoJSON", "features"):
        graph.add((node, DCAT.keyword, Literal(word, lang="en")))
    for theme in sorted({t for i in items for t in i.themes}):
        link(graph, node, DCAT.theme, THEME[theme], SKOS.Concept)
    graph.add((node, DCTERMS.publisher, add_agent(graph, iris, info.publisher)))
    link(graph, node, DCTERMS.accessRights, ACCESS.PUBLIC, DCTERMS.RightsStatement)
    graph.add((node, DCTERMS.license, _add_licence(graph, licence_iri(info.licence))))
    for item in items:
        if is_spatial(item.version):
            graph.add((node, DCAT.servesDataset, iris.dataset(item.name)))
    return node


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


@dataclass(frozen=True)
class Page:
    """One page of the catalog (1-based)."""

    number: int = 1
    size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValueError("page must be 1 or more")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")

    def last(self, total: int) -> int:
        return max(1, math.ceil(total / self.size))


def page_url(iris: Iris, page: Page, number: int, suffix: str = "") -> str:
    return f"{iris.base}/dcat/catalog{suffix}?page={number}&page_size={page.size}"


def _add_paging(graph: Graph, iris: Iris, page: Page, total: int, suffix: str) -> None:
    """hydra:PagedCollection paging, shaped as ckanext-dcat emits it (page URLs as literals)."""
    node = URIRef(page_url(iris, page, page.number, suffix))
    last = page.last(total)
    graph.add((node, RDF.type, HYDRA.PagedCollection))
    graph.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((node, HYDRA.itemsPerPage, Literal(page.size, datatype=XSD.integer)))
    graph.add((node, HYDRA.firstPage, Literal(page_url(iris, page, 1, suffix))))
    graph.add((node, HYDRA.lastPage, Literal(page_url(iris, page, last, suffix))))
    if page.number < last:
        graph.add((node, HYDRA.nextPage, Literal(page_url(iris, page, page.number + 1, suffix))))
    if page.number > 1:
        graph.add(
            (node, HYDRA.previousPage, Literal(page_url(iris, page, page.number - 1, suffix)))
        )


def catalog_graph(
    settings: Settings,
    items: list[Entry],
    page: Page | None = None,
    suffix: str = "",
    *,
    hydra: bool = True,
) -> Graph:
    """The catalog with the datasets of one page (all of them when `page` is None); `hydra`
    adds the paging description (page URLs end with `suffix`, e.g. `.ttl`)."""
    iris = Iris(settings.base_url)
    info = CatalogInfo.of(settings)
    graph = new_graph()
    node = iris.catalog
    graph.add((node, RDF.type, DCAT.Catalog))
    _texts(graph, node, DCTERMS.title, info.title)
    _texts(graph, node, DCTERMS.description, info.description)
    graph.add((node, DCTERMS.publisher, add_agent(graph, iris, info.publisher)))
    graph.add((node, DCTERMS.license, _add_licence(graph, licence_iri(info.licence))))
    link(graph, node, FOAF.homepage, iris.url("/"), FOAF.Document)
    link(graph, node, DCAT.themeTaxonomy, URIRef(EU + "data-theme"), SKOS.ConceptScheme)
    graph.add((URIRef(EU + "data-theme"), DCTERMS.title, Literal("Data theme", lang="en")))
    for lang in info.title:
        link(graph, node, DCTERMS.language, LANGUAGE[LANGUAGES[lang]], DCTERMS.LinguisticSystem)
    if items:
        graph.add((node, DCTERMS.issued, _stamp(min(i.issued for i in items))))
        graph.add((node, DCTERMS.modified, _stamp(max(i.modified for i in items))))
    shown = items
    if page is not None:
        shown = items[(page.number - 1) * page.size : page.number * page.size]
        if hydra:
            _add_paging(graph, iris, page, len(items), suffix)
    for item in shown:
        graph.add((node, DCAT.dataset, add_dataset(graph, iris, settings, item)))
    graph.add((node, DCAT.service, add_service(graph, iris, info, shown)))
    return graph


def dataset_graph(settings: Settings, item: Entry) -> Graph:
    """One dataset's description on its own (what its dataset IRI dereferences to)."""
    graph = new_graph()
    add_dataset(graph, Iris(settings.base_url), settings, item)
    return graph


SERIALISATIONS = {
    "rdf": ("application/rdf+xml", "xml"),
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
}


def serialise(graph: Graph, ext: str) -> tuple[bytes, str]:
    """The graph's bytes and media type in one of `SERIALISATIONS`."""
    media_type, rdflib_format = SERIALISATIONS[ext]
    return graph.serialize(format=rdflib_format, encoding="utf-8"), media_type
