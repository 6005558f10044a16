"""The Flask app factory: composes blueprints and shared HTTP behaviour, owns nothing else."""

from __future__ import annotations

import importlib
from pathlib import Path

from flask import Flask

from api import assets, http, ops
from api.auth import setup as auth_setup
from opendata.settings import Settings

#: Blueprint modules, in registration order. Each exposes `bp` (a Blueprint), `CONFORMANCE`
#: (the OGC conformance class URIs it implements) and `openapi_paths(settings) -> dict`.
BLUEPRINT_MODULES = (
    "api.ogc.core",
    "api.ops",
    "api.ogc.features",
    "api.ogc.tiles",
    "api.catalog.files",
    "api.catalog.datasets",
    "api.catalog.sql",
    "api.catalog.dcat",
    "api.catalog.ckan",
    "api.site.pages",
    "api.scenarios",
    "api.network",
    "api.scenario_writes",
    "api.site.studio",
)
#: Blueprints a foreign origin may not call (no CORS at all), and read blueprints that also
#: answer read-only POSTs (SQL, CKAN actions) from any origin.
NO_CORS = {"api.scenario_writes", "api.site.studio"}
POST_READS = {"api.catalog.sql", "api.catalog.ckan"}

#: The site's static files, served by `api.assets` (fingerprinted, gzipped, cacheable).
STATIC_DIR = Path(__file__).parent / "site" / "static"


def blueprint_modules() -> list:
    """The imported blueprint modules (an import error fails loudly)."""
    return [importlib.import_module(name) for name in BLUEPRINT_MODULES]


def registered_modules(app: Flask) -> list:
    """The blueprint modules an app was built from (`api.ogc.core` collects their contracts)."""
    return app.extensions["civic_blueprint_modules"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for `settings` (from the environment when omitted)."""
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        static_folder=None,  # served by `api.assets`: fingerprinted, gzipped, cacheable
        template_folder="site/templates",
    )
    app.config["CIVIC_SETTINGS"] = settings
    app.json.ensure_ascii = False
    app.url_map.strict_slashes = False
    http.install(
        app,
        rate=settings.rate_limit,
        burst=settings.rate_burst,
        storage=settings.rate_limit_storage,
        proxies=settings.trusted_proxies,
    )
    ops.install(app)
    assets.install(app, STATIC_DIR)
    auth_setup.install(app, settings)
    modules = blueprint_modules()
    app.extensions["civic_blueprint_modules"] = modules
    for module in modules:
        if module.__name__ not in NO_CORS:
            extra = ("POST",) if module.__name__ in POST_READS else ()
            http.open_cors(module.bp, methods=http.READS + extra)
        app.register_blueprint(module.bp)
    return app


def settings_of(app: Flask) -> Settings:
    """The settings an app was built with."""
    return app.config["CIVIC_SETTINGS"]
