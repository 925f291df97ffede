"""Executors: serial, local processes and a dask.distributed cluster give the same results."""
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from copyhead.errors import InvalidParameterError
from copyhead.numerics.executors import DASK_MISSING, SerialExecutor, open_executor
from copyhead.numerics.sampling import m_of_alpha
from copyhead.spec import ModelSpec

SMALL = ModelSpec(T=4, V=3)
KW = dict(sampler="mala", chains=2, steps=200, seed=3)


def _pid(_):
    return os.getpid()


def test_serial_executor_runs_in_process_and_delivers_errors():
    ex = SerialExecutor()
    assert ex.submit(_pid, 0).result() == os.getpid()
    fut = ex.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fut.result()
    with open_executor(workers=1) as ex:
        assert isinstance(ex, SerialExecutor)


def test_local_processes_by_default():
    with open_executor(workers=2) as ex:
        assert isinstance(ex, ProcessPoolExecutor)
        pids = set(ex.map(_pid, range(4)))
    assert os.getpid() not in pids
    with pytest.raises(ValueError):
        with open_executor(workers=0):
            pass


def test_missing_dask_is_an_error_naming_the_scheduler(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(InvalidParameterError) as info:
        with open_executor(scheduler="tcp://127.0.0.1:8786"):
            pass
    assert (info.value.parameter, info.value.reason) == ("scheduler", DASK_MISSING)
    assert DASK_MISSING == "dask.distributed is not installed; pip install copyhead[dask]"


def test_dask_cluster_gives_the_same_points_as_serial():
    distributed = pytest.importorskip("distributed")
    reference = m_of_alpha(SMALL, [6], [1.0, 3.0], **KW)
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=2,
                                  dashboard_address=None) as cluster:
        with open_executor(scheduler=cluster.scheduler_address) as ex:
            points = m_of_alpha(SMALL, [6], [1.0, 3.0], executor=ex, **KW)
    assert [p.m_mean for p in points] == [p.m_mean for p in reference]
    assert [p.diagnostics["chain_means"] for p in points] == [p.diagnostics["chain_means"] for p in reference]
