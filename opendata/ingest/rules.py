"""The constraint rules of a published column, written once for both ingestion pipelines.

A rule takes the column already in its schema type (a pandas Series: nullable NumPy types on the
general path, Arrow-backed on the columnar path, where the conversion copies nothing) and
returns the rows that break it. The general pipeline quarantines those rows with the rule's
reason; the columnar pipeline hands the whole source to the general one as soon as any row breaks
a rule, so a rule added here holds on both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
