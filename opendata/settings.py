"""One typed, frozen settings object, built once from `CIVIC_*` environment variables by
`Settings.from_env` (the only place the platform reads its environment), with demo defaults.

Paths are made absolute when the settings are built, against the working directory of the
command that built them: `CIVIC_DATA_DIR=./data` means the `data` folder where `civic` was
started, whatever folder a library later resolves relative paths against.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from opendata.city import CITY_FILE, City, load_city, with_env
from opendata.errors import SettingsError

#: Languages the platform writes metadata and pages in.
LANGUAGES = ("fi", "sv", "en", "da")
#: The city of settings built without one: replaced by the city file's when there is one.
_NEUTRAL = City()


@dataclass(frozen=True)
class Settings:
    """Where data lives and how the platform behaves; pass it around, never mutate it."""

    data_dir: Path = Path("data")
    #: Where published versions live, shared by every host of a deployment ("" = `data_dir`);
    #: a local or mounted folder (`/srv/store` or `file:///srv/store`).
    store_url: str = ""
    #: How bulk downloads of stored GeoParquet leave an object store: `proxy` (the API host sends
    #: its cached copy, with Range and ETag) or `redirect` (302 to a short-lived presigned URL, so
    #: the bytes, Range and ETag come from the S3 server itself). Local stores always send.
    store_downloads: str = "proxy"
    #: SQLAlchemy URL of the catalog; "" means `sqlite:///<data_dir>/catalog.db`.
    catalog_url: str = ""
    datasets_dir: Path = Path("datasets")
    #: Source paths in specs must resolve inside one of these folders (default: datasets_dir).
    source_roots: tuple[Path, ...] = ()
    #: Secret for keyed hashing of personal data columns (HMAC-SHA256).
    hash_key: str = "civic-demo-key-change-me"
    #: Public URL in links and DCAT; "" means `http://HOST:PORT`.
    base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    #: Per-client requests per second (per worker process); 0 turns rate limiting off.
    rate_limit: float = 50.0
    rate_burst: int = 200
    #: Where rate-limit counters live: `memory://` (per worker process) or a URL every host
    #: shares, e.g. `redis://host:6379` (Flask-Limiter / limits storage URLs).
    rate_limit_storage: str = "memory://"
    #: Reverse proxies in front of the API whose `X-Forwarded-For` is believed (0: none).
    trusted_proxies: int = 0
    #: SQL endpoint sandbox limits.
    sql_timeout_s: float = 5.0
    sql_max_rows: int = 10_000
    sql_memory_mb: int = 512
    #: OGC API items: the page size when `limit` is absent, and the clamp for larger values.
    items_default_limit: int = 10
    items_max_limit: int = 10_000
    #: A third-party raster basemap for the website, opt-in; empty (the default) draws our own
    #: vector tiles built from the published data, so pages contact no other host.
    tile_url: str = ""
    tile_attribution: str = "© OpenStreetMap contributors, ODbL 1.0"
    #: Let `civic ingest` take the columnar path for clean point CSVs (opendata/ingest/columnar.py).
    columnar: bool = True
    #: Where the city is, lon/lat (west, south, east, north): ingested features must lie inside
    #: (a spec's `schema.extent` overrides it). The default is the Helsinki region.
    city_bbox: tuple[float, float, float, float] = (24.5, 59.9, 25.5, 60.5)
    #: The city file (publisher, contact, city name, homepage); "" = `<datasets_dir>/city.toml`
    #: when it exists. `city` is what was read from it (and from `CIVIC_CITY_<KEY>` variables).
    city_file: Path = Path("")
    city: City = _NEUTRAL
    #: Metadata language order when a text is missing in the asked language.
    lang_fallback: tuple[str, ...] = ("fi", "sv", "en")
    #: What the DCAT catalog says about itself ("" = a neutral default, or the datasets' publisher).
    catalog_title: str = ""
    catalog_description: str = ""
    catalog_publisher_name: str = ""
    catalog_publisher_uri: str = ""
    catalog_publisher_type: str = ""
    catalog_licence: str = "CC0-1.0"
    #: Scenario service: job store URL ("" = `sqlite:///<data_dir>/scenario_jobs.db`), worker
    #: processes `civic serve` starts, submissions per client and minute, queue length.
    scenario_jobs_url: str = ""
    scenario_workers: int = 1
    scenario_submit_per_minute: int = 6
    scenario_max_queue: int = 100
    #: Address of a Dask scheduler for sweeps ("" = a local cluster).
    dask_scheduler: str = ""
    #: Fault injection for the crash tests: publication waits at this stage to be killed.
    pause_at: str = ""

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir).absolute()
        datasets_dir = Path(self.datasets_dir).absolute()
        derived = {
            "data_dir": data_dir,
            "datasets_dir": datasets_dir,
            "source_roots": tuple(Path(p).absolute() for p in self.source_roots) or (datasets_dir,),
            "catalog_url": self.catalog_url or f"sqlite:///{data_dir / 'catalog.db'}",
            "store_url": _store(self.store_url) if self.store_url else str(data_dir),
            "base_url": (self.base_url or self._derived_base_url()).rstrip("/"),
        }
        if self.city is _NEUTRAL:  # built without a city: read the file, as `from_env` does
            derived["city"] = _city_of(self.city_file, datasets_dir)
        for key, value in derived.items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every `CIVIC_<FIELD>` variable (upper-case field name); keyword overrides win.

        `CIVIC_SOURCE_ROOTS` and `CIVIC_LANG_FALLBACK` are lists (`:` and `,` separated); a
        value that does not parse is refused with the variable's name."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"CIVIC_{f.name.upper()}")
            if raw is None or f.name in overrides or f.name == "city":
                continue
            values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "city" not in values:
            folder = Path(values.get("datasets_dir", cls.datasets_dir))
            values["city"] = with_env(_city_of(values.get("city_file", Path("")), folder), env)
        return cls(**values)

    @property
    def store_is_remote(self) -> bool:
        """Whether published versions live on object storage (`s3://`)."""
        return self.store_url.startswith("s3://")

    @property
    def store_dir(self) -> Path:
        """The folder under which version paths (`datasets/<name>/v<n>/...`) are resolved: the
        store itself, or this host's read-through cache of an object store."""
        if self.store_is_remote:
            return self.data_dir / "store-cache"
        return Path(self.store_url)

    def _derived_base_url(self) -> str:
        """`http://HOST:PORT`; a wildcard bind address (`0.0.0.0`, `::`, as in the Docker image)
        is no address a client can open, so links then name `localhost` (set `CIVIC_BASE_URL`
        to the public URL in any real deployment)."""
        host = "localhost" if self.host in WILDCARD_HOSTS else self.host
        return f"http://{host}:{self.port}"

    def with_address(self, host: str | None, port: int | None) -> Settings:
        """The same settings served on another address; a derived base URL follows it."""
        derived = self.base_url == self._derived_base_url()
        host, port = host or self.host, port or self.port
        return replace(self, host=host, port=port, base_url="" if derived else self.base_url)


#: Bind addresses that mean "every interface" and never belong in a link.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})


def _city_of(city_file: Path | str, datasets_dir: Path) -> City:
    """The city named by `city_file` (which must exist), else `<datasets_dir>/city.toml` if any."""
    if Path(city_file) != Path(""):
        return load_city(Path(city_file), required=True)
    return load_city(datasets_dir / CITY_FILE, required=False)


def _store(raw: str) -> str:
    """A store URL: `s3://bucket[/prefix]` as given, a folder (path or `file://`) made absolute."""
    if raw.startswith("s3://") and len(raw) > 5:
        return raw.rstrip("/")
    if "://" in raw and not raw.startswith("file://"):
        raise SettingsError(
            f"CIVIC_STORE_URL={raw[:40]!r}: expected a folder (path or file:// URL) or "
            "s3://bucket/prefix"
        )
    return str(Path(raw.removeprefix("file://")).absolute())


def _count(raw: str, *, high: int) -> int:
    value = int(raw)
    if not 0 <= value <= high:
        raise ValueError(f"not in 0..{high}")
    return value


def _downloads(raw: str) -> str:
    if raw not in ("proxy", "redirect"):
        raise ValueError("not proxy or redirect")
    return raw


def _flag(raw: str) -> bool:
    return raw.strip().lower() not in ("0", "false", "no", "off", "")


def _bbox(raw: str) -> tuple[float, float, float, float]:
    """`west,south,east,north` in degrees, a real box."""
    west, south, east, north = (float(v) for v in raw.split(","))  # not 4 numbers: ValueError
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValueError("not a lon/lat box")
    return west, south, east, north


def _languages(raw: str) -> tuple[str, ...]:
    order = tuple(c for c in (p.strip() for p in raw.split(",")) if c in LANGUAGES)
    return order or Settings.lang_fallback


_PARSERS: dict[str, Callable[[str], Any]] = {
    "data_dir": Path,
    "datasets_dir": Path,
    "city_file": Path,
    "source_roots": lambda raw: tuple(Path(p) for p in raw.split(os.pathsep) if p),
    "port": int,
    "workers": int,
    "rate_limit": float,
    "rate_burst": int,
    "trusted_proxies": lambda raw: _count(raw, high=10),
    "sql_timeout_s": float,
    "sql_max_rows": int,
    "sql_memory_mb": int,
    "items_default_limit": int,
    "items_max_limit": int,
    "columnar": _flag,
    "store_downloads": _downloads,
    "city_bbox": _bbox,
    "lang_fallback": _languages,
    "scenario_workers": int,
    "scenario_submit_per_minute": int,
    "scenario_max_queue": int,
}


def _parse(name: str, raw: str) -> Any:
    try:
        return _PARSERS.get(name, str)(raw)
    except ValueError:
        hint = _HINTS.get(name, "")
        raise SettingsError(
            f"CIVIC_{name.upper()}={raw[:40]!r} is not a valid value{hint}"
        ) from None


_HINTS = {
    "store_downloads": " (expected proxy or redirect)",
    "city_bbox": " (expected west,south,east,north in degrees, e.g. 24.5,59.9,25.5,60.5)",
}
