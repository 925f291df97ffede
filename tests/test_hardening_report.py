"""Issue 12, outputs whole or untouched: staged reports, signals, locking, file modes, paths checked first.

The subprocess tests use the COPYHEAD_REPORT_TINY=1 hook (copyhead/report/_build.py): a report of a few files
written in about two seconds through the same staging, locking, writers, figure and pdflatex code."""
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest

from copyhead import InvalidParameterError
from copyhead.scripting import atomic_write_text
from copyhead.cli import main

TINY = {**os.environ, "COPYHEAD_REPORT_TINY": "1"}


def _tiny(out, *extra, env=TINY):
    return subprocess.Popen([sys.executable, "-m", "copyhead", "report", "--out", str(out), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _snapshot(directory):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def _tiny_in_process(out, *extra):
    os.environ["COPYHEAD_REPORT_TINY"] = "1"
    try:
        return main(["report", "--out", str(out), *extra])
    finally:
        del os.environ["COPYHEAD_REPORT_TINY"]


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "report"
    assert _tiny_in_process(out) == 0
    return out


@pytest.fixture
def previous_report(tmp_path, _template):
    import shutil

    return pathlib.Path(shutil.copytree(_template, tmp_path / "report"))


def _interrupt_at_random_moment(out, signum, rng):
    run = _tiny(out, "--force")
    while True:   # wait until the report has started writing (handlers installed), then a random moment
        line = run.stderr.readline()
        if not line or line.startswith("[report]"):
            break
    time.sleep(rng.uniform(0.0, 2.5))
    run.send_signal(signum)
    _, err = run.communicate(timeout=120)
    return run.returncode, err


def _check_after_signal(out, before, code, err, signum):
    assert "Traceback" not in err and "Exception ignored" not in err, err
    siblings = sorted(p.name for p in out.parent.iterdir())
    assert siblings == ["report"], siblings          # no staging directory, lock or old copy left beside it
    names = {p.name for p in out.iterdir()}
    assert not {n for n in names if n.endswith((".aux", ".log", ".tmp")) or n.startswith(".")}, names
    expected = 143 if signum == signal.SIGTERM else 130
    if _snapshot(out) == before:                     # the previous report, byte for byte, same mtimes
        assert code == expected, (code, err)
    else:   # the signal came after the swap: a complete new report (exit 0, or the signal's code if it came
        # between the swap and the end of the command)
        assert "report written to" in err and code in (0, expected), (code, err)
        assert {"results.json", "summary.md"} <= names


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_report_leaves_previous_report_untouched(previous_report, signum):
    """Failed before: an interrupted --force run left old and new files mixed, SIGTERM left derivation.aux/.log,
    and one Ctrl-C in three was lost (printed 'Exception ignored', ran on, exit 0)."""
    rng = random.Random(int(signum))
    before = _snapshot(previous_report)
    code, err = _interrupt_at_random_moment(previous_report, signum, rng)
    _check_after_signal(previous_report, before, code, err, signum)


@pytest.mark.slow
def test_many_signals_at_random_moments(previous_report):
    rng = random.Random(12)
    for k in range(12):
        signum = rng.choice([signal.SIGINT, signal.SIGTERM])
        before = _snapshot(previous_report)
        code, err = _interrupt_at_random_moment(previous_report, signum, rng)
        _check_after_signal(previous_report, before, code, err, signum)


def test_second_writer_into_one_directory_fails_with_one_line(tmp_path, capsys):
    """Failed before: two concurrent reports into one directory both 'succeeded'."""
    from copyhead.scripting import StagedDirectory

    out = tmp_path / "report"
    with StagedDirectory(out, force=False):          # the first writer holds the lock
        started = time.perf_counter()
        assert main(["report", "--quick", "--out", str(out)]) == 2
        assert time.perf_counter() - started < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "another copyhead process" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []   # the first writer's staging is gone too


@pytest.mark.slow
def test_concurrent_tiny_reports(tmp_path):
    out = tmp_path / "report"
    runs = [_tiny(out) for _ in range(3)]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    winners = [err for code, err in results if code == 0]
    assert len(winners) >= 1
    for code, err in results:
        if code != 0:   # the lock, or the directory a winner has just filled
            assert code == 2 and err.strip().count("\n") == 0 and "--out" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_atomic_writes_honour_the_umask(tmp_path):
    """Failed before: files written atomically were 0600 whatever the umask."""
    for mask, mode in ((0o022, 0o644), (0o027, 0o640), (0o002, 0o664)):
        old = os.umask(mask)
        try:
            path = atomic_write_text(tmp_path / f"f{mask:o}.txt", "x")
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == mode


def test_report_files_and_directory_honour_the_umask(tmp_path):
    out = tmp_path / "report"
    old = os.umask(0o027)
    try:
        assert _tiny_in_process(out) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o750
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert set(modes.values()) == {0o640}, modes


def test_atomic_write_never_replaces_a_file_unasked(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("mine")
    with pytest.raises(InvalidParameterError, match="--force"):
        atomic_write_text(path, "new")
    assert path.read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_bad_out_paths_are_refused_before_any_work(tmp_path, capsys):
    """Failed before: an --out below a regular file was an internal error, and a read-only --out was found only
    after the derivation."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker / "report", blocker):
        assert main(["report", "--quick", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--out" in err and "[report]" not in err
    if os.geteuid() != 0:   # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert main(["report", "--quick", "--out", str(locked)]) == 2
        assert "not writable" in capsys.readouterr().err


def test_force_replaces_only_a_previous_report(tmp_path, capsys):
    """The swap replaces the whole directory, so --force refuses a directory that holds other files."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["report", "--quick", "--force", "--out", str(mine)]) == 2
    assert "no previous output" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep"


@pytest.mark.slow
def test_stale_leftovers_of_a_killed_writer_are_cleaned(previous_report):
    """SIGKILL cannot be handled: it leaves .report.staging-*; the next writer removes it."""
    run = _tiny(previous_report, "--force")
    while not run.stderr.readline().startswith("[report]"):
        pass
    run.kill()
    run.wait(timeout=30)
    leftovers = sorted(p.name for p in previous_report.parent.iterdir() if p.name != "report")
    assert leftovers and all(n.startswith(".report.") for n in leftovers)
    again = _tiny(previous_report, "--force")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert sorted(p.name for p in previous_report.parent.iterdir()) == ["report"]


def test_build_report_api_validates(tmp_path):
    from copyhead.report import build_report

    for kwargs, name in (({"quick": "yes"}, "quick"), ({"seed": -1}, "--seed"), ({"force": 1}, "force")):
        with pytest.raises(InvalidParameterError, match=f"^{name}"):
            build_report(tmp_path / "r", **kwargs)
    with pytest.raises(InvalidParameterError, match="^--out"):
        build_report(None)
