"""Privacy test material: identifier generators built on the detectors' own checksum functions,
and catalogues of valid identifiers and of look-alikes that must not be flagged."""

from __future__ import annotations

from datetime import date

import pandas as pd

from opendata.ingest import privacy, privacy_detectors

# --- generators built on the module's own checksum functions ---------------------------------


def make_pnr(
    born: date, serial: int, *, sep: str = "-", long: bool = False, coord: bool = False
) -> str:
    """A Swedish personnummer (or samordningsnummer: day + 60) with a correct Luhn digit."""
    day = born.day + (60 if coord else 0)
    body = f"{born:%y%m}{day:02d}{serial:03d}"
    check = privacy_detectors.luhn_digit(body)
    head = f"{born.year // 100}{body[:6]}" if long else body[:6]
    return f"{head}{sep}{body[6:]}{check}"


def make_hetu(born: date, serial: int, sign: str | None = None) -> str:
    """A Finnish HETU with the right century sign and check character."""
    sign = sign or {18: "+", 19: "-", 20: "A"}[born.year // 100]
    body = f"{born:%d%m%y}{serial:03d}"
    return f"{body[:6]}{sign}{body[6:]}{privacy_detectors.hetu_check(body)}"


def make_fnr(born: date, serial: int, *, d_number: bool = False) -> str | None:
    """A Norwegian fødselsnummer (or D-number: day + 40); None if the serial has no controls."""
    nine = f"{born.day + (40 if d_number else 0):02d}{born:%m%y}{serial:03d}"
    controls = privacy_detectors.no_controls(nine)
    return None if controls is None else nine + controls


def make_cpr(born: date, serial: int, *, sep: str = "-") -> str:
    """A Danish CPR whose first serial digit matches the birth century (CPR century rule)."""
    first = 0 if born.year < 2000 else 4
    return f"{born:%d%m%y}{sep}{first}{serial:03d}"


def detected(*values: object) -> set[str]:
    """Detector names found in a one-column frame holding `values`."""
    return {f.detector for f in privacy.scan(pd.DataFrame({"c": list(values)}))}


def corrupt_last(value: str) -> str:
    """The same value with its last digit changed (a checksum error)."""
    return value[:-1] + str((int(value[-1]) + 1) % 10)


# --- catalogues --------------------------------------------------------------------------------

VALID = [
    # published examples (each checked by hand against the rules)
    ("19121212-1212", "se_personnummer"),  # Skatteverket's test-number style
    ("121212-1212", "se_personnummer"),
    ("191212121212", "se_personnummer"),
    ("121212+1212", "se_personnummer"),  # '+' = 100 years or older
    ("811228-9874", "se_personnummer"),
    ("701063-2391", "se_samordningsnummer"),  # day 63 = 3rd + 60
    ("131052-308T", "fi_hetu"),  # DVV's example
    ("131052a308t", "fi_hetu"),
    ("280264-051U", "fi_hetu"),
    ("010594Y9021", "fi_hetu"),  # 2023 century signs (DVV examples)
    ("020594X903P", "fi_hetu"),
    ("01010750160", "no_fodselsnummer"),  # Skatteetaten's example
    ("010107 50160", "no_fodselsnummer"),
    ("070761-4285", "dk_cpr"),
    ("290200-4000", "dk_cpr"),  # 29 Feb 2000 (serial 4xxx + year 00 -> 2000)
    ("anna.virtanen@hel.fi", "email"),
    ("Kontakt: Örjan.Ödman+news@kommun.se.", "email"),
    ("info@københavn.dk", "email"),
    # phones, international
    ("+46 70 123 45 67", "phone"),
    ("+46701234567", "phone"),
    ("+46 (0)70-123 45 67", "phone"),
    ("+358 (9) 310 1691", "phone"),
    ("+358 (0)40 123 4567", "phone"),
    ("+46 8 123 456 78", "phone"),
    ("0046 70 123 45 67", "phone"),
    ("+358 40 1234567", "phone"),
    ("+358 9 310 1691", "phone"),
    ("+358401234567", "phone"),
    ("+45 12 34 56 78", "phone"),
    ("+4512345678", "phone"),
    ("+47 912 34 567", "phone"),
    ("+47 22 12 34 56", "phone"),
    # phones, national
    ("070-123 45 67", "phone"),
    ("040 1234567", "phone"),
    ("09 310 1691", "phone"),
    ("(09) 310 1691", "phone"),
    ("08-123 456 78", "phone"),
    ("031-12 34 56", "phone"),
    ("050 123 4567", "phone"),
    ("32 12 34 56", "phone"),  # Danish grouping
    ("912 34 567", "phone"),  # Norwegian grouping
    ("Ring 040 1234567 efter kl. 16", "phone"),
    ("tel:09 310 1691, fax 09 310 1692", "phone"),
]

NOT_PERSONAL = [
    "2024",
    "1999",
    "00100",
    "00100 Helsinki",
    "114 55 Stockholm",
    "SE-114 55 Stockholm",
    "2100 København Ø",
    "0150 Oslo",
    "1 234 567",
    "12 345 678",
    "1234567",
    "2024-01-15",
    "2024-01-15T10:22:33",
    "2024-01-15 10:22:33+02:00",
    "15.01.2024",
    "01-02-2024",
    "20240115",
    "60.1699, 24.9384",
    "59.329323",
    "18.068581",
    "POINT (24.9384 60.1699)",
    "6672345.123 385678.456",
    "+60.123456",
    "08-16",
    "ma-pe 08-16, la 10-14",
    "Tilaus 4012345679 toimitettu",
    "INV-2024-000123",
    "0012345678",
    "FI21 1234 5600 0007 85",
    "SE45 5000 0000 0583 9825 7466",
    "1234567-8",
    "0123456-7",
    "3.14159265358979",
    "+1 555 123 4567",
    "@helsinki",
    "icon@2x.png",
    "anna@localhost",
    "a..b@example.fi",
    "19121212-1213",  # Luhn fails
    "121312-1216",  # month 13
    "131052-308U",  # wrong check character
    "131052G308T",  # no such century sign
    "311152-308A",  # 31 November
    "01010750161",  # second control digit wrong
    "32010750160",  # day 32
    "290200-0000",  # 29 Feb 1900 (serial 0xxx -> 1900s): no such day
    "320190-1234",
]
