"""A small reverse proxy for the multi-host tests (CI has no Docker or nginx): round robin over
the API hosts, `X-Forwarded-For` appended, and a host that refuses connections taken out of the
pool with the request retried on the next one, as nginx's `proxy_next_upstream error` does."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class Pool:
    """The upstream hosts, the next one to use, and what each answered."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = [urlsplit(u).netloc for u in upstreams]
        self.down: set[str] = set()
        self.served: Counter[str] = Counter()
        self.turn = 0
        self.lock = threading.Lock()

    def order(self) -> list[str]:
        with self.lock:
            self.turn += 1
            alive = [u for u in self.upstreams if u not in self.down] or self.upstreams
            start = self.turn % len(alive)
            return alive[start:] + alive[:start]


def _handler(pool: Pool) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server naming
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            forwarded = self.headers.get("X-Forwarded-For")
            client = self.client_address[0]
            headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
            for upstream in pool.order():
                try:
                    conn = http.client.HTTPConnection(upstream, timeout=60)
                    conn.request("GET", self.path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                except (ConnectionError, OSError):
                    with pool.lock:
                        pool.down.add(upstream)
                    continue
                with pool.lock:
                    pool.served[upstream] += 1
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_error(502, "no upstream answered")

    return Proxy


@contextmanager
def reverse_proxy(upstreams: list[str]) -> Iterator[tuple[str, Pool]]:
    """Serve the proxy on a free port; yields its base URL and its pool."""
    pool = Pool(upstreams)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pool))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pool
    finally:
        server.shutdown()
        server.server_close()
