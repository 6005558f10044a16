"""The constraint rules of published data, written once for both ingestion pipelines.

Row rules take a column already in its schema type (a pandas Series: nullable NumPy types on the
general path, Arrow-backed on the columnar path, where the conversion copies nothing) and return
the rows that break them. The general pipeline quarantines those rows with the rule's reason;
the columnar pipeline hands the whole source to the general one as soon as any row breaks a
rule, so a rule added here holds on both paths.

Dataset rules fail the whole run, on both paths, through the same functions: the primary key
(`check_key`: unique, never empty) and where the features lie (`check_extent`: inside the city's
box or the spec's `schema.extent`, else the run fails naming the likely cause).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyproj import CRS

from opendata.errors import ValidationFailed
from opendata.ingest.crs_hints import Box, crs_label, inside_bounds, likely_cause
from opendata.ingest.spec_model import FieldSpec


@dataclass(frozen=True)
class Rule:
    """One constraint: whether a field declares it, which rows break it, and why (in words)."""

    applies: Callable[[FieldSpec], bool]
    broken: Callable[[FieldSpec, pd.Series], pd.Series]
    reason: Callable[[FieldSpec], str]


def _missing(spec: FieldSpec, values: pd.Series) -> pd.Series:
    return values.isna()


def _not_allowed(spec: FieldSpec, values: pd.Series) -> pd.Series:
    return values.notna() & ~values.isin(list(spec.allowed or ()))


def _below(spec: FieldSpec, values: pd.Series) -> pd.Series:
    return values < spec.minimum


def _above(spec: FieldSpec, values: pd.Series) -> pd.Series:
    return values > spec.maximum


def _repeated(spec: FieldSpec, values: pd.Series) -> pd.Series:
    return values.duplicated(keep="first") & values.notna()


#: In the order a row's first broken rule is reported.
RULES: tuple[Rule, ...] = (
    Rule(
        lambda f: f.required,
        _missing,
        lambda f: f"column '{f.name}': required value is missing",
    ),
    Rule(
        lambda f: f.allowed is not None,
        _not_allowed,
        lambda f: f"column '{f.name}': value not in allowed list",
    ),
    Rule(
        lambda f: f.minimum is not None,
        _below,
        lambda f: f"column '{f.name}': below minimum {f.minimum:g}",
    ),
    Rule(
        lambda f: f.maximum is not None,
        _above,
        lambda f: f"column '{f.name}': above maximum {f.maximum:g}",
    ),
    Rule(
        lambda f: f.unique,
        _repeated,
        lambda f: f"column '{f.name}': duplicate value (must be unique)",
    ),
)


def violations(spec: FieldSpec, values: pd.Series) -> Iterator[tuple[np.ndarray, str]]:
    """(rows breaking the rule as a boolean array, reason) for each rule `spec` declares that
    some row breaks."""
    for rule in RULES:
        if rule.applies(spec):
            broken = rule.broken(spec, values).fillna(False).to_numpy(dtype=bool)
            if broken.any():
                yield broken, rule.reason(spec)


# --- dataset rules: the run fails --------------------------------------------------------------

_SHOWN_ROWS = 5


def check_key(name: str, values: pd.Series, missing: np.ndarray) -> None:
    """Fail the run unless the primary key has a value in every row (`missing`: the rows whose
    cell is empty) and no value twice. Row numbers count data rows from 1."""
    if missing.any():
        rows = np.flatnonzero(missing)
        many = f"{len(rows)} rows have" if len(rows) > 1 else "1 row has"
        raise ValidationFailed(
            f"column '{name}' is the primary key (schema.primary_key) but {many} no value "
            f"({_rows(rows)}); every row needs its own key"
        )
    if (values.dropna() if values.hasnans else values).is_unique:  # the common case: one pass
        return
    repeated = (values.duplicated(keep=False) & values.notna()).to_numpy(dtype=bool)
    first = values[repeated].iloc[0]
    rows = np.flatnonzero(repeated & (values == first).fillna(False).to_numpy(dtype=bool))
    others = int(values[repeated].nunique()) - 1
    more = f" ({others} other value(s) repeat too)" if others else ""
    raise ValidationFailed(
        f"column '{name}' is the primary key (schema.primary_key) but the value "
        f"'{str(first)[:40]}' appears in {len(rows)} rows ({_rows(rows)}){more}; keys must be "
        "unique"
    )


def _rows(positions: np.ndarray) -> str:
    """`row 4`, `rows 2, 6` or `rows 1, 2, 3, 4, 5 and 7 more` (1-based)."""
    if len(positions) == 1:
        return f"row {int(positions[0]) + 1}"
    shown = ", ".join(str(int(p) + 1) for p in positions[:_SHOWN_ROWS])
    rest = len(positions) - _SHOWN_ROWS
    return f"rows {shown}" + (f" and {rest} more" if rest > 0 else "")


@dataclass(frozen=True)
class Extent:
    """Where a dataset's features must lie (lon/lat) and which setting or key said so."""

    box: Box
    declared_by: str  # "schema.extent" or "CIVIC_CITY_BBOX"

    def __str__(self) -> str:
        return f"{', '.join(f'{v:g}' for v in self.box)} (lon/lat, {self.declared_by})"


def check_extent(
    xy: tuple[np.ndarray, np.ndarray],
    lonlat: tuple[np.ndarray, np.ndarray],
    *,
    crs: CRS,
    extent: Extent,
    columns: tuple[str, str] | None,
) -> np.ndarray:
    """The features (a representative point each: x/y in the source `crs` and its lon/lat;
    NaN for rows already rejected) outside the extent, to quarantine. When most lie outside,
    the run fails naming the likely cause (swapped axes, another CRS)."""
    x, y = xy
    considered = ~(np.isnan(x) | np.isnan(y))
    outside = considered & ~inside_bounds(*lonlat, extent.box)
    count, total = int(outside.sum()), int(considered.sum())
    if count * 2 <= total:  # a few strays are quarantined; the threshold decides the run
        return outside
    first = int(np.flatnonzero(outside)[0])
    place = "the city" if extent.declared_by == "CIVIC_CITY_BBOX" else "the declared extent"
    cause = likely_cause(
        x[considered], y[considered], crs, extent.box, columns=columns, place=place
    )
    what = (
        f"the coordinates (columns '{columns[0]}', '{columns[1]}')" if columns else "the features"
    )
    raise ValidationFailed(
        f"{what} lie outside {place}: {count} of {total} features are outside {extent} when "
        f"read as {crs_label(crs)}, e.g. row {first + 1} at lon {lonlat[0][first]:.4f}, lat "
        f"{lonlat[1][first]:.4f}; {cause or _no_cause(extent)}"
    )


def _no_cause(extent: Extent) -> str:
    if extent.declared_by == "schema.extent":
        return "check source.crs, the coordinates and schema.extent"
    return (
        "check source.crs and the coordinates, or set schema.extent when the dataset rightly "
        "covers a wider area than the city"
    )
