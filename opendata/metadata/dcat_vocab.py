"""Vocabularies and IRIs of the DCAT-AP output: namespaces, the EU Publications Office code
lists our specs map to (themes, frequencies, licences, languages), and the IRIs we mint."""

from __future__ import annotations

import re
from urllib.parse import quote

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, SKOS

#: An open namespace: rdflib's closed DCAT lacks DCAT 3 terms such as dcat:version.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS_PUBLISHER = Namespace("http://purl.org/adms/publishertype/")
EU = "http://publications.europa.eu/resource/authority/"
THEME = Namespace(EU + "data-theme/")
FREQUENCY = Namespace(EU + "frequency/")
LICENCE = Namespace(EU + "licence/")
LANGUAGE = Namespace(EU + "language/")
ACCESS = Namespace(EU + "access-right/")
AVAILABILITY = Namespace(EU + "planned-availability/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
RDFS_RESOURCE = URIRef("http://www.w3.org/2000/01/rdf-schema#Resource")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
OGC_FEATURES = URIRef("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core")
PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "vcard": VCARD,
    "hydra": HYDRA,
    "skos": SKOS,
    "gsp": GSP,
    "dcatap": DCATAP,
}

#: `update_frequency` in specs -> EU frequency code.
FREQUENCIES = {
    "continuous": "UPDATE_CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "annual": "ANNUAL",
    "irregular": "IRREG",
    "never": "NEVER",
    "unknown": "UNKNOWN",
}
#: SPDX-style licence ids -> EU licence NAL code.
LICENCES = {
    "CC-BY-4.0": "CC_BY_4_0",
    "CC0-1.0": "CC0",
    "CC-BY-SA-4.0": "CC_BYSA_4_0",
    "ODbL-1.0": "ODC_BL",
    "ODC-By-1.0": "ODC_BY",
    "PDDL-1.0": "ODC_PDDL",
    "EUPL-1.2": "EUPL_1_2",
    "MIT": "MIT",
    "Apache-2.0": "APACHE_2_0",
}
#: EU licence code -> ADMS licence type (the recommended dct:type of a licence document).
LICENCE_TYPES = {
    "CC_BY_4_0": "Attribution",
    "ODC_BY": "Attribution",
    "ODC_BL": "ShareAlike",
    "CC_BYSA_4_0": "ShareAlike",
    "CC0": "PublicDomain",
    "ODC_PDDL": "PublicDomain",
}
ADMS_LICENCE = Namespace("http://purl.org/adms/licencetype/")
#: ISO 639-1 codes used in specs -> EU language code.
LANGUAGES = {
    "fi": "FIN",
    "sv": "SWE",
    "en": "ENG",
    "da": "DAN",
    "no": "NOR",
    "nb": "NOB",
    "nn": "NNO",
    "is": "ISL",
    "et": "EST",
    "de": "DEU",
}
#: English labels of the EU data themes (skos:prefLabel is mandatory on a skos:Concept).
THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENER": "Energy",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "INTR": "International issues",
    "JUST": "Justice, legal system and public safety",
    "OP_DATPRO": "Provisional data",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}


class Iris:
    """Every IRI the catalog mints, from one base URL."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def url(self, path: str) -> URIRef:
        return URIRef(self.base + path)

    @property
    def catalog(self) -> URIRef:
        return self.url("/dcat/catalog")

    @property
    def service(self) -> URIRef:
        return self.url("/dcat/services/ogc-api-features")

    def dataset(self, name: str) -> URIRef:
        return self.url(f"/dcat/datasets/{name}")

    def part(self, name: str, fragment: str) -> URIRef:
        return URIRef(f"{self.dataset(name)}#{fragment}")

    def agent(self, agent: dict[str, str]) -> URIRef:
        uri = agent.get("uri", "")
        if re.match(r"^https?://\S+$", uri):
            return URIRef(uri)
        slug = re.sub(r"[^a-z0-9]+", "-", agent.get("name", "agent").lower()).strip("-") or "agent"
        return self.url(f"/dcat/agents/{quote(slug)}")


def licence_iri(licence: str, url: str = "") -> URIRef:
    """The EU licence NAL IRI for an SPDX-style id, else the spec's licence URL."""
    if licence in LICENCES:
        return LICENCE[LICENCES[licence]]
    return URIRef(url) if url else LICENCE["OP_DATPRO"]


def typed(graph: Graph, iri: URIRef, cls: URIRef) -> URIRef:
    """Assert the class of a vocabulary IRI, so DCAT-AP's class-range shapes (range.ttl) hold
    without loading the EU vocabularies; a skos:Concept also gets its mandatory prefLabel."""
    graph.add((iri, RDF.type, cls))
    if cls == SKOS.Concept and graph.value(iri, SKOS.prefLabel) is None:
        code = re.split(r"[/#]", str(iri).rstrip("/"))[-1]
        label = THEME_LABELS.get(code) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", code).capitalize()
        graph.add((iri, SKOS.prefLabel, Literal(label, lang="en")))
    return iri


def link(graph: Graph, node: URIRef, prop: URIRef, iri: URIRef, cls: URIRef) -> None:
    """Add `node prop iri` and type `iri` as `cls`."""
    graph.add((node, prop, typed(graph, iri, cls)))
