"""Errors of the traffic engine that a person can act on (a bad file, matrix or setting).

The engine imports nothing of the platform, so these are not `CivicError`s; the platform treats
both as user errors through `twin.errors.USER_ERRORS`.
"""

from __future__ import annotations

from pathlib import Path


class TrafficError(Exception):
    """Base of the engine's user-facing errors; `str(err)` is the whole message."""

    exit_code = 2


class NetworkFormatError(TrafficError):
    """A network, demand or flow file is malformed; the message names the file and line."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class NetworkError(TrafficError):
    """Network arrays are inconsistent (lengths, unknown nodes, invalid capacities)."""


class DemandError(TrafficError):
    """A demand matrix or gravity-model input is unusable."""


class ConfigError(TrafficError, ValueError):
    """An assignment or model configuration field has an invalid value."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"invalid {field!r}: {reason}")
