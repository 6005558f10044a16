"""The privacy gate: find personal data in a frame before anything is published.

Detects Nordic identity numbers (validated by checksum and date, so look-alike order numbers pass),
e-mail addresses and Nordic phone numbers. `scan` reports, `gate` blocks columns that have no
decision in the spec, `apply` drops or keyed-hashes columns as the spec decides.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as pdt

from opendata.errors import PrivacyBlocked, SpecError
from opendata.ingest.privacy_detectors import (
    CONTEXT_SHARE,
    DETECTORS,
    PREFILTER,
    hits,
)
from opendata.ingest.spec_model import PRIVACY_ACTIONS, PrivacyDecision


@dataclass(frozen=True)
class Finding:
    """Personal data of one kind found in one column; `sample` is masked, never a full value."""

    column: str
    detector: str
    count: int
    sample: str


def mask(token: str, detector: str) -> str:
    """Hide a found value: e-mails keep first letters and the TLD, numbers their first two
    characters and the last one (`19121212-1212` -> `19******-***2`)."""
    if detector == "email":
        local, _, domain = token.rpartition("@")
        return f"{local[0]}***@{domain[0]}***.{domain.rsplit('.', 1)[-1]}"
    head, body, tail = token[:2], token[2:-1], token[-1]
    return head + re.sub(r"[0-9A-Za-z]", "*", body) + tail


def _is_text(dtype: object) -> bool:
    """Dtypes that can hold identifiers: object, string, integer, float, string-categorical."""
    if isinstance(dtype, pd.CategoricalDtype):
        return _is_text(dtype.categories.dtype)
    return pdt.is_object_dtype(dtype) or pdt.is_string_dtype(dtype) or pdt.is_numeric_dtype(dtype)


def _to_arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """The column as Arrow strings: numbers as their digits (floats only if all whole, as a CSV
    column of numbers with blanks is read), non-text cells as missing; None if not scannable."""
    if not _is_text(series.dtype) or pdt.is_bool_dtype(series.dtype):
        return None
    try:
        arr = pa.array(series, from_pandas=True)
        if pa.types.is_floating(arr.type):
            arr = pc.cast(arr, pa.int64())  # refuses fractions: measurements, not identifiers
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        if pdt.is_float_dtype(series.dtype):
            return None
        arr = pa.array(series.map(lambda v: v if isinstance(v, str) else None), type=pa.string())
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_integer(arr.type):
        arr = pc.cast(arr, pa.string())
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def scan_column(column: str, arr: pa.Array | pa.ChunkedArray) -> list[Finding]:
    """Prefilter in Arrow, deduplicate, validate each distinct candidate, weigh the context."""
    counted = _prefiltered(arr)
    if len(counted) == 0:
        return []
    counts = counted.field("counts").to_numpy()
    strong, weak = hits(counted.field("values"))
    nonnull = len(arr) - arr.null_count
    for name, found in weak.items():
        seen = strong.get(name, {})
        if counts[list(seen.keys() | found.keys())].sum() >= CONTEXT_SHARE * nonnull:
            strong[name] = {**found, **seen}
    return [
        Finding(column, name, int(counts[list(found)].sum()), mask(found[min(found)], name))
        for name in DETECTORS
        if (found := strong.get(name))
    ]


def _prefiltered(arr: pa.Array | pa.ChunkedArray) -> pa.StructArray:
    """The distinct cells that pass the prefilter, with their counts (`pc.value_counts`). A
    column with few distinct values (judged on a sample) is deduplicated first, so the regular
    expression runs once per distinct value instead of once per row: the same result."""
    sample = arr.slice(0, _SAMPLE)
    if len(arr) > _SAMPLE and pc.count_distinct(sample).as_py() < _FEW * len(sample):
        counted = pc.value_counts(arr)
        return counted.filter(pc.match_substring_regex(counted.field("values"), PREFILTER))
    return pc.value_counts(arr.filter(pc.match_substring_regex(arr, PREFILTER)))


#: Rows sampled to judge a column's cardinality, and the distinct share below which it is
#: deduplicated before the prefilter.
_SAMPLE, _FEW = 20_000, 0.2


def scan_columns(columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> list[Finding]:
    """`scan` for Arrow text columns (the columnar pipeline): the columns are scanned on two
    threads (Arrow's kernels release the GIL); findings come in column order."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = pool.map(lambda item: scan_column(str(item[0]), item[1]), columns.items())
        return [finding for findings in found for finding in findings]


def scan(df: pd.DataFrame, *, columns: Iterable[str] | None = None) -> list[Finding]:
    """Find personal data in every text (and integer) column, or in the given columns.

    One finding per column and detector; `count` is the number of cells that matched.
    """
    names = [c for c, t in df.dtypes.items() if _is_text(t)] if columns is None else list(columns)
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise SpecError(f"privacy: no such column {missing}; columns are {list(df.columns)}")
    arrays = {name: arr for name in names if (arr := _to_arrow(df[name])) is not None}
    return scan_columns(arrays)


def keyed_hash(value: object, key: bytes) -> str:
    """HMAC-SHA256 of the value's text under `key`, hex, first 32 characters."""
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _hash_column(series: pd.Series, key: bytes) -> pd.Series:
    """Hash each distinct non-null value once; nulls stay null."""
    codes, uniques = pd.factorize(series)
    hashed = np.array([keyed_hash(v, key) for v in uniques] + [None], dtype=object)
    return pd.Series(hashed[codes], index=series.index, name=series.name, dtype="str")


def apply(
    df: pd.DataFrame, decisions: Mapping[str, PrivacyDecision], *, key: bytes
) -> pd.DataFrame:
    """A new frame with the spec's decisions applied: drop, keyed hash, or allow (unchanged)."""
    missing = [c for c in decisions if c not in df.columns]
    if missing:
        raise SpecError(
            f"privacy.{missing[0]}: no such column in the data; columns are "
            f"{', '.join(map(str, df.columns))}"
        )
    unknown = [c for c, d in decisions.items() if d.action not in PRIVACY_ACTIONS]
    if unknown:
        raise SpecError(
            f"privacy.{unknown[0]}.action: expected one of {', '.join(PRIVACY_ACTIONS)}"
        )
    hashed = [c for c, d in decisions.items() if d.action == "hash"]
    if hashed and not key:
        raise SpecError("privacy: 'hash' needs a secret key; set CIVIC_HASH_KEY")
    out = df.drop(columns=[c for c, d in decisions.items() if d.action == "drop"])
    for column in hashed:
        out[column] = _hash_column(df[column], key)
    return out


def _toml_key(column: str) -> str:
    return column if re.fullmatch(r"[A-Za-z0-9_-]+", column) else json.dumps(column)


def gate(findings: list[Finding], decisions: Mapping[str, PrivacyDecision]) -> None:
    """Raise `PrivacyBlocked` if any finding is in a column the spec has no decision for."""
    blocking = [f for f in findings if f.column not in decisions]
    if not blocking:
        return
    lines = [
        f"Personal data found in {len({f.column for f in blocking})} column(s) without a privacy "
        "decision; nothing was published."
    ]
    lines += [
        f"  column {f.column!r}: {f.detector} in {f.count} cell(s), e.g. {f.sample}"
        for f in blocking
    ]
    lines.append("Add a decision per column to the dataset spec:")
    for column in dict.fromkeys(f.column for f in blocking):
        lines += [
            f"  [privacy.{_toml_key(column)}]",
            '  action = "drop"  # or "hash", or "allow" with reason = "..."',
        ]
    raise PrivacyBlocked("\n".join(lines))


def report(
    findings: list[Finding], decisions: Mapping[str, PrivacyDecision]
) -> list[dict[str, object]]:
    """JSON-ready rows for the quality report; columns with no decision show `blocked`."""
    actions = {column: decision.action for column, decision in decisions.items()}
    keys = ("column", "detector", "count")
    return [
        {k: getattr(f, k) for k in keys} | {"action": actions.get(f.column, "blocked")}
        for f in findings
    ]
