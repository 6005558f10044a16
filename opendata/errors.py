"""Errors a person can act on: the CLI and the API turn them into one clear message."""

from __future__ import annotations


class CivicError(Exception):
    """Base of every user-facing error; `str(err)` is the whole message."""

    exit_code = 2


class SpecError(CivicError):
    """A dataset or scenario spec is malformed (unknown key, wrong type, missing field)."""


class SourceError(CivicError):
    """A source file cannot be read as declared (encoding, delimiter, corrupt archive...)."""


class ValidationFailed(CivicError):
    """The data broke its schema badly enough that nothing may be published."""


class PrivacyBlocked(CivicError):
    """Personal data was detected in a column the spec has no decision for."""


class NotFound(CivicError):
    """A dataset or version that does not exist was asked for."""


class SettingsError(CivicError):
    """A `CIVIC_*` environment variable holds a value that does not parse."""


class InternalError(CivicError):
    """An unexpected failure (a bug, a full disk...): the message says where to look, the original
    exception is logged and chained, never shown as the message."""

    exit_code = 1


class BatchFailed(CivicError):
    """Some datasets of a `civic ingest` batch failed (the others ran); exit 1 when one of the
    failures was unexpected, else 2."""

    def __init__(self, message: str, *, unexpected: bool = False) -> None:
        super().__init__(message)
        self.exit_code = 1 if unexpected else 2
