"""One settings object built from `CIVIC_*` environment variables with demo-friendly defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

#: Optional catalog-level metadata for DCAT (`CIVIC_CATALOG_TITLE`, ...), kept in `extra`.
EXTRA_KEYS = (
    "CATALOG_TITLE",
    "CATALOG_DESCRIPTION",
    "CATALOG_PUBLISHER_NAME",
    "CATALOG_PUBLISHER_URI",
    "CATALOG_PUBLISHER_TYPE",
    "CATALOG_LICENCE",
    "SCENARIO_JOBS_URL",
    "SCENARIO_WORKERS",
    "SCENARIO_SUBMIT_PER_MINUTE",
    "SCENARIO_MAX_QUEUE",
    "DASK_SCHEDULER",
    "LANG_FALLBACK",
)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CIVIC_{name}", default)


@dataclass(frozen=True)
class Settings:
    """Where data lives and how the platform behaves; pass it around, never mutate it."""

    data_dir: Path = Path("data")
    catalog_url: str = ""
    datasets_dir: Path = Path("datasets")
    #: Source paths in specs must resolve inside one of these folders.
    source_roots: tuple[Path, ...] = ()
    #: Secret for keyed hashing of personal data columns (HMAC-SHA256).
    hash_key: str = "civic-demo-key-change-me"
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    #: Per-client requests per second (per worker process); 0 turns rate limiting off.
    rate_limit: float = 50.0
    rate_burst: int = 200
    #: SQL endpoint sandbox limits.
    sql_timeout_s: float = 5.0
    sql_max_rows: int = 10_000
    sql_memory_mb: int = 512
    #: OGC API items: the page size when `limit` is absent, and the clamp for larger values.
    items_default_limit: int = 10
    items_max_limit: int = 10_000
    #: Basemap tiles for the website (the only third-party request pages may make).
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap contributors"
    #: Let `civic ingest` take the columnar path for clean point CSVs (see opendata/columnar.py).
    columnar: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.catalog_url:
            object.__setattr__(self, "catalog_url", f"sqlite:///{self.data_dir / 'catalog.db'}")
        if not self.source_roots:
            object.__setattr__(self, "source_roots", (self.datasets_dir,))

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read `CIVIC_DATA_DIR`, `CIVIC_CATALOG_URL`, ... ; keyword overrides win."""
        data_dir = Path(_env("DATA_DIR", "data"))
        datasets_dir = Path(_env("DATASETS_DIR", "datasets"))
        roots = _env("SOURCE_ROOTS", "")
        base = cls(
            data_dir=data_dir,
            catalog_url=_env("CATALOG_URL", ""),
            datasets_dir=datasets_dir,
            source_roots=tuple(Path(p) for p in roots.split(os.pathsep) if p),
            hash_key=_env("HASH_KEY", "civic-demo-key-change-me"),
            base_url=_env("BASE_URL", ""),
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", "8000")),
            workers=int(_env("WORKERS", "2")),
            rate_limit=float(_env("RATE_LIMIT", "50")),
            rate_burst=int(_env("RATE_BURST", "200")),
            sql_timeout_s=float(_env("SQL_TIMEOUT_S", "5")),
            sql_max_rows=int(_env("SQL_MAX_ROWS", "10000")),
            sql_memory_mb=int(_env("SQL_MEMORY_MB", "512")),
            tile_url=_env("TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
            tile_attribution=_env("TILE_ATTRIBUTION", "© OpenStreetMap contributors"),
            items_default_limit=int(_env("ITEMS_DEFAULT_LIMIT", "10")),
            items_max_limit=int(_env("ITEMS_MAX_LIMIT", "10000")),
            columnar=_env("COLUMNAR", "1") not in ("0", "false", "no", "off"),
        )
        extra = {
            key.lower(): os.environ[f"CIVIC_{key}"]
            for key in EXTRA_KEYS
            if f"CIVIC_{key}" in os.environ
        }
        base = replace(base, extra=extra)
        if not base.base_url:
            base = replace(base, base_url=f"http://{base.host}:{base.port}")
        return replace(base, **overrides) if overrides else base
