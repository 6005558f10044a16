"""The scenario spec model: frozen dataclasses for a scenario's baseline, edits (closures,
changes, new links, developments, cordon charges), assignment and impact settings, and the
vocabularies they draw on. `twin.scenarios.spec` parses and checks TOML/JSON into these."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import shapely

from twin.city.model import DemandAssumptions
from twin.city.travel import ChoiceAssumptions
from twin.scenarios.timeofday import TimeOfDay
from twin.traffic.assignment import DEFAULT_TARGET_GAP

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DATASETS = ("roads", "buildings", "services", "stops")
CURRENCIES = ("EUR", "SEK")
CATEGORIES = ("school", "kindergarten", "health", "library", "grocery", "pharmacy")
SELECT_KEYS = {"road_fid", "osm_key", "name", "polygon"}


@dataclass(frozen=True)
class Selection:
    """Which road links an edit touches; every key given must match (they are ANDed)."""

    road_fid: tuple[int, ...] = ()
    osm_key: tuple[str, ...] = ()
    name: tuple[str, ...] = ()  # Finnish or Swedish street name
    polygon: shapely.Geometry | None = None  # EPSG:4326; a link matches if its midpoint is inside


@dataclass(frozen=True)
class Close:
    """Close the selected links to traffic (they are removed from the network)."""

    select: Selection
    type: str = "close"


@dataclass(frozen=True)
class Change:
    """Set lanes, capacity or speed on the selected links (`max_speed_kmh` only lowers)."""

    select: Selection
    lanes: float | None = None
    capacity: float | None = None
    speed_kmh: float | None = None
    max_speed_kmh: float | None = None
    type: str = "change"


@dataclass(frozen=True)
class AddLink:
    """A new road along `geometry` (EPSG:4326), snapped to the nearest nodes within `snap_m`."""

    geometry: shapely.Geometry
    speed_kmh: float
    lanes: float = 1.0
    capacity: float | None = None  # vehicles/hour per direction; default 700 per lane
    oneway: bool = False
    snap_m: float = 30.0
    type: str = "add_link"


@dataclass(frozen=True)
class Development:
    """New dwellings and/or jobs at a point or polygon, turned into extra trip ends."""

    geometry: shapely.Geometry
    dwellings: float = 0.0
    jobs: float = 0.0
    persons_per_dwelling: float | None = None  # default from twin/data/dwelling_occupancy.csv
    type: str = "development"


@dataclass(frozen=True)
class CordonCharge:
    """A toll on every road link entering `polygon`, converted to minutes by a value of time."""

    polygon: shapely.Geometry
    amount: float
    currency: str = "EUR"
    value_of_time: float | None = None  # per vehicle-hour; default from value_of_time.csv
    type: str = "cordon_charge"


Edit = Close | Change | AddLink | Development | CordonCharge


@dataclass(frozen=True)
class Baseline:
    """Pinned dataset versions (None: current) and demand-assumption overrides."""

    versions: dict[str, int] = field(default_factory=dict)
    demand: dict[str, float] = field(default_factory=dict)

    def assumptions(self) -> DemandAssumptions:
        """The demand assumptions with this baseline's overrides applied."""
        return DemandAssumptions(**self.demand)


@dataclass(frozen=True)
class AssignmentSpec:
    """Assignment settings, the same for the baseline and the scenario."""

    algorithm: str = "bfw"
    target_gap: float = DEFAULT_TARGET_GAP
    max_iterations: int = 500


@dataclass(frozen=True)
class Impacts:
    """Impact settings: accessibility thresholds and categories, heavy share, noise radius."""

    walk_minutes: tuple[float, ...] = (5.0, 10.0, 15.0)
    drive_minutes: tuple[float, ...] = (5.0, 10.0, 15.0)
    categories: tuple[str, ...] = ("school", "health", "grocery")
    heavy_share: float | None = None  # share of heavy vehicles on every link; None: by class
    noise_radius_m: float = 300.0
    region: str = "helsinki"


@dataclass(frozen=True)
class ScenarioSpec:
    """A whole scenario: what is changed, against which baseline, solved how."""

    name: str
    title: dict[str, str]
    description: dict[str, str]
    edits: tuple[Edit, ...]
    baseline: Baseline = field(default_factory=Baseline)
    assignment: AssignmentSpec = field(default_factory=AssignmentSpec)
    impacts: Impacts = field(default_factory=Impacts)
    demand: ChoiceAssumptions = field(default_factory=ChoiceAssumptions)
    time_of_day: TimeOfDay = field(default_factory=TimeOfDay)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of the spec: equal for equal TOML and JSON content."""
        blob = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def baseline_key(self) -> str:
        """What a reusable baseline depends on: versions, demand assumptions (not whether the
        scenario's demand responds), assignment and impact settings, as parsed (so a default
        written out and one left out give the same key)."""
        demand = {k: v for k, v in asdict(self.demand).items() if k != "model"}
        parts = [
            asdict(self.baseline),
            demand,
            asdict(self.assignment),
            asdict(self.impacts),
            asdict(self.time_of_day),
        ]
        blob = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()
