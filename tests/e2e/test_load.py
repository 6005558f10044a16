"""The default install under a short load (8 clients, 10 s, each from its own address, the rate
limit on as installed): every answer is a success or an honoured 429, never an error."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.load import request_mix, run_load
from tests.e2e.openapi_urls import gather_facts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_eight_clients_for_ten_seconds_get_no_errors(install):
    facts = gather_facts(lambda url: requests.get(url, timeout=60).json(), install.base)
    result = run_load(
        install.base,
        request_mix(facts),
        clients=8,
        seconds=10,
        warmup=2,
        worker_pids=install.worker_pids,
    )
    assert result.errors == []
    assert set(result.statuses) <= {200, 206, 429}
    assert result.answered >= 8
    assert len(result.rss_mib) >= 5 and min(result.rss_mib) > 0
