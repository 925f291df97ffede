"""Check tiers and the parallel section runner of the derivation."""
import pytest

from copyhead.derivations import SECTIONS, run_checks, run_sections
from copyhead.derivations import current_tier, effort, tier


def test_effort_follows_the_tier():
    assert current_tier() == "fast" and effort(2, 24) == 2
    with tier("thorough"):
        assert current_tier() == "thorough" and effort(2, 24) == 24
    assert effort(2, 24) == 2
    with pytest.raises(ValueError):
        with tier("quick"):
            pass


def test_parallel_sections_equal_sequential_ones():
    modules = [f"copyhead.derivations.{name}" for name in ("posterior", "scaling", "population")]
    seen = []
    parallel = run_sections(modules, workers=2, on_report=lambda r: seen.append(r.step.key))
    sequential = run_sections(modules, workers=1)
    assert [r.step.key for r in parallel] == [r.step.key for r in sequential] == seen   # derivation order
    for a, b in zip(parallel, sequential):
        assert a.passed and b.passed
        assert [(c.kind, c.passed, c.detail) for c in a.results] == [(c.kind, c.passed, c.detail) for c in b.results]
        assert a.step.statement.parts and a.step.explanation == b.step.explanation


def test_a_failing_check_in_a_worker_is_reported(monkeypatch):
    from copyhead.derivations import scaling

    real = scaling.steps

    def broken_steps():
        steps = real()
        from dataclasses import replace

        def wrong():
            raise ArithmeticError("planted failure")
        wrong.kind = "symbolic"
        return [replace(steps[0], checks=steps[0].checks + (wrong,))] + steps[1:]

    monkeypatch.setattr(scaling, "steps", broken_steps)     # inherited by the forked worker
    first = run_sections(["copyhead.derivations.scaling", "copyhead.derivations.posterior"], workers=2)[0]
    assert not first.passed and "planted failure" in first.results[-1].detail


def test_derive_rejects_bad_workers(capsys):
    from copyhead.cli import main

    assert main(["derive", "--check", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


@pytest.mark.slow
def test_thorough_tier_verifies_every_step():
    reports = run_checks(thorough=True, workers=2, with_latex=False)
    assert len({r.step.section for r in reports}) == len(SECTIONS)
    failed = [f"{r.step.key}: {c.detail}" for r in reports for c in r.results if not c.passed]
    assert not failed
    details = {r.step.key: " ".join(c.detail for c in r.results) for r in reports}
    assert "24 cases" in details["d.reduced"] and "2e+06 samples" in details["b.phi"]
