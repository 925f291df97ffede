"""Progress bars appear only for a person watching: never with --json, never into a file or pipe."""
import io

from copyhead.scripting import progress_bar, progress_wanted as wanted


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bars_only_on_a_terminal_and_not_with_json():
    assert wanted(stream=Terminal())
    assert not wanted(stream=Terminal(), json_mode=True)
    assert not wanted(stream=io.StringIO())  # a file or pipe: no bar


def test_disabled_bar_writes_nothing(capsys):
    with progress_bar(3, "x", enabled=False) as bar:
        bar.update()
        bar.set_postfix_str("y")
    assert capsys.readouterr() == ("", "")


def test_verify_json_keeps_stdout_one_object(capsys, monkeypatch):
    import json

    from copyhead.cli import main

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    tiny = ["--T", "4", "--V", "3", "--N", "6", "--alphas", "0.5", "--chains", "1", "--steps", "40", "--workers", "1"]
    assert main(["verify", *tiny, "--json"]) == 0
    out = capsys.readouterr()
    json.loads(out.out)  # exactly one JSON object
    assert "it/s" not in out.err and "%|" not in out.err


def test_m_of_alpha_progress_keeps_the_callback_and_the_points():
    from copyhead import ModelSpec
    from copyhead.numerics.sampling import m_of_alpha

    spec = ModelSpec(T=4, V=3)
    calls = []
    with_bar = m_of_alpha(spec, [6], [0.5], chains=1, steps=40, seed=1, progress=True,
                          on_progress=lambda done, total, outcome: calls.append((done, total)))
    without = m_of_alpha(spec, [6], [0.5], chains=1, steps=40, seed=1)
    assert calls == [(1, 2), (2, 2)]
    assert [p.m_mean for p in with_bar] == [p.m_mean for p in without]
