"""HTTP behaviour shared by every blueprint, written once: content negotiation, strong ETags and
conditional GET, the Content-Security-Policy, problem+json errors, read-only CORS (Flask-CORS
per blueprint), gzip, rate limits (Flask-Limiter), trusted-proxy handling (ProxyFix) and
request ids."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_cors import CORS
from flask_limiter import Limiter, RequestLimit
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from opendata.errors import NotFound, SpecError
from twin.errors import USER_ERRORS

PROBLEM = "application/problem+json"
COMPRESSIBLE = (
    "application/json",
    "application/geo+json",
    "application/problem+json",
    "text/html",
    "text/csv",
    "text/turtle",
    "application/ld+json",
    "application/rdf+xml",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/vnd.mapbox-vector-tile",
)


#: The largest count (limit, offset, page, rows, start...) any parameter accepts: 2^31 - 1, which
#: every client language and database holds, and beyond any catalog or dataset we serve.
MAX_COUNT = 2**31 - 1
_WHOLE = re.compile(r"[+-]?[0-9]+")


class ApiError(Exception):
    """An error with an HTTP status, rendered as RFC 9457 problem+json."""

    def __init__(
        self, status: int, detail: str, *, title: str = "", headers: Mapping[str, str] | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = dict(headers or {})


def problem(
    status: int, detail: str, *, title: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    """A problem+json response (`type`, `title`, `status`, `detail`, `instance`)."""
    from werkzeug.http import HTTP_STATUS_CODES

    title = title or HTTP_STATUS_CODES.get(status, "Error")
    body = {
        "type": f"about:blank#{status}" if status != 400 else "about:blank#bad-request",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.full_path.rstrip("?") if request else "",
        "request_id": request_id() if request else "",
    }
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def negotiate(formats: Mapping[str, str], *, param: str | None = "f", strict: bool = False) -> str:
    """The media type a request asks for: `?f=` (a key of `formats`) wins, then the Accept
    header; the first of `formats` when the client states no preference. A client asking for
    `application/json` gets the `json` entry (e.g. GeoJSON). `strict`: an Accept header naming
    none of `formats` is a 406 instead of the default."""
    if param is not None and (asked := request.args.get(param)) is not None:
        if asked not in formats:
            raise ApiError(
                400, f"{param}: unsupported format '{asked[:20]}'; use {', '.join(formats)}"
            )
        return formats[asked]
    offers = list(dict.fromkeys(formats.values()))
    accept = request.accept_mimetypes
    if not accept or accept.best == "*/*":
        return offers[0]
    alias = formats.get("json") if "application/json" not in offers else None
    # application/json right after the default, so it wins ties with later offers as before
    candidates = offers[:1] + ["application/json"] + offers[1:] if alias else offers
    best = accept.best_match(candidates, default=None)
    if best is None:
        if strict:
            raise ApiError(
                406, "this resource is available as " + ", ".join(offers), title="Not Acceptable"
            )
        return offers[0]
    return alias if best == "application/json" and alias else best


def allow_params(allowed: set[str]) -> None:
    """Refuse query parameters the resource does not know (a 400 naming what is allowed)."""
    for key in request.args:
        if key not in allowed:
            raise ApiError(
                400,
                f"unknown query parameter '{key[:40]}'; allowed here: {', '.join(sorted(allowed))}",
            )


def whole_number(value: object, name: str, *, low: int, high: int = MAX_COUNT) -> int:
    """`value` (query text or a JSON number) as an int from `low` to `high`, else a 400 that
    names the parameter and the range (never an overflow further down).

    >>> whole_number(" 20 ", "limit", low=1)
    20
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(text := value.strip()):
        number = int(text) if len(text) <= 20 else (high + 1 if text[0] != "-" else low - 1)
    else:
        shown = str(value)[:40]
        raise ApiError(400, f"{name}: expected a whole number from {low} to {high}, got '{shown}'")
    if not low <= number <= high:
        raise ApiError(400, f"{name}: must be from {low} to {high}, got {str(value).strip()[:40]}")
    return number


def vary_on_accept(resp: Response) -> Response:
    """Representations depend on the Accept header, so caches must key on it (after_request)."""
    resp.vary.add("Accept")
    return resp


def etag_for(source: str) -> str:
    """A strong ETag for what was built from `source` (e.g. content hashes) for this request."""
    return hashlib.sha256((source + request.full_path).encode()).hexdigest()[:32]


def not_modified(tag: str, *, max_age: int | None = None) -> Response | None:
    """A 304 when the client's If-None-Match holds `tag` or its gzip variant (see `_gzip`)."""
    held = request.if_none_match
    for candidate in (tag, tag + "-gz"):
        if held.contains(candidate) or held.star_tag:
            resp = Response(status=304)
            resp.set_etag(candidate)
            if max_age is not None:
                resp.headers["Cache-Control"] = f"public, max-age={max_age}"
            return resp
    return None


def cacheable(resp: Response, tag: str, *, max_age: int) -> Response:
    """Give a response its strong ETag and a public cache lifetime."""
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


def json_response(
    data: Any,
    *,
    status: int = 200,
    mimetype: str = "application/json",
    etag_source: str | None = None,
    max_age: int = 60,
) -> Response:
    """Serialise `data`; with `etag_source` (e.g. the content hashes it was built from) the
    response gets a strong ETag and answers conditional GETs with 304."""
    tag = etag_for(etag_source) if etag_source is not None else None
    if tag is not None and (cached := not_modified(tag, max_age=max_age)) is not None:
        return cached
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    resp = Response(body, status=status, mimetype=mimetype)
    return cacheable(resp, tag, max_age=max_age) if tag is not None else resp


def csp(tile_url: str, *, inline: bool = False) -> str:
    """A Content-Security-Policy that lets pages load nothing from other hosts but map tiles;
    `inline` allows inline scripts and styles (self-contained folium map pages only).

    >>> "img-src 'self' data: https://*.tile.example.org" in csp("https://{s}.tile.example.org/{z}")
    True
    """
    parts = urlsplit(tile_url.replace("{s}", "a"))
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
    tiles = f" {parts.scheme}://{host}" if parts.scheme in ("http", "https") and host else ""
    code = "'self' 'unsafe-inline'" if inline else "'self'"
    return (
        "default-src 'self'; "
        f"img-src 'self' data:{tiles}; "
        f"script-src {code}; style-src {code}; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


#: A request id a proxy or client may pass on: short and header-safe, else we make our own.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Probes and scrapes are never rate limited (a load balancer polls them).
UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id() -> str:
    """This request's id: the `X-Request-Id` a proxy sent when well-formed, else a new one.
    Echoed in the `X-Request-Id` header, in every problem+json and in the JSON logs."""
    if "request_id" not in g:
        sent = request.headers.get("X-Request-Id", "")
        g.request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return str(g.request_id)


def limit_string(rate: float, burst: int) -> str:
    """`rate` requests/s with bursts of `burst`, as the sliding window the limits library keeps
    (a token bucket it does not have): `burst` requests per `burst / rate` seconds.

    >>> limit_string(50, 200), limit_string(2, 1)
    ('200 per 4 second', '2 per 1 second')
    """
    window = max(1, math.ceil(burst / rate))
    return f"{max(1, round(rate * window))} per {window} second"


def _too_many(limit: RequestLimit) -> Response:
    wait = max(1, math.ceil(limit.reset_at - time.time()))
    detail = "too many requests from this client; slow down"
    return problem(429, detail, headers={"Retry-After": str(wait)})


def _limiter(app: Flask, rate: float, burst: int, storage: str) -> None:
    """Flask-Limiter keyed by client address, its counters in `storage` (`memory://` per
    process, or e.g. `redis://host:6379` shared by every host); expired windows are evicted, so
    memory stays bounded. If the storage fails, requests pass (logged) rather than fail."""
    limiter = Limiter(
        key_func=lambda: request.remote_addr or "?",
        app=app,
        default_limits=[limit_string(rate, burst)],
        storage_uri=storage,
        strategy="sliding-window-counter",
        swallow_errors=True,
        on_breach=_too_many,
    )
    limiter.request_filter(lambda: request.path in UNLIMITED)
    app.extensions["civic_rate_limiter"] = limiter


def _gzip(resp: Response) -> Response:
    if (
        resp.direct_passthrough
        or resp.status_code < 200
        or resp.status_code in (204, 206, 304)
        or "Content-Encoding" in resp.headers
        or "Content-Range" in resp.headers
        or "gzip" not in request.headers.get("Accept-Encoding", "")
        or resp.mimetype not in COMPRESSIBLE
    ):
        return resp
    data = resp.get_data()
    if len(data) < 1024:
        return resp
    resp.set_data(gzip.compress(data, compresslevel=5))
    resp.headers["Content-Encoding"] = "gzip"
    resp.vary.add("Accept-Encoding")
    resp.vary.add("Accept")
    if resp.headers.get("ETag") and not resp.headers["ETag"].startswith("W/"):
        resp.headers["ETag"] = resp.headers["ETag"][:-1] + '-gz"'
    return resp


def _refuse_foreign_preflight(resp: Response) -> None:
    """Flask-CORS answers a preflight for a method the route does not open (a write) with
    `Access-Control-Allow-Origin` but without `Allow-Methods`; drop the origin too, so the
    browser refuses it outright and a foreign page learns nothing."""
    asked = request.headers.get("Access-Control-Request-Method")
    if request.method == "OPTIONS" and asked and "Access-Control-Allow-Methods" not in resp.headers:
        for key in [k for k in resp.headers.keys() if k.startswith("Access-Control-")]:
            del resp.headers[key]


def _after(resp: Response) -> Response:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers["X-Request-Id"] = request_id()
    _refuse_foreign_preflight(resp)
    resp = _gzip(resp)
    return resp


#: Headers a cross-origin reader may see.
EXPOSED = [
    "ETag",
    "Link",
    "Content-Crs",
    "Content-Range",
    "Content-Disposition",
    "Retry-After",
    "X-Request-Id",
]
READS = ("GET", "HEAD", "OPTIONS")
_CORS_DONE: set[str] = set()


def open_cors(bp: Blueprint, *, methods: tuple[str, ...] = READS) -> None:
    """Let every origin read what `bp` serves (open data), with Flask-CORS on that blueprint
    only: write blueprints get no `Access-Control-Allow-Origin` and no preflight. A blueprint
    is a module singleton, so this runs once, before its first registration."""
    if bp.name in _CORS_DONE:
        return
    CORS(
        bp,
        origins="*",
        send_wildcard=True,
        methods=list(methods),
        expose_headers=EXPOSED,
        max_age=86400,
    )
    _CORS_DONE.add(bp.name)


def _handle_http(err: HTTPException) -> Response:
    if err.response is not None:  # already a full answer (Flask-Limiter's 429 from `_too_many`)
        return err.response  # type: ignore[return-value]
    passed = {
        k: v for k, v in err.get_headers() if k.lower() not in ("content-type", "content-length")
    }
    return problem(err.code or 500, err.description or err.name, title=err.name, headers=passed)


def _handle_api(err: ApiError) -> Response:
    return problem(err.status, err.detail, title=err.title, headers=err.headers)


def _handle_civic(err: Exception) -> Response:
    """A user error of the platform or the traffic engine: 404, 400 for a bad spec, else 422."""
    status = 404 if isinstance(err, NotFound) else 400 if isinstance(err, SpecError) else 422
    return problem(status, str(err))


def _handle_other(err: Exception) -> Response:
    current_app.logger.exception("unhandled error (request %s)", request_id())
    return problem(500, "internal server error; the incident was logged")


def install(
    app: Flask, *, rate: float, burst: int, storage: str = "memory://", proxies: int = 0
) -> None:
    """Wire the shared behaviour into an app. Behind `proxies` trusted reverse proxies the client
    address and scheme come from their `X-Forwarded-For`/`-Proto` (werkzeug's ProxyFix takes
    exactly that many hops from the right); with 0, those headers are ignored."""
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    if rate > 0:
        _limiter(app, rate, burst, storage)
    app.after_request(_after)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(ApiError, _handle_api)
    for user_error in USER_ERRORS:
        app.register_error_handler(user_error, _handle_civic)
    app.register_error_handler(Exception, _handle_other)
