"""Sign-in throttling that cannot be turned against a user. Failures count per (account, client
address): someone who knows a user name locks only their own address out of it, and the owner
signs in from anywhere else. A second count per address across all names stops one address
guessing through many accounts. IPv6 clients count per /64, the block one host usually holds.

The counters live where the API's rate limits live (`CIVIC_RATE_LIMIT_STORAGE`: per process, or
Redis shared by every host), kept by `limits`, the library under Flask-Limiter; a moving window
is used because a lock-out must end exactly `LOCK_MINUTES` after the failures that caused it."""

from __future__ import annotations

import ipaddress
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

MAX_FAILURES = 5  #: failed sign-ins of one account from one address before it is locked there
MAX_ADDRESS_FAILURES = 20  #: failed sign-ins from one address, any names, before it is throttled
LOCK_MINUTES = 15
PER_ACCOUNT = RateLimitItemPerMinute(MAX_FAILURES, LOCK_MINUTES)
PER_ADDRESS = RateLimitItemPerMinute(MAX_ADDRESS_FAILURES, LOCK_MINUTES)


def client_key(address: str) -> str:
    """The address failures are counted under: IPv4 as is, IPv6 by its /64 network.

    >>> client_key("192.0.2.7"), client_key("2001:db8:1:2:aaaa::1")
    ('192.0.2.7', '2001:db8:1:2::/64')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "?"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class SignInThrottle:
    """Counts failed sign-ins and says when a (name, address) pair or an address must wait."""

    def __init__(self, storage_uri: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def refusal(self, name: str, address: str) -> tuple[str, int] | None:
        """Why this attempt is refused without checking the password, and the seconds to wait;
        None when it may go ahead."""
        client = client_key(address)
        checks = (
            (PER_ADDRESS, ("signin-address", client), "from this address"),
            (PER_ACCOUNT, ("signin-account", name[:64], client), "for this name from here"),
        )
        for item, keys, where in checks:
            if not self._limiter.test(item, *keys):
                reset = self._limiter.get_window_stats(item, *keys).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                minutes = math.ceil(wait / 60)
                return f"too many failed sign-ins {where}; try again in {minutes} min", wait
        return None

    def failed(self, name: str, address: str) -> None:
        """Count one wrong name or password against the pair and the address."""
        client = client_key(address)
        self._limiter.hit(PER_ADDRESS, "signin-address", client)
        self._limiter.hit(PER_ACCOUNT, "signin-account", name[:64], client)

    def succeeded(self, name: str, address: str) -> None:
        """A correct password clears the pair's count (the address count runs out by itself)."""
        self._limiter.clear(PER_ACCOUNT, "signin-account", name[:64], client_key(address))
