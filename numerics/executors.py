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

__all__ = ["SerialExecutor", "open_executor", "DASK_MISSING"]

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


@contextmanager
def open_executor(scheduler: str | None = None, workers: int | None = None) -> Iterator[Executor]:
    """Context manager yielding an Executor, shut down (or disconnected) on exit.

    ``workers``: number of local processes (default: CPU count); with a
    scheduler it is ignored (the cluster decides).
    """
    if scheduler is not None:
        try:
            from distributed import Client  # lazy: optional dependency
        except ImportError:
            raise InvalidParameterError("scheduler", DASK_MISSING) from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvalidParameterError("scheduler", f"cannot connect to {scheduler!r}: {exc}") from None
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
    pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
