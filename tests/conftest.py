import os
import tempfile

# A private compile cache per test session: tests never depend on the user's cache.
os.environ.setdefault("COPYHEAD_CACHE", tempfile.mkdtemp(prefix="copyhead-test-cache-"))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def derivation_reports():
    """Run every derivation check once per session."""
    from copyhead.derivations import default_workers, run_checks

    return {report.step.key: report for report in run_checks(workers=default_workers())}


@pytest.fixture(scope="session")
def load_experiment():
    """load_experiment("name.py"): the module of an experiment script (experiments/ is not a package)."""
    import importlib.util
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent / "experiments"

    def load(name):
        spec = importlib.util.spec_from_file_location(name[:-3], root / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
