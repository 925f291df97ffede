"""The README's Python usage section runs as written."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_usage_block() -> str:
    """The first python block under '## Python usage' in README.md."""
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Python usage.*?$(.*?)(?=^## )", text, re.M | re.S)
    if section:
        block = re.search(r"```python\n(.*?)```", section.group(1), re.S)
        if block and "CopyHeadModel" in block.group(1):
            return block.group(1)
    raise AssertionError("no Python usage block with CopyHeadModel in README.md")


def test_python_usage_runs_as_written(tmp_path, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # the example writes m_of_alpha.csv and two PNGs
    exec(compile(python_usage_block(), "README.md#python-usage", "exec"), {"__name__": "__readme__"})
    plt.close("all")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("first-order 5.97046341916")
    assert "tricritical" in printed[-1]
    assert (tmp_path / "m_of_alpha.csv").read_text().count("\n") > 100
    assert (tmp_path / "m_of_alpha.png").stat().st_size > 0 and (tmp_path / "linear_gamma_alpha.png").exists()
