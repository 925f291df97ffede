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
