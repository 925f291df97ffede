"""`copyhead report`: refuses to clobber, and (slow) writes a complete, loadable report."""
import math
import re

import pytest

from copyhead.cli import main


def test_refuses_non_empty_directory(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["report", "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "--force" in err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_out_must_not_be_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["report", "--out", str(target)]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", "abc"])
def test_bad_seed(tmp_path, seed, capsys):
    assert main(["report", "--quick", "--out", str(tmp_path / "r"), "--seed", seed]) == 2
    assert "--seed" in capsys.readouterr().err


def test_load_report_names_missing_results(tmp_path):
    from copyhead import InvalidParameterError
    from copyhead.report import load_report

    with pytest.raises(InvalidParameterError, match="copyhead report"):
        load_report(tmp_path)


@pytest.mark.slow
def test_quick_report_end_to_end(tmp_path):
    from copyhead.report import load_report

    out = tmp_path / "report"
    assert main(["report", "--quick", "--out", str(out)]) == 0
    summary = (out / "summary.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", summary)
    assert links and all((out / link).exists() for link in links)
    for name in ("landscapes", "m_of_alpha", "phase_diagram_T_alpha", "attention_heatmaps", "theory_vs_sampling"):
        assert (out / f"{name}.png").stat().st_size > 5000 and (out / f"{name}.pdf").exists()
    data = load_report(out)
    meta, result = data["meta"], data["result"]
    assert meta["copyhead_version"] and "git_commit" in meta and meta["timings"]["derivation"] > 0
    assert result["derivation"]["verified"] == result["derivation"]["steps"]
    first = [t for t in result["softmax_transition"]["transitions"] if t["kind"] == "first-order"][0]
    lo, hi = first["spinodals"]
    assert lo < first["critical_value"] < hi
    second = [t for t in result["linear_transition"]["transitions"] if t["kind"] == "second-order"][0]
    assert math.isclose(second["critical_value"], result["linear_alpha_c_closed_form"], rel_tol=1e-9)
    assert any(p["kind"] == "critical-point" for p in result["phase_diagram_T"]["special_points"])
    # refuses a second run into the same directory, accepts it with --force
    assert main(["report", "--quick", "--out", str(out)]) == 2
