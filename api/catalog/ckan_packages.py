"""CKAN-shaped dicts for our catalog entries: package, resource and organization, as CKAN 2.10
returns them (plus ckanext-fluent style `title_translated`/`notes_translated`)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from opendata.metadata.languages import pick
from opendata.metadata.search import Entry, fold
from opendata.store import exports

LICENSES = {
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC0-1.0": "Creative Commons CCZero",
    "CC-BY-SA-4.0": "Creative Commons Attribution Share-Alike 4.0",
    "ODbL-1.0": "Open Data Commons Open Database License (ODbL)",
    "ODC-By-1.0": "Open Data Commons Attribution License",
    "PDDL-1.0": "Open Data Commons Public Domain Dedication and License (PDDL)",
}
ORG_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:civic-platform:organization")
GROUP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:civic-platform:group")


def _stamp(value: str) -> str:
    """CKAN's timestamp style: naive UTC with microseconds."""
    return value.replace("Z", "").split("+")[0] + (".000000" if "." not in value else "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", fold(text)).strip("-")[:100] or "organization"


def organization(publisher: dict[str, str], created: str = "") -> dict[str, Any]:
    """A CKAN organization dict for a spec's publisher."""
    name = _slug(publisher.get("name", ""))
    return {
        "id": str(uuid.uuid5(ORG_NAMESPACE, name)),
        "name": name,
        "title": publisher.get("name", name),
        "display_name": publisher.get("name", name),
        "description": "",
        "image_url": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "created": _stamp(created),
    }


def group(theme: str) -> dict[str, Any]:
    """A CKAN group dict for a DCAT theme code (e.g. `TRAN`)."""
    name = theme.lower()
    return {
        "id": str(uuid.uuid5(GROUP_NAMESPACE, name)),
        "name": name,
        "title": theme,
        "display_name": theme,
        "description": "",
        "image_url": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
    }


def resources(base: str, item: Entry) -> list[dict[str, Any]]:
    """One resource per download format plus the OGC API collection."""
    version = item.version
    out = []
    for position, fmt in enumerate(exports.formats_for(exports.is_spatial(version))):
        out.append(
            {
                "url": base + exports.download_path(item.name, version.version, fmt.ext),
                "format": fmt.label,
                "mimetype": fmt.media_type,
                "name": f"{item.label()} ({fmt.label})",
                "size": version.size_bytes if fmt.ext == "parquet" else None,
                "position": position,
            }
        )
    if exports.is_spatial(version):
        out.append(
            {
                "url": f"{base}/collections/{item.name}/items",
                "format": "OGC API Features",
                "mimetype": "application/geo+json",
                "name": f"{item.label()} (OGC API - Features)",
                "size": None,
                "position": len(out),
            }
        )
    for res in out:
        res.update(
            id=str(uuid.uuid5(uuid.UUID(item.id), res["format"])),
            package_id=item.id,
            description="",
            last_modified=_stamp(item.modified),
            created=_stamp(item.issued),
            state="active",
            url_type=None,
            resource_type=None,
            hash="",
        )
    return out


def package(base: str, item: Entry) -> dict[str, Any]:
    """A CKAN package dict (with ckanext-fluent style `*_translated` fields)."""
    tags = [
        {"name": t, "display_name": t, "state": "active", "vocabulary_id": None}
        for t in item.all_keywords
    ]
    res = resources(base, item)
    extras = {
        "spatial": json.dumps(_bbox_geojson(item.version.bbox)) if item.version.bbox else None,
        "dcat_identifier": item.id,
        "update_frequency": item.update_frequency,
        "version": str(item.version.version),
        "rows": str(item.version.rows),
        "attribution": item.attribution,
        "themes": ",".join(item.themes),
        "dcat_uri": f"{base}/dcat/datasets/{item.name}",
    }
    return {
        "id": item.id,
        "name": item.name,
        "title": item.label("en"),
        "notes": pick(item.description, "en").text,
        "title_translated": item.title,
        "notes_translated": item.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "version": str(item.version.version),
        "url": f"{base}/api/datasets/{item.name}",
        "author": item.publisher.get("name", ""),
        "author_email": None,
        "maintainer": item.contact.get("name", ""),
        "maintainer_email": item.contact.get("email", ""),
        "license_id": item.license,
        "license_title": LICENSES.get(item.license, item.license),
        "license_url": item.license_url,
        "isopen": item.license in LICENSES,
        "metadata_created": _stamp(item.issued),
        "metadata_modified": _stamp(item.modified),
        "organization": organization(item.publisher, item.issued),
        "owner_org": organization(item.publisher)["id"],
        "tags": tags,
        "num_tags": len(tags),
        "groups": [group(t) for t in item.themes],
        "resources": res,
        "num_resources": len(res),
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def _bbox_geojson(bbox: list[float]) -> dict[str, Any]:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
