"""Outputs users can trust: atomic writes that never clobber a file unasked."""
from __future__ import annotations

import os
import pathlib
import tempfile

from .errors import InvalidParameterError


def _umask() -> int:
    """The process umask (read without changing it where /proc allows; else set and restored at once)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new regular file, as open() would create it: 0666 minus the umask."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """Mode of a new directory, as mkdir would create it: 0777 minus the umask."""
    return 0o777 & ~_umask()


def atomic_write_bytes(path, data: bytes, *, force: bool = False, parameter: str = "path") -> pathlib.Path:
    """Write data to path atomically (a temporary file beside it, then renamed), with the mode a plain open()
    would give (the umask is honoured; mkstemp alone makes 0600). Without force an existing file is never
    replaced, even one that appears while writing (the final step is an exclusive link)."""
    path = pathlib.Path(path)
    if path.exists() and not force:
        raise InvalidParameterError(parameter, f"{path} exists; pass --force to overwrite it")
    if not path.parent.exists():
        raise InvalidParameterError(parameter, f"directory {path.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except PermissionError:
        raise InvalidParameterError(parameter, f"directory {path.parent} is not writable") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, file_mode())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise InvalidParameterError(parameter, f"{path} exists; pass --force to overwrite it") from None
            except OSError:   # a file system without hard links
                if path.exists():
                    raise InvalidParameterError(parameter, f"{path} exists; pass --force to overwrite it") from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path, text: str, *, force: bool = False, parameter: str = "path") -> pathlib.Path:
    """Write text to path atomically; refuse to overwrite unless force (see atomic_write_bytes)."""
    return atomic_write_bytes(path, text.encode(), force=force, parameter=parameter)


def git_commit(start=None) -> str | None:
    """The git commit of the source checkout, if there is one (None for an installed wheel)."""
    import subprocess

    here = pathlib.Path(start or __file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True,
                           text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def metadata(params: dict | None = None, *, seeds=None, timings: dict | None = None, command: str | None = None) -> dict:
    """What a result needs to be trusted later: parameters, versions, commit, seeds, timings."""
    import datetime
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    def _v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"copyhead_version": __version__, "git_commit": git_commit(), "python": platform.python_version(),
            "numpy": _v("numpy"), "scipy": _v("scipy"), "sympy": _v("sympy"), "mpmath": _v("mpmath"),
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "params": params or {}, "seeds": seeds, "timings": timings or {}}


def write_json(path, result, *, meta: dict, force: bool = False, parameter: str = "path") -> pathlib.Path:
    """{"meta": ..., "result": ...} written atomically; NaN is refused (it is never a valid result)."""
    import json

    return atomic_write_text(path, json.dumps({"meta": meta, "result": result}, indent=2, allow_nan=False) + "\n",
                             force=force, parameter=parameter)


def load_json(path) -> dict:
    """Load a file written by write_json: returns {"meta": ..., "result": ...}."""
    import json

    data = json.loads(pathlib.Path(path).read_text())
    if not isinstance(data, dict) or "meta" not in data or "result" not in data:
        raise InvalidParameterError(parameter="path", message=f"{path} is not a copyhead result file")
    return data


class _DirectoryLock:
    """An exclusive lock on writing one output directory: a flock on ``.NAME.lock`` beside it.

    A second writer fails at once (InvalidParameterError naming the option). The lock file is removed on release;
    a writer that opened it just before removal notices (its inode no longer matches the path) and tries again.
    After a SIGKILL the file stays, but the kernel has released the flock, so the next writer takes it."""

    def __init__(self, path: pathlib.Path, target: pathlib.Path, parameter: str):
        import fcntl

        for _ in range(20):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise InvalidParameterError(parameter, f"another copyhead process (pid {holder}) is writing {target}; "
                                            "wait for it or choose another directory") from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                self.path, self.fd = path, fd
                return
            os.close(fd)
        raise InvalidParameterError(parameter, f"could not lock {target}: its lock file keeps changing")

    def release(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)


def _is_report_dir(path: pathlib.Path, markers) -> bool:
    return any((path / marker).is_file() for marker in markers)


def check_output_dir(target, *, force: bool, parameter: str = "--out", markers=("results.json",)) -> pathlib.Path:
    """Validate an output directory before any work: refuses a file, a non-writable place, a non-empty directory
    unless force, and (even with force) a non-empty directory that is not a previous output (no marker file),
    whose files would otherwise be lost in the swap. Returns the absolute target."""
    target = pathlib.Path(target).expanduser()
    if target.is_symlink():
        target = target.resolve()
    target = target.absolute()
    if target.exists() and not target.is_dir():
        raise InvalidParameterError(parameter, f"{target} exists and is not a directory")
    parent = target.parent
    ancestor = parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise InvalidParameterError(parameter, f"cannot create files in {ancestor}: not a writable directory")
    if target.exists():
        if not os.access(target, os.W_OK | os.X_OK):
            raise InvalidParameterError(parameter, f"{target} is not writable")
        entries = sorted(p.name for p in target.iterdir())
        if entries and not force:
            raise InvalidParameterError(parameter, f"{target} is not empty; pass --force to replace the report in it")
        if entries and not _is_report_dir(target, markers):
            raise InvalidParameterError(parameter, f"{target} is not empty and holds no previous output "
                                        f"({', '.join(markers)} missing; e.g. {entries[0]!r}); --force replaces only "
                                        "a previous output, choose an empty directory")
    return target


class StagedDirectory:
    """Write a directory whole or not at all: files go into a staging directory beside the target (same file
    system), which replaces the target by rename only when everything is written (:meth:`commit`). On any
    failure or interrupt the staging directory is removed and the target is untouched.

    Holds the directory lock from construction to :meth:`close`. Leftovers of a killed (SIGKILL) writer,
    ``.NAME.staging-*`` and ``.NAME.old-*`` beside the target, are removed by the next writer."""

    def __init__(self, target, *, force: bool, parameter: str = "--out", markers=("results.json",)):
        import shutil

        self.target = check_output_dir(target, force=force, parameter=parameter, markers=markers)
        parent, name = self.target.parent, self.target.name
        parent.mkdir(parents=True, exist_ok=True)
        self._lock = _DirectoryLock(parent / f".{name}.lock", self.target, parameter)
        try:
            check_output_dir(self.target, force=force, parameter=parameter, markers=markers)  # again, under the lock
            for stale in [*parent.glob(f".{name}.staging-*"), *parent.glob(f".{name}.old-*")]:
                shutil.rmtree(stale, ignore_errors=True)
            self.path = pathlib.Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.staging-"))
            os.chmod(self.path, dir_mode())
        except BaseException:
            self._lock.release()
            raise
        self._committed = False

    def commit(self) -> pathlib.Path:
        """Swap the staging directory in for the target (signals held during the renames)."""
        import shutil

        from . import _signals

        _signals.check()
        old = None
        with _signals.deferred():
            if self.target.exists():
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                os.rename(self.target, old)
            try:
                os.rename(self.path, self.target)
            except BaseException:
                if old is not None:
                    os.rename(old, self.target)
                raise
            self._committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def close(self) -> None:
        import shutil

        from . import _signals

        with _signals.deferred():   # a second Ctrl-C must not leave half a staging directory
            try:
                if not self._committed:
                    shutil.rmtree(self.path, ignore_errors=True)
            finally:
                self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
