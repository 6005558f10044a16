"""The SQL sandbox's third fence: each query runs in a child process with hard limits.

Some work is invisible to DuckDB's memory limit and deaf to interrupts (one call of
`repeat('x', 2000000000)` allocates 2 GB in a single uninterruptible step). So every query runs in
a child process under `RLIMIT_AS` (1 GiB + 2 x the DuckDB memory limit) and `RLIMIT_CPU`
(timeout + 2 s), killed at timeout + 2 s. A crash or kill of the child becomes a 422, never a dead
API worker. The child also refuses to send an answer whose bytes contain a server path (a net
under the parser fence).

Where the children come from: each API worker keeps, per SQL slot, one *runner* process, started
once through multiprocessing (about a second: it imports DuckDB and PyArrow and, as
multiprocessing's spawn preparation does, the server's main module). The runner is
single-threaded and never opens a database itself, so it can safely `os.fork()` one fresh child
per query: about 10 ms instead of a multiprocessing start per query, which re-runs that
preparation every time (a second per query under `civic serve`). Written by hand because no
maintained pool offers "a fresh process per task without the spawn preparation".
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import multiprocessing.context
import os
import pickle
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

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
SLOT_COUNT = 2
SLOTS = threading.BoundedSemaphore(SLOT_COUNT)
_ERRORS = {cls.__name__: cls for cls in (SqlError, SqlRefused, SqlTimeout, SqlTooBig)}


@functools.cache
def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["duckdb", "pyarrow", "opendata.query.sql_process"])
    return context


def _answer(sql: str, views: dict[str, Path], limits: Limits) -> tuple:
    """Run one query under hard limits (in the forked child): Arrow IPC bytes or an error."""
    space = (1024 + 2 * limits.memory_mb) << 20
    resource.setrlimit(resource.RLIMIT_AS, (space, space))
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(used.ru_utime + used.ru_stime + limits.timeout_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        result = run_in_process(sql, views, limits)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, result.table.schema) as writer:
            writer.write_table(result.table)
        payload = sink.getvalue().to_pybytes()
        if reveals_server_path(payload, views):
            raise SqlRefused(REVEALS_PATH)
        return ("ok", payload, result.types, result.truncated)
    except SqlError as err:
        return ("error", type(err).__name__, str(err))
    except MemoryError:
        return ("error", "SqlTooBig", TOO_MUCH_MEMORY)
    except Exception as err:  # noqa: BLE001 - report, never hang the parent
        return ("error", "SqlError", f"the query failed: {type(err).__name__}")


def _child(job: tuple, out: int) -> None:
    """The forked child: answer, write the pickled answer to `out`, and leave at once."""
    try:
        data = pickle.dumps(_answer(*job))
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
    finally:
        os._exit(0)


def _runner(conn: Connection) -> None:
    """The runner's loop: for each job, fork a child, report its pid, collect what it wrote
    and how it ended. Ends when the API worker that owns it closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides when we stop
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(job, write_fd)
        os.close(write_fd)
        conn.send(("started", pid))
        chunks = []
        with os.fdopen(read_fd, "rb") as pipe:
            while chunk := pipe.read(1 << 16):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        conn.send(("done", b"".join(chunks), status))


@dataclass
class _Runner:
    """One runner process and the API worker's end of its pipe."""

    process: Any
    conn: Connection

    @classmethod
    def start(cls) -> _Runner:
        ours, theirs = _context().Pipe(duplex=True)
        process = _context().Process(target=_runner, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        return cls(process, ours)

    def stop(self) -> None:
        self.conn.close()
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


_IDLE: list[_Runner] = []
_IDLE_LOCK = threading.Lock()


def _take() -> _Runner:
    with _IDLE_LOCK:
        while _IDLE:
            runner = _IDLE.pop()
            if runner.process.is_alive():
                return runner
            runner.stop()
    return _Runner.start()


def _give_back(runner: _Runner) -> None:
    with _IDLE_LOCK:
        _IDLE.append(runner)


def _outcome(data: bytes, status: int, started: float) -> SqlResult:
    """The child's answer, or why it ended without one (the CPU limit, else memory)."""
    try:
        answer = pickle.loads(data) if data else None
    except (pickle.UnpicklingError, EOFError, ValueError):
        answer = None  # killed in the middle of writing
    if answer is None:
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
            raise SqlTimeout(TOO_LONG)
        raise SqlTooBig(TOO_MUCH_MEMORY)
    if answer[0] == "error":
        raise _ERRORS.get(answer[1], SqlError)(answer[2])
    _, payload, types, truncated = answer
    table = pa.ipc.open_stream(payload).read_all()
    return SqlResult(table, types, truncated, round((time.perf_counter() - started) * 1000, 1))


def _run(runner: _Runner, job: tuple, limits: Limits, started: float) -> SqlResult:
    runner.conn.send(job)
    _, pid = runner.conn.recv()
    if not runner.conn.poll(limits.timeout_s + 2):
        os.kill(pid, signal.SIGKILL)
        runner.conn.recv()  # the runner reaps the child and reports
        raise SqlTimeout(TOO_LONG)
    _, data, status = runner.conn.recv()
    return _outcome(data, status, started)


def run_sql(sql: str, views: dict[str, Path], limits: Limits) -> SqlResult:
    """Check and run one query in a sandboxed child process, bounded in time, rows and memory."""
    check_sql(sql, set(views))  # cheap refusals without a process
    started = time.perf_counter()
    if not SLOTS.acquire(timeout=limits.timeout_s):
        raise SqlBusy("too many SQL queries are running; try again in a moment")
    runner = None
    try:
        runner = _take()
        result = _run(runner, (sql, views, limits), limits, started)
    except SqlError:  # the child answered or was stopped; the runner is in step
        _give_back(runner)
        raise
    except (EOFError, OSError):  # the runner itself died
        if runner is not None:
            runner.stop()
        raise SqlError("the query could not be run; try again") from None
    except BaseException:  # interrupted mid-conversation: the runner may be out of step
        if runner is not None:
            runner.stop()
        raise
    finally:
        SLOTS.release()
    _give_back(runner)
    return result
