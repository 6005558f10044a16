"""The detectors of the privacy gate: which personal identifiers it looks for, and how a found
token is validated (checksums, dates, numbering plans), so that look-alike order numbers pass.

Each rule is a cheap RE2 prefilter run vectorised in Arrow, then a Python token pattern and a
validator for the few distinct candidates; `hits` applies them all to a column's distinct values.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Detector names, in the order findings are reported.
DETECTORS = tuple(
    "se_personnummer se_samordningsnummer dk_cpr fi_hetu no_fodselsnummer email phone".split()
)
#: Share of a column's non-null cells that must look like the weak (unseparated, checksum-free)
#: form before those cells count: a lone bare `0101901234` is an order number, a column of them
#: is a CPR column.
CONTEXT_SHARE = 0.5

_HETU_TABLE = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_CENTURY = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}
_NO_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_NO_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_NOT_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "tif", "tiff", "bmp", "pdf", "txt", "csv"}
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # digit sum of 2 * d, for Luhn
_NOT_DIGITS = str.maketrans("", "", "+ -()")
_PHONE_NSN = {"46": (7, 9), "358": (5, 11), "45": (8, 8), "47": (8, 8)}

# Token boundaries: not glued to letters, digits, signs or decimal points on either side.
_L = r"(?<![\w.+/-])"
_R = r"(?![\w+/-]|[.,]\d)"


def _luhn_sum(digits: str) -> int:
    return sum(_DOUBLED[int(c)] if i % 2 else int(c) for i, c in enumerate(reversed(digits)))


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check, as used by the last digit of a Swedish personnummer."""
    return _luhn_sum(digits) % 10 == 0


def luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to `digits`."""
    return str(-_luhn_sum(digits + "0") % 10)


def _date_ok(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _yy_date_ok(yy: int, month: int, day: int) -> bool:
    """A two-digit-year date that is valid in the 1900s or the 2000s (29 Feb needs a leap year)."""
    return _date_ok(1900 + yy, month, day) or _date_ok(2000 + yy, month, day)


def hetu_check(body: str) -> str:
    """The Finnish HETU check character for DDMMYY + ZZZ (nine digits)."""
    return _HETU_TABLE[int(body) % 31]


def no_controls(nine: str) -> str | None:
    """The two mod-11 control digits of a Norwegian fødselsnummer, or None if none exist."""
    k1 = _mod11(nine, _NO_K1)
    k2 = _mod11(nine + str(k1), _NO_K2) if k1 is not None else None
    return None if k2 is None else f"{k1}{k2}"


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    k = 11 - sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % 11
    return 0 if k == 11 else (None if k == 10 else k)


def _cpr_year(yy: int, d7: int) -> int:
    """Birth year from the CPR's two-digit year and the first serial digit (CPR century rule)."""
    if d7 <= 3:
        return 1900 + yy
    if d7 in (4, 9):
        return 2000 + yy if yy <= 36 else 1900 + yy
    return 2000 + yy if yy <= 57 else 1800 + yy


def se_kind(token: str) -> str | None:
    """`se_personnummer`, `se_samordningsnummer` (day + 60) or None for a 10/12-digit token."""
    digits = token.replace("-", "").replace("+", "")
    year = None
    if len(digits) == 12:
        if digits[:2] not in ("18", "19", "20"):
            return None
        year, digits = int(digits[:4]), digits[2:]
    if len(digits) != 10 or not luhn_ok(digits):
        return None
    yy, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    kind = "se_samordningsnummer" if day > 60 else "se_personnummer"
    day = day - 60 if day > 60 else day
    ok = _date_ok(year, month, day) if year else _yy_date_ok(yy, month, day)
    return kind if ok else None


def cpr_ok(token: str) -> bool:
    """A Danish CPR (DDMMYY-SSSS or DDMMYYSSSS) with a real date (no checksum since 2007)."""
    digits = token.replace("-", "")
    day, month, yy = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    return _date_ok(_cpr_year(yy, int(digits[6])), month, day) if 1 <= month <= 12 else False


def hetu_ok(token: str) -> bool:
    """A Finnish HETU (DDMMYYCZZZQ): known century sign, real date, right check character."""
    token = token.upper()
    century = _HETU_CENTURY.get(token[6])
    if century is None or not _date_ok(century + int(token[4:6]), int(token[2:4]), int(token[:2])):
        return False
    return hetu_check(token[:6] + token[7:10]) == token[10]


def fnr_ok(token: str) -> bool:
    """A Norwegian fødselsnummer, D-number (day + 40) or H-number (month + 40): date and both
    mod-11 control digits."""
    digits = token.replace(" ", "")
    day, month, yy = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    day, month = day - 40 if day > 40 else day, month - 40 if month > 40 else month
    return _yy_date_ok(yy, month, day) and no_controls(digits[:9]) == digits[9:]


def email_ok(token: str) -> bool:
    """An address (shape checked by the token pattern) whose TLD is not a file extension."""
    return token.rsplit(".", 1)[-1].lower() not in _NOT_TLDS


def phone_ok(token: str) -> bool:
    """A Nordic number: +46/+358/+45/+47 (or 00...) with the right length, or a national
    SE/FI number (0 + area code, subscriber part not starting with 0), or a grouped DK/NO one."""
    digits = token.replace("(0)", "").translate(_NOT_DIGITS)
    if token[0] == "+" or digits[:2] == "00":
        rest = digits if token[0] == "+" else digits[2:]
        code = rest[:3] if rest[:3] == "358" else rest[:2]
        nsn = rest[len(code) :]
        low, high = _PHONE_NSN.get(code, (99, 0))
        return low <= len(nsn[1:] if nsn[:1] == "0" else nsn) <= high
    return 7 <= len(digits) <= 11 if token[0] in "0(" else len(digits) == 8


def _digit_rows(values: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Which values are exactly `width` ASCII digits, and their digits as an (n, width) array."""
    pure = pc.match_substring_regex(values, f"^[0-9]{{{width}}}$").to_numpy(False)
    fixed = pc.cast(values.filter(pa.array(pure)), pa.binary(width))
    raw = np.frombuffer(fixed.buffers()[1], np.uint8)[fixed.offset * width :]
    return pure, raw[: len(fixed) * width].reshape(-1, width) - 48


_DOUBLED_NP = np.array(_DOUBLED, np.uint8)


def _se_maybe(values: pa.Array) -> np.ndarray:
    """False for bare 10/12-digit values whose last ten digits fail Luhn or have no MMDD."""
    keep = np.ones(len(values), bool)
    for width in (10, 12):
        pure, digits = _digit_rows(values, width)
        d = digits[:, -10:]
        doubled = _DOUBLED_NP[d[:, 0::2]].sum(1, dtype=np.uint16)
        total = doubled + d[:, 1::2].sum(1, dtype=np.uint16)
        month, day = d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5] - 60 * (d[:, 4] >= 6)
        keep[pure] = (total % 10 == 0) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    return keep


def _dk_maybe(values: pa.Array) -> np.ndarray:
    """False for bare 10-digit values whose DDMM cannot be a day and a month."""
    keep = np.ones(len(values), bool)
    pure, d = _digit_rows(values, 10)
    day, month = d[:, 0] * 10 + d[:, 1], d[:, 2] * 10 + d[:, 3]
    keep[pure] = (day >= 1) & (day <= 31) & (month >= 1) & (month <= 12)
    return keep


_Maybe = Callable[[pa.Array], np.ndarray]


@dataclass(frozen=True)
class _Rule:
    """One way to find a detector's values: a cheap RE2 prefilter (run vectorised in Arrow), the
    Python token pattern and a validator. `whole` rules need the cell to be exactly the token and
    only count where the column context agrees (see CONTEXT_SHARE)."""

    prefilter: str
    token: re.Pattern[str]
    check: Callable[[str], str | None]
    whole: bool = False
    maybe: _Maybe | None = None


def _named(name: str, ok: Callable[[str], bool]) -> Callable[[str], str | None]:
    return lambda token: name if ok(token) else None


def _number(core: str, check: Callable[[str], str | None], maybe: _Maybe | None = None) -> _Rule:
    """An identifier rule whose prefilter is its own pattern, without the token boundaries."""
    return _Rule(core, re.compile(_L + core + _R), check, maybe=maybe)


_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_EMAIL = rf"(?<![\w.+-]){_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[^\W\d_]{{2,24}}(?![\w-])"
_PHONE_INTL = r"(?:\+|\b00) ?(?:358|4[5-7])(?:[ -]?\(\d{1,4}\))?(?:[ -]?\d){4,13}"
_PHONE_NAT = r"(?:\(0[1-9]\d{0,2}\) ?|0[1-9]\d{0,2}[ -])[1-9]\d*(?: \d{2,})*"
_PHONE_DKNO = r"[2-9]\d(?: \d\d){3}|[2-9]\d\d \d\d \d{3}"
_RULES: tuple[_Rule, ...] = (
    _number(r"(?:\d\d)?\d{6}[-+]?\d{4}", se_kind, _se_maybe),
    _number(r"\d{6}-\d{4}", _named("dk_cpr", cpr_ok)),
    _Rule(r"^\s*\d{10}\s*$", re.compile(r"\d{10}"), _named("dk_cpr", cpr_ok), True, _dk_maybe),
    _number(r"\d{6}[-+A-FU-Ya-fu-y]\d{3}[0-9A-Ya-y]", _named("fi_hetu", hetu_ok)),
    _number(r"\d{6} ?\d{5}", _named("no_fodselsnummer", fnr_ok)),
    _Rule(r"[^\s@]@[^\s@]+\.[^\s@\d]", re.compile(_EMAIL), _named("email", email_ok)),
    _Rule(
        r"(?:\+|\b00) ?(?:358|4[5-7])|(?:^|[^\w.+/-])(?:\(?0[1-9]\d{0,2}(?:\) ?|[ -])[1-9]"
        r"|[2-9]\d \d\d \d\d \d\d|[2-9]\d\d \d\d \d{3})",
        re.compile(_L + f"(?:{_PHONE_INTL}|{_PHONE_NAT}|{_PHONE_DKNO})" + r"(?![\w+/-]|[ -]?\d)"),
        _named("phone", phone_ok),
    ),
    _Rule(
        r"^\s*(?:0[1-9]\d{6,8}|00(?:358|4[5-7])\d{5,11})\s*$",
        re.compile(r"0[1-9]\d{6,8}|00(?:358|4[5-7])\d{5,11}"),
        _named("phone", lambda _: True),
        whole=True,
    ),
)
PREFILTER = "|".join(f"(?:{r.prefilter})" for r in _RULES)


def _first_valid(rule: _Rule, value: str) -> tuple[str, str] | None:
    """The detector and token of the first token in `value` that the rule validates."""
    if rule.whole:
        token = value.strip()
        name = rule.check(token) if rule.token.fullmatch(token) else None
        return (name, token) if name else None
    for match in rule.token.finditer(value):
        if name := rule.check(match.group()):
            return name, match.group()
    return None


def hits(values: pa.Array) -> tuple[dict[str, dict[int, str]], dict[str, dict[int, str]]]:
    """Per detector, the distinct values (by position) that validate, with the token found:
    once for token rules (strong) and once for whole-cell rules (weak, need context)."""
    strong: dict[str, dict[int, str]] = {}
    weak: dict[str, dict[int, str]] = {}
    for rule in _RULES:
        picked = np.flatnonzero(pc.match_substring_regex(values, rule.prefilter).to_numpy(False))
        if rule.maybe is not None and len(picked):
            picked = picked[rule.maybe(values.take(pa.array(picked)))]
        target = weak if rule.whole else strong
        subset = values.take(pa.array(picked, pa.int64())).to_pylist()
        for i, value in zip(picked.tolist(), subset, strict=True):
            if hit := _first_valid(rule, value):
                target.setdefault(hit[0], {}).setdefault(i, hit[1])
    return strong, weak
