"""Issue 12, `copyhead verify`: no runaway workers or memory, a bounded scheduler connect, paths checked first."""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copyhead.cli import main
from copyhead.numerics import executors

CORES = os.cpu_count() or 1


class _Planned(BaseException):
    """Raised by the stub executor: the job was accepted with this many workers (nothing is run)."""

    def __init__(self, workers):
        self.workers = workers


@pytest.fixture
def stub_executor(monkeypatch):
    def stub(scheduler=None, workers=None, **kw):
        raise _Planned(workers)

    monkeypatch.setattr(executors, "open_executor", stub)


def test_workers_never_exceed_tasks_or_cores_and_the_choice_is_printed(stub_executor, capsys):
    """Failed before: --workers 500 started 500 processes for an 8-chain job."""
    with pytest.raises(_Planned) as planned:
        main(["verify", "--workers", "500", "--steps", "10"])
    assert planned.value.workers == min(8, CORES)
    err = capsys.readouterr().err
    assert f"{min(8, CORES)} local worker(s)" in err and "500 requested" in err
    with pytest.raises(_Planned) as planned:
        main(["verify", "--workers", "100000", "--steps", "10", "--oversubscribe"])
    assert planned.value.workers == 8   # more than the cores only when asked, never more than the tasks


def test_choose_workers_rules():
    from copyhead.numerics.executors import choose_workers

    assert choose_workers(None, 1) == (1, choose_workers(None, 1)[1])
    assert choose_workers(3, 2)[0] == 2
    assert choose_workers(10**6, 10**6)[0] == CORES
    assert choose_workers(10**6, 10**6, oversubscribe=True)[0] == 10**6


@pytest.mark.parametrize("args,option", [(["--N", "10000000"], "--N"), (["--steps", "100000000000"], "--steps"),
                                         (["--alphas", "1e9"], "--N/--alphas"),
                                         (["--chains", "100000000", "--steps", "1000"], "--steps/--chains"),
                                         (["--T", "3000", "--V", "3000"], "--T/--V")])
def test_oversized_jobs_are_refused_up_front(args, option, capsys):
    """Failed before: these ran until MemoryError (or the machine swapped)."""
    started = time.perf_counter()
    assert main(["verify", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"copyhead: error: {option}") and "memory" in err
    assert time.perf_counter() - started < 20   # refused before any work (a generous bound, not a benchmark)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(N=st.integers(2, 10**9), alpha=st.floats(1e-3, 1e6), steps=st.integers(1, 10**12),
       chains=st.integers(1, 10**9), workers=st.one_of(st.none(), st.integers(1, 10**7)),
       T=st.integers(2, 10**4), V=st.integers(2, 10**4))
def test_random_job_sizes_are_planned_within_limits_or_refused(stub_executor, N, alpha, steps, chains, workers, T, V):
    import contextlib
    import io

    from copyhead._verify_cli import available_memory_bytes, memory_estimate
    from copyhead.spec import ModelSpec

    args = ["verify", "--N", str(N), "--alphas", repr(alpha), "--steps", str(steps), "--chains", str(chains),
            "--T", str(T), "--V", str(V)] + ([] if workers is None else ["--workers", str(workers)])
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except _Planned as planned:
            n_tasks = 2 * chains
            assert 1 <= planned.workers <= min(n_tasks, CORES)
            needed, _ = memory_estimate(ModelSpec(T=T, V=V), [N], [alpha], n_tasks, steps, planned.workers, "marginal")
            assert needed <= 0.8 * available_memory_bytes()
            return
    assert code == 2 and err.getvalue().count("\n") == 1 and "memory" in err.getvalue()


def test_scheduler_that_is_not_dask_fails_in_seconds():
    """Failed before: a listening port that never answers the dask handshake hung past Client's timeout."""
    pytest.importorskip("distributed")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    threading.Thread(target=lambda: [accepted.append(server.accept()) for _ in range(8)], daemon=True).start()
    port = server.getsockname()[1]
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "copyhead", "verify", "--steps", "10", "--scheduler",
                          f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "1"], capture_output=True, text=True,
                         timeout=60)
    server.close()
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("copyhead: error: --scheduler:")
    assert "Traceback" not in run.stderr
    assert time.perf_counter() - started < 30


def test_bad_plot_format_is_refused_before_computing_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    """Failed before: --plot x.pgf (needs xelatex) failed after the sampling and left a partial file."""
    import shutil

    if shutil.which("xelatex"):
        pytest.skip("xelatex installed: pgf figures can be written here")
    target = tmp_path / "m.pgf"
    assert main(["verify", "--steps", "10", "--plot", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plot" in err and "verify:" not in err   # refused before the job started
    assert not target.exists() and not list(tmp_path.iterdir())


def test_plot_is_written_atomically_with_the_umask(tmp_path, capsys):
    old = os.umask(0o027)
    try:
        target = tmp_path / "m.png"
        assert main(["verify", "--steps", "10", "--chains", "1", "--alphas", "2", "--workers", "1",
                     "--plot", str(target)]) == 0
    finally:
        os.umask(old)
    assert target.stat().st_size > 1000 and (target.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]
