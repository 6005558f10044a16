"""schemathesis over our own OpenAPI document against a live `civic serve`: for every operation,
generated valid and invalid requests never get a 5xx, and every response keeps to the document
(declared status codes, media types, headers and body schemas).

Examples per operation follow the Hypothesis profile: a few in CI, many under `make fuzz`.
POST /api/scenarios is left out: it queues jobs (its validation has tests of its own).
schemathesis's pytest loader does not run on pytest 9 (it sets `Function._nodeid`), so each
operation's strategy is driven by a plain Hypothesis test here.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PROFILE = settings.default
#: Examples per operation: a fifth of the profile's (20 in CI, 400 under `make fuzz`).
PER_OPERATION = max(5, PROFILE.max_examples // 5)


@pytest.fixture(scope="module")
def operations(live_server: str) -> list:
    """Every operation of the document the live server serves (but the scenario POST)."""
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi?f=json")
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if (op.method.upper(), op.path) != ("POST", "/api/scenarios")]


def check_operation(operation, session: requests.Session) -> int:
    """Run valid and invalid generated requests for one operation through every check; the
    number of requests sent."""
    sent = []

    @settings(
        max_examples=PER_OPERATION,
        deadline=None,
        # derandomised runs take no database; the fuzz profile records what it finds
        database=None if PROFILE.derandomize else PROFILE.database,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )
    )
    def run(case) -> None:
        sent.append(case.call_and_validate(session=session, checks=CHECKS, timeout=30))

    run()
    return len(sent)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.fuzz
def test_every_operation_keeps_its_own_contract(operations):
    assert len(operations) >= 35
    failures, sent = [], 0
    with requests.Session() as session:
        for operation in operations:
            try:
                sent += check_operation(operation, session)
            except Exception as err:  # noqa: BLE001 - collect every operation's failure
                failures.append(f"{operation.method.upper()} {operation.path}: {err}"[:3000])
    assert failures == [], "\n\n".join(failures)
    print(f"schemathesis: {sent} requests over {len(operations)} operations")
    assert sent >= 5 * len(operations)  # really exercised, not skipped
