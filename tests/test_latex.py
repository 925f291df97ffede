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
