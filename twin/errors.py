"""Errors of the traffic twin that a person can act on; all are `CivicError`s."""

from __future__ import annotations

from pathlib import Path

from opendata.errors import CivicError


class TwinError(CivicError):
    """Base of the twin's user-facing errors."""


class NetworkFormatError(TwinError):
    """A network, demand or flow file is malformed; the message names the file and line."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class NetworkError(TwinError):
    """Network arrays are inconsistent (lengths, unknown nodes, invalid capacities)."""


class DemandError(TwinError):
    """A demand matrix or gravity-model input is unusable."""


class ConfigError(TwinError, ValueError):
    """An assignment or model configuration field has an invalid value."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"invalid {field!r}: {reason}")
