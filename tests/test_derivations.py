"""Every derivation step must verify; each test names one step."""
import pytest

from copyhead.derivations import CHECK_KINDS, SECTIONS, all_steps

STEP_KEYS = [step.key for step in all_steps()]


def test_every_section_has_steps():
    prefixes = [key.split(".")[0] for key in STEP_KEYS]
    # one letter per section, in order a, b, c, ...
    assert list(dict.fromkeys(prefixes)) == [chr(ord("a") + i) for i in range(len(SECTIONS))]


@pytest.mark.parametrize("key", STEP_KEYS)
def test_step_verifies(key, derivation_reports):
    report = derivation_reports[key]
    failed = [f"{r.kind}: {r.detail}" for r in report.results if not r.passed]
    assert report.results, f"{key} has no checks"
    assert not failed, f"{key} failed: {failed}"
    assert all(r.kind in CHECK_KINDS for r in report.results)


def test_check_kinds_cover_the_brief(derivation_reports):
    kinds = {r.kind for report in derivation_reports.values() for r in report.results}
    # symbolic identities, 50-digit random points, quadrature, optimisation and Monte Carlo all appear
    assert {"symbolic", "mpmath-50", "quadrature", "optimisation", "monte-carlo"} <= kinds


def test_a_failing_check_is_reported_not_raised():
    from copyhead.derivations import Step

    def broken():
        raise ZeroDivisionError("boom")

    broken.kind = "symbolic"
    report = Step("s", "z.broken", "broken", None, "", (broken,)).run()
    assert not report.passed and "ZeroDivisionError" in report.results[0].detail


def test_identity_check_detects_a_wrong_identity():
    import sympy as sp

    from copyhead.derivations import identity_check
    from copyhead.theory.functions import WishartRate
    from copyhead.theory.symbols import x

    wrong = x**2 / 2 - x**4 / 4          # the series, not the function
    assert not identity_check(WishartRate(x).doit(), wrong, [x]).passed
    assert identity_check(WishartRate(x).doit(), WishartRate(x).doit() + sp.S(0), [x]).passed
