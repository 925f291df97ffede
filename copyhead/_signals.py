"""SIGINT and SIGTERM end a command promptly and for certain: exit 130 or 143, never a lost interrupt.

A signal raises KeyboardInterrupt (SIGINT) or Terminated (SIGTERM) in the main thread. Python drops an exception
raised inside a finaliser or a callback ("Exception ignored in ..."), and the command would then run on and exit 0;
so the signal is also remembered, and :func:`check` raises it again at the next checkpoint (report sections, the
final swap of a report). Such dropped interrupts are not printed.
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Terminated(BaseException):
    """SIGTERM was received (a BaseException, like KeyboardInterrupt: no ``except Exception`` swallows it)."""


_pending: list[int] = []


def _raise_for(signum: int):
    if signum == signal.SIGTERM:
        raise Terminated("terminated by SIGTERM")
    raise KeyboardInterrupt


def _handler(signum, frame):
    if signum not in _pending:
        _pending.append(signum)
    _raise_for(signum)


def check() -> None:
    """Raise the interrupt received earlier if it was dropped on its way (see the module docstring)."""
    if _pending:
        _raise_for(_pending[0])


def exit_code(exc: BaseException) -> int:
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


@contextmanager
def handled(program: bool = False):
    """Install the handlers (main thread only; elsewhere a no-op) and silence dropped interrupts.

    program: this is the whole process (the command line), so on leaving, the command is complete and the process
    is only exiting: a signal then is ignored rather than raising a traceback (SIGINT) or killing it (SIGTERM)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def hook(unraisable):
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)):
            return   # remembered in _pending and raised again by check()
        previous_hook(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for s, h in previous.items():
            signal.signal(s, signal.SIG_IGN if program else h)
        _pending.clear()


@contextmanager
def deferred():
    """Hold SIGINT and SIGTERM for the duration (a few renames that must not be cut in half)."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
