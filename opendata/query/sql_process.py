"""The SQL sandbox's third fence: each query runs in a child process with hard limits.

Some work is invisible to DuckDB's memory limit and deaf to interrupts (one call of
`repeat('x', 2000000000)` allocates 2 GB in a single uninterruptible step). So every query runs in
a child forked from a preloaded fork server, under `RLIMIT_AS` (1 GiB + 2 x the DuckDB memory
limit) and `RLIMIT_CPU` (timeout + 2 s); the parent kills it at timeout + 2 s. A crash or kill
of the child becomes a 422, never a dead API worker. Cost: about 50 ms per query. The child also
refuses to send an answer whose bytes contain a server path (a net under the parser fence).
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import multiprocessing.context
import resource
import signal
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pyarrow as pa

from opendata.query.sql import (
    REVEALS_PATH,
    TOO_LONG,
    TOO_MUCH_MEMORY,
    Limits,
    SqlBusy,
    SqlResult,
    SqlTimeout,
    SqlTooBig,
    reveals_server_path,
    run_in_process,
)
from opendata.query.sql_check import SqlError, SqlRefused, check_sql

#: Concurrent SQL child processes per API worker process; more requests wait, then get 503.
SLOTS = threading.BoundedSemaphore(2)
_ERRORS = {cls.__name__: cls for cls in (SqlError, SqlRefused, SqlTimeout, SqlTooBig)}


@functools.cache
def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["duckdb", "pyarrow", "opendata.query.sql_process"])
    return context


def _child(pipe: Connection, sql: str, views: dict[str, Path], limits: Limits) -> None:
    """Run one query under hard limits and send back Arrow IPC bytes or an error."""
    space = (1024 + 2 * limits.memory_mb) << 20
    resource.setrlimit(resource.RLIMIT_AS, (space, space))
    cpu = math.ceil(limits.timeout_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        result = run_in_process(sql, views, limits)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, result.table.schema) as writer:
            writer.write_table(result.table)
        payload = sink.getvalue().to_pybytes()
        if reveals_server_path(payload, views):
            raise SqlRefused(REVEALS_PATH)
        pipe.send(("ok", payload, result.types, result.truncated))
    except SqlError as err:
        pipe.send(("error", type(err).__name__, str(err)))
    except MemoryError:
        pipe.send(("error", "SqlTooBig", TOO_MUCH_MEMORY))
    except Exception as err:  # noqa: BLE001 - report, never hang the parent
        pipe.send(("error", "SqlError", f"the query failed: {type(err).__name__}"))
    finally:
        pipe.close()


def _died(child: multiprocessing.process.BaseProcess) -> SqlError:
    """Why a child ended without answering: the CPU limit (SIGXCPU) or the memory limit."""
    child.join(5)
    if child.exitcode == -signal.SIGXCPU:
        return SqlTimeout(TOO_LONG)
    return SqlTooBig(TOO_MUCH_MEMORY)


def _collect(answer: tuple, started: float) -> SqlResult:
    if answer[0] == "error":
        raise _ERRORS.get(answer[1], SqlError)(answer[2])
    _, payload, types, truncated = answer
    table = pa.ipc.open_stream(payload).read_all()
    return SqlResult(table, types, truncated, round((time.perf_counter() - started) * 1000, 1))


def run_sql(sql: str, views: dict[str, Path], limits: Limits) -> SqlResult:
    """Check and run one query in a sandboxed child process, bounded in time, rows and memory."""
    check_sql(sql, set(views))  # cheap refusals without a process
    started = time.perf_counter()
    if not SLOTS.acquire(timeout=limits.timeout_s):
        raise SqlBusy("too many SQL queries are running; try again in a moment")
    receiver, sender = _context().Pipe(duplex=False)
    child = _context().Process(target=_child, args=(sender, sql, views, limits), daemon=True)
    try:
        child.start()
    except BaseException:
        receiver.close()
        sender.close()
        SLOTS.release()
        raise
    try:
        sender.close()
        if not receiver.poll(limits.timeout_s + 2):
            raise SqlTimeout(TOO_LONG)
        try:
            answer = receiver.recv()
        except EOFError:  # the child died without answering: killed at a hard limit
            raise _died(child) from None
        return _collect(answer, started)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        child.close()
        receiver.close()
        SLOTS.release()
