"""Where chains and sweep points run: one standard ``concurrent.futures.Executor``.

* default: local worker processes (``ProcessPoolExecutor``);
* ``workers=1``: serially in this process (no pickling, easiest to debug);
* ``scheduler=ADDRESS``: the executor of a ``dask.distributed`` client connected
  to that scheduler, so the same code scales past one machine.  dask is an
  optional extra (``pip install copyhead[dask]``) and is imported only here.

Results never depend on the executor: every task carries its own seeds.
"""
from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from copyhead.errors import InvalidParameterError

__all__ = ["SerialExecutor", "open_executor", "connect_client", "choose_workers", "DASK_MISSING"]

DASK_MISSING = "dask.distributed is not installed; pip install copyhead[dask]"


class SerialExecutor(Executor):
    """Runs each task immediately in the calling process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, like other executors
            fut.set_exception(exc)
        return fut


#: Seconds allowed to reach a dask scheduler, handshake included.
CONNECT_TIMEOUT_S = 10.0


def connect_client(scheduler: str, timeout: float = CONNECT_TIMEOUT_S):
    """A dask.distributed Client connected to ``scheduler`` within ``timeout`` seconds, or an InvalidParameterError
    naming ``scheduler``.

    Client(timeout=...) bounds only the TCP connect: a port that accepts but never answers the handshake (any
    server that is not a dask scheduler) hangs it. So the connection runs in a daemon thread with a deadline."""
    import threading

    try:
        from distributed import Client  # lazy: optional dependency
    except ImportError:
        raise InvalidParameterError("scheduler", DASK_MISSING) from None
    outcome: dict = {}

    def connect():
        try:
            outcome["client"] = Client(scheduler, timeout=f"{timeout}s")
        except BaseException as exc:  # reported below, in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=connect, name="copyhead-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if "client" in outcome:
        return outcome["client"]
    if "error" in outcome:
        exc = outcome["error"]
        raise InvalidParameterError("scheduler", f"cannot connect to {scheduler!r}: {type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}") from None
    raise InvalidParameterError("scheduler", f"no dask scheduler answered at {scheduler!r} within {timeout:g} s")


def choose_workers(requested: int | None, n_tasks: int, *, oversubscribe: bool = False) -> tuple[int, str]:
    """(workers, reason): never more local processes than tasks; never more than cores unless oversubscribe."""
    cores = os.cpu_count() or 1
    if requested is None:
        workers = max(1, min(cores, n_tasks))
        return workers, f"{workers} local worker(s): min({n_tasks} tasks, {cores} cores)"
    if requested < 1:
        raise InvalidParameterError("workers", f"must be an integer >= 1, got {requested}")
    workers = min(requested, n_tasks)
    notes = [f"{requested} requested"]
    if workers < requested:
        notes.append(f"only {n_tasks} tasks")
    if workers > cores and not oversubscribe:
        workers = cores
        notes.append(f"{cores} cores (pass --oversubscribe to use more)")
    return workers, f"{workers} local worker(s): " + ", ".join(notes)


@contextmanager
def open_executor(scheduler: str | None = None, workers: int | None = None, *,
                  connect_timeout: float = CONNECT_TIMEOUT_S) -> Iterator[Executor]:
    """Context manager yielding an Executor, shut down (or disconnected) on exit.

    ``workers``: number of local processes (default: CPU count); with a
    scheduler it is ignored (the cluster decides). ``connect_timeout``: seconds to reach the scheduler.
    """
    if scheduler is not None:
        client = connect_client(scheduler, connect_timeout)
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if workers is not None and workers < 1:
        raise InvalidParameterError("workers", f"must be >= 1, got {workers}")
    if workers == 1:
        yield SerialExecutor()
        return
    pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, initializer=_worker_signals)
    try:
        yield pool
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or failed: do not wait for running chains, end the workers now.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(5)
        raise
    pool.shutdown(wait=True, cancel_futures=True)


def _worker_signals() -> None:
    """In a worker: Ctrl-C reaches the whole process group, but only the parent handles it (no traceback from
    every worker); SIGTERM ends the worker (it would otherwise inherit the parent's handler when forked)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
