"""Progress bars on long work: tqdm (tqdm.auto, so a notebook gets a widget) when it is installed and the user
can see it; otherwise nothing, so logs, pipes and ``--json`` output stay clean."""
from __future__ import annotations

import sys


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wanted(*, json_mode: bool = False, stream=None) -> bool:
    """Bars only for a person watching: not with --json, not when stderr is a file or a pipe."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not json_mode and bool(isatty and isatty())


def progress_bar(total: int, description: str, *, enabled: bool = True):
    """A tqdm bar on stderr (or a silent stand-in when disabled or tqdm is missing)."""
    if not enabled:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Silent()
    return tqdm(total=total, desc=description, file=sys.stderr, leave=False, dynamic_ncols=True)
