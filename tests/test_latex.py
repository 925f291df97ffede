"""The LaTeX export compiles with pdflatex into a multi-page PDF."""
import re
import shutil
import subprocess

import pytest

from copyhead import __version__
from copyhead.derivations.latex import escape, render_document

pdflatex = shutil.which("pdflatex")


def test_escape_covers_specials():
    assert escape("a_b ^ % & # $ { } ~ \\ < |") == (r"a\_b \textasciicircum{} \% \& \# \$ \{ \} \textasciitilde{} "
                                                   r"\textbackslash{} $<$ $|$")


def test_document_structure(derivation_reports):
    text = render_document(list(derivation_reports.values()), version=__version__)
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    from copyhead.derivations import SECTIONS

    assert text.count(r"\section{") == len(SECTIONS)
    assert text.count(r"\subsection{") == len(derivation_reports)
    assert r"\usepackage{amsmath" in text


@pytest.mark.latex
@pytest.mark.skipif(pdflatex is None, reason="pdflatex not installed (CI installs texlive-latex-base)")
def test_pdflatex_compiles(derivation_reports, tmp_path):
    tex = tmp_path / "derivation.tex"
    tex.write_text(render_document(list(derivation_reports.values()), version=__version__))
    for _ in range(2):
        out = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:]
    log = (tmp_path / "derivation.log").read_text(errors="replace")
    pages = int(re.search(r"Output written on derivation\.pdf \((\d+) pages?", log).group(1))
    assert pages >= 4


# --- the document reads like an appendix ---------------------------------------------------------------------------

ASCII_MATH = re.compile(r"sqrt\(|\^|_[A-Za-z{]|->|\boo\b|\b(alpha|gamma|delta|sigma\w*|kappa|eps|phi|lam|lambda|theta|"
                        r"psi|Sigma)\b|\b[A-Za-z]/[A-Za-z]\b|\b\d?x\d\b")


def test_prose_has_no_untypeset_math(derivation_reports):
    """Titles and explanations put every formula in $...$ (or cite it with \\eqref)."""
    from copyhead.derivations.latex import _RAW

    found = []
    for report in derivation_reports.values():
        for text in (report.step.title, report.step.explanation):
            plain = _RAW.sub(" ", text)
            found += [f"{report.step.key}: {m.group(0)!r} in {plain[max(0, m.start() - 25):m.end() + 25]!r}"
                      for m in ASCII_MATH.finditer(plain)]
    assert found == []


def test_every_statement_is_labelled_and_every_citation_resolves(derivation_reports):
    text = render_document(list(derivation_reports.values()), version=__version__)
    labels = re.findall(r"\\label\{(eq:[^}]+)\}", text)
    assert len(labels) == len(set(labels)) == text.count(r"\begin{equation}")
    assert {f"eq:{key}" for key in derivation_reports} <= set(labels)
    cited = re.findall(r"\\eqref\{(eq:[^}]+)\}", text)
    assert len(cited) >= 20 and set(cited) <= set(labels)
    # checks are one compact annotation per step, not lists
    assert r"\begin{itemize}" not in text and text.count(r"\begin{checks}") == len(derivation_reports)
    assert text.count(r"\checkmark") == sum(len(r.results) for r in derivation_reports.values() if r.passed)


def test_statements_are_simplified(derivation_reports):
    text = render_document(list(derivation_reports.values()), version=__version__)
    assert r"\frac{2T}{2}" not in text and r"\sqrt{\frac{1}{V - 1}}" not in text


def test_prose_escapes_text_and_keeps_math():
    from copyhead.derivations.latex import prose

    assert prose(r"50% of $\sigma_q^2$ see \eqref{eq:b.phi} & more") == (
        r"50\% of $\sigma_q^2$ see \eqref{eq:b.phi} \& more")


def test_one_section_document_names_omitted_steps(tmp_path, capsys):
    from copyhead.cli import main

    out = tmp_path / "ldp.tex"
    assert main(["derive", "--latex", str(out), "--section", "population"]) == 0
    text = out.read_text()
    assert text.count(r"\section{") == 1 and text.count(r"\subsection{") == 5
    # references into other sections become plain step names, never undefined references
    assert "(step a.evidence)" in text and r"\eqref{eq:a." not in text
    assert r"\eqref{eq:c.limit}" in text
    assert main(["derive", "--section", "nope"]) == 2
    assert "--section" in capsys.readouterr().err
