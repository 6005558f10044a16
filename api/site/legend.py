"""What a reader needs beside a map: human labels and units for popups (from the dataset's own
column descriptions, in the page language), a source line with the licence, and a width key
for flow maps with numbers formatted for the page language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.site.common import Site, web_url
from api.site.formats import Formatter
from api.site.scenario_data import line_weight
from opendata.metadata.search import Entry

#: Columns that identify a row for machines (not for a reader of the map).
ID_COLUMNS = {"fid", "id", "osm_id", "osm_key", "road_fid", "building_fid", "bbox"}
#: A label is the description up to its first explanation ("Speed limit in km/h (...)").
_CUT = re.compile(r"\s+\(|[:;.]\s|\.$")
#: Longer first phrases are explanations, not labels (the column name reads better).
MAX_LABEL = 40


@dataclass(frozen=True)
class Source:
    """Where a layer comes from and under which licence it may be reused."""

    attribution: str
    license: str
    license_url: str


def is_internal(name: str) -> bool:
    """Whether a column is an internal key (`fid`, `osm_id`, `road_fid`...), hidden in popups.

    >>> is_internal("fid"), is_internal("road_fid"), is_internal("name")
    (True, True, False)
    """
    return name in ID_COLUMNS or name.endswith("_fid") or name.startswith("_")


def short_label(description: str, name: str) -> str:
    """The first phrase of a column description when it is short, else the column name made
    readable.

    >>> short_label("Speed limit in km/h (implicit codes converted)", "x")
    'Speed limit in km/h'
    >>> short_label("", "name_sv")
    'name sv'
    """
    text = _CUT.split(description.strip(), maxsplit=1)[0].strip() if description else ""
    return text if text and len(text) <= MAX_LABEL else name.replace("_", " ")


def popup_labels(columns: Sequence[dict[str, Any]], site: Site) -> dict[str, dict[str, str]]:
    """Per shown column: its label in the page language (or the fallback, with its `lang`) and
    its unit; internal keys are left out, so popups never show them."""
    out = {}
    for col in columns:
        name = str(col.get("name", ""))
        if not name or is_internal(name) or col.get("type") == "geometry":
            continue
        text = site.text(col.get("description") or {})
        label = {"label": short_label(text.text, name), "unit": str(col.get("unit") or "")}
        out[name] = label | ({"lang": text.lang} if text.lang and text.lang != site.lang else {})
    return out


def source(item: Entry) -> Source:
    """The source line of a layer: attribution (else publisher) and licence."""
    publisher = item.publisher.get("name", "") if isinstance(item.publisher, dict) else ""
    return Source(item.attribution or publisher, item.license, web_url(item.license_url))


@dataclass(frozen=True)
class WidthStep:
    """One entry of a width key: a flow and the line width that draws it."""

    label: str
    width: float


def width_key(top: float, lang: str, unit: str, steps: int = 3) -> list[WidthStep]:
    """Round flows up to `top` with the width `line_weight` gives them, labelled in `lang`."""
    values = [_round(top * (i + 1) / steps) for i in range(steps)]
    widths = line_weight(pd.Series(values), top)  # the same scale the maps draw with
    fmt = Formatter(lang)
    return [
        WidthStep(fmt.with_unit(v, unit, 0), round(float(w), 1))
        for v, w in zip(values, widths, strict=True)
    ]


def _round(value: float) -> float:
    """Two significant digits, so a key reads 1 200 and not 1 187.

    >>> _round(1187.0), _round(37.2)
    (1200.0, 37.0)
    """
    if value <= 0:
        return 0.0
    digits = len(str(int(value))) - 2
    return float(round(value, -digits)) if digits > 0 else float(round(value))
