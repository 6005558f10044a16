"""Static assets (Leaflet, the site's CSS and JS): fingerprinted URLs, gzip and HTTP caching.

At start-up every file under the static folder is read once, hashed and, when it is text,
gzip-compressed in memory. Templates ask `asset_url("vendor/leaflet-1.9.4/leaflet.js")` for
`/static/vendor/leaflet-1.9.4/leaflet.<hash>.js`, which is served with a one-year immutable cache
lifetime; the plain name (`/static/vendor/leaflet-1.9.4/leaflet.js`, used by folium map pages
and relative `url(images/...)` in Leaflet's CSS) keeps working with a short lifetime.

Written here rather than taken from a library: WhiteNoise is WSGI middleware outside Flask's
hooks (CORS, nosniff, problem+json 404s) and wants the compressed copies written beside the
sources; Flask-Static-Digest needs a build step that writes into the package. What is ours is
the index built at start-up; conditional GET (ETag, 304) is werkzeug's `make_conditional`.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, request
from flask_cors import cross_origin

from api.http import ApiError

PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"
#: Lifetime of an unfingerprinted URL: its content changes with the next deployment.
SHORT_MAX_AGE = 300
#: Characters of the content hash in a fingerprinted name (48 bits: no collisions in practice).
HASH_CHARS = 12
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


@dataclass(frozen=True)
class Asset:
    """One static file as served: its bytes, their gzip form (if smaller) and its hash."""

    path: str  #: relative to the static folder, with `/` separators
    media_type: str
    data: bytes
    gzipped: bytes | None
    digest: str  #: hex content hash (HASH_CHARS characters)

    @property
    def fingerprinted(self) -> str:
        """`dir/name.<digest>.ext` (the digest before the last suffix, so relative URLs in
        the file still resolve in the same folder).

        >>> Asset("v/leaflet.js", "text/javascript", b"", None, "0123abcd4567").fingerprinted
        'v/leaflet.0123abcd4567.js'
        """
        stem, dot, ext = self.path.rpartition(".")
        if not dot or "/" in ext:
            return f"{self.path}.{self.digest}"
        return f"{stem}.{self.digest}.{ext}"


def _media_type(path: Path) -> str:
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return "text/javascript" if guessed == "application/javascript" else guessed


def load_asset(root: Path, path: Path) -> Asset:
    """Read, hash and (for text) gzip one file once."""
    data = path.read_bytes()
    media_type = _media_type(path)
    gzipped = None
    if media_type.startswith(TEXT_TYPES) and len(data) >= 256:
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(data) else None
    digest = hashlib.sha256(data).hexdigest()[:HASH_CHARS]
    return Asset(path.relative_to(root).as_posix(), media_type, data, gzipped, digest)


@dataclass(frozen=True)
class AssetIndex:
    """Every static file by its plain and its fingerprinted name."""

    plain: dict[str, Asset]
    hashed: dict[str, Asset]

    @classmethod
    def build(cls, root: Path) -> AssetIndex:
        """Index every file under `root` (hidden files and folders are skipped)."""
        assets = [
            load_asset(root, p)
            for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ]
        return cls({a.path: a for a in assets}, {a.fingerprinted: a for a in assets})

    def url(self, path: str) -> str:
        """The fingerprinted URL of a static file (a typo fails loudly at render time)."""
        asset = self.plain.get(path)
        if asset is None:
            raise LookupError(f"no static file {path!r}")
        return f"{PREFIX}/{asset.fingerprinted}"


def _wants_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def serve(index: AssetIndex, filename: str) -> Response:
    """One asset: gzip when the client takes it, immutable when asked by fingerprint."""
    asset = index.hashed.get(filename)
    immutable = asset is not None
    asset = asset or index.plain.get(filename)
    if asset is None:
        raise ApiError(404, f"no static file '{filename[:80]}'", title="Not Found")
    packed = asset.gzipped is not None and _wants_gzip()
    resp = Response(asset.gzipped if packed else asset.data, mimetype=asset.media_type)
    resp.set_etag(asset.digest + ("-gz" if packed else ""))
    resp.headers["Cache-Control"] = IMMUTABLE if immutable else f"public, max-age={SHORT_MAX_AGE}"
    if asset.gzipped is not None:
        resp.vary.add("Accept-Encoding")
    if packed:
        resp.headers["Content-Encoding"] = "gzip"
    return resp.make_conditional(request)


def install(app: Flask, root: Path) -> AssetIndex:
    """Index `root`, serve it under /static (endpoint `static`) and give templates
    `asset_url(path)`."""
    index = AssetIndex.build(root)
    app.add_url_rule(
        f"{PREFIX}/<path:filename>",
        endpoint="static",
        # Open data's assets are readable from every origin, like the read blueprints.
        view_func=cross_origin(origins="*", send_wildcard=True, methods=["GET", "HEAD"])(
            lambda filename: serve(index, filename)
        ),
        methods=["GET"],
    )
    app.add_template_global(index.url, name="asset_url")
    app.extensions["civic_assets"] = index
    return index
