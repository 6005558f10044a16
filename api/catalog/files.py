"""Blueprint `api.catalog.files`: downloads of published versions (GeoParquet as stored, GeoJSON,
CSV and GeoPackage built on demand) with Range, strong ETags and immutable caching on versioned
URLs."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, redirect, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from api.auth.drafts import readable_version
from api.http import MAX_COUNT, ApiError, problem, whole_number
from opendata.errors import NotFound
from opendata.ingest.spec_model import NAME_RE
from opendata.settings import Settings
from opendata.store import exports, objects
from opendata.store.catalog import Catalog, Version

bp = Blueprint("files", __name__)
CONFORMANCE: list[str] = []
IMMUTABLE = "public, max-age=31536000, immutable"
LATEST_MAX_AGE = 60
#: How long a presigned download URL stays valid (redirect mode).
PRESIGNED_S = 900


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ApiError(404, f"no dataset named '{name[:80]}'", title="Not Found")


def _check_ext(ext: str) -> None:
    if ext not in exports.FORMATS:
        raise ApiError(
            404,
            f"unknown download format '{ext[:20]}'; use one of " + ", ".join(exports.FORMATS),
            title="Not Found",
        )


def _version(name: str, number: int | None) -> Version:
    """A published version, or one of a draft the caller owns (else the same 404)."""
    try:
        return Catalog(_settings().catalog_url).version(name, number)
    except NotFound:
        if (draft := readable_version(name, number)) is not None:
            return draft
        raise


@bp.get("/datasets/<name>/versions/<int:version>/<filename>")
def download(name: str, version: int, filename: str) -> Response:
    """One version of a dataset in one format; Range and conditional GET are honoured."""
    _check_name(name)
    stem, _, ext = filename.rpartition(".")
    if stem != name:
        raise ApiError(404, f"files of this version are named {name}.<format>", title="Not Found")
    _check_ext(ext)
    whole_number(version, "version", low=1)  # the catalog's integer column holds no more
    release = _version(name, version)
    if ext == "parquet" and _redirects(_settings()):
        return _presigned(release)
    path = exports.export_file(_settings(), release, ext)
    attachment = exports.download_name(name, version, ext)
    resp = send_file(
        path,
        mimetype=exports.FORMATS[ext].media_type,
        conditional=True,
        etag=release.content_hash if ext == "parquet" else exports.file_etag(path),
        last_modified=datetime.fromisoformat(release.created_at.replace("Z", "+00:00")),
    )
    resp.headers["Cache-Control"] = IMMUTABLE
    resp.headers["Accept-Ranges"] = "bytes"
    resp.headers["Content-Disposition"] = f'attachment; filename="{attachment}"'
    return resp


def _redirects(settings: Settings) -> bool:
    """Whether stored files are handed out as presigned URLs (`CIVIC_STORE_DOWNLOADS=redirect`
    on an object store) rather than sent through this host."""
    return settings.store_is_remote and settings.store_downloads == "redirect"


def _presigned(release: Version) -> Response:
    """302 to a presigned URL of the stored GeoParquet; the redirect is cached for less time than
    the URL lives, so a cached Location never points at an expired signature."""
    url = objects.presigned_url(_settings().store_url, release.path, seconds=PRESIGNED_S)
    resp = redirect(url, code=302)
    resp.headers["Cache-Control"] = f"private, max-age={PRESIGNED_S // 3}"
    return resp


@bp.errorhandler(RequestedRangeNotSatisfiable)
def _unsatisfiable(err: RequestedRangeNotSatisfiable) -> Response:
    """416 as problem+json, with the `Content-Range: bytes */<size>` RFC 9110 asks for."""
    headers = {"Content-Range": f"bytes */{err.length}"} if err.length is not None else {}
    return problem(416, "the requested range is outside the file", headers=headers)


@bp.get("/datasets/<name>/latest.<ext>")
def latest(name: str, ext: str) -> Response:
    """Redirect (302, briefly cacheable) to the current version's download."""
    _check_name(name)
    _check_ext(ext)
    version = _version(name, None)
    if exports.FORMATS[ext].spatial_only and not exports.is_spatial(version):
        raise ApiError(404, f"{name} has no geometry, so no .{ext} download", title="Not Found")
    resp = redirect(exports.download_path(name, version.version, ext), code=302)
    resp.headers["Cache-Control"] = f"public, max-age={LATEST_MAX_AGE}"
    return resp


def _file_responses(description: str) -> dict:
    return {
        "200": {
            "description": description,
            "content": {
                f.media_type: {"schema": {"type": "string", "format": "binary"}}
                for f in exports.FORMATS.values()
            },
        },
        "206": {"description": "The requested byte range (`Range: bytes=...`)."},
        "302": {"description": "GeoParquet on an object store in redirect mode: a presigned URL."},
        "304": {"description": "Not modified (`If-None-Match` / `If-Modified-Since`)."},
        "404": {"description": "No such dataset, version or format."},
        "416": {"description": "Range not satisfiable."},
    }


_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": NAME_RE.pattern},
}
_EXT = {"type": "string", "enum": list(exports.FORMATS)}


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    return {
        "/datasets/{name}/versions/{version}/{filename}": {
            "get": {
                "tags": ["Files"],
                "summary": "Download an immutable version (GeoParquet, GeoJSON, CSV, GeoPackage)",
                "operationId": "downloadVersion",
                "parameters": [
                    _NAME,
                    {
                        "name": "version",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
                    },
                    {
                        "name": "filename",
                        "in": "path",
                        "required": True,
                        "description": "`{name}.{ext}` with ext one of "
                        + ", ".join(exports.FORMATS),
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "Range",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "example": "bytes=0-1023"},
                    },
                ],
                "responses": _file_responses("The file; cacheable forever (immutable)."),
            }
        },
        "/datasets/{name}/latest.{ext}": {
            "get": {
                "tags": ["Files"],
                "summary": "Redirect to the current version's download",
                "operationId": "downloadLatest",
                "parameters": [
                    _NAME,
                    {"name": "ext", "in": "path", "required": True, "schema": _EXT},
                ],
                "responses": {
                    "302": {"description": "Location of the versioned file."},
                    "404": {"description": "No such dataset or format."},
                },
            }
        },
    }
