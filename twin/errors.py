"""The errors the twin's commands and services report to a person rather than as a crash."""

from __future__ import annotations

from opendata.errors import CivicError
from twin.traffic.errors import TrafficError

#: Platform errors and traffic-engine errors alike: one clear line, never a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (CivicError, TrafficError)
