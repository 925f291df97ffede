"""Export the derivation as a standalone amsmath document that reads like a paper's appendix.

Prose (step titles and explanations) is LaTeX-light: text between ``$...$`` is mathematics and passes
through unchanged, as do ``\\eqref{eq:KEY}`` cross-references to other steps; everything else is escaped.
Each statement is a numbered equation labelled ``eq:KEY`` (``eq:KEY.2`` for a step's second statement),
and each step's checks follow it as one compact annotation.
"""
from __future__ import annotations

import datetime as _dt
import re

from ..theory.symbols import latex

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            # OT1 text fonts lack these glyphs: set them in math
            "<": "$<$", ">": "$>$", "|": "$|$"}

#: math ($...$) and cross-references pass through prose unescaped
_RAW = re.compile(r"(\$[^$]+\$|\\eqref\{eq:[A-Za-z0-9_.\-]+\}|\\ref\{[A-Za-z0-9_.:\-]+\})")
_EQREF = re.compile(r"\\eqref\{(eq:[A-Za-z0-9_.\-]+)\}")

#: a short introduction for each section, keyed by the derivation module
INTRODUCTIONS = {
    "posterior": r"The readout $W$ enters the likelihood linearly and has a Gaussian prior, so it can be "
                 r"integrated out exactly. What remains depends on the queries and keys only through the "
                 r"attention matrix $A$ and a few sufficient statistics of the tokens.",
    "ldp": r"The prior on $S = QK^{\mathsf T}/N$ induced by Gaussian $Q$ and $K$ obeys a large-deviation "
           r"principle as $N \to \infty$. Its rate is a sum over the singular values of "
           r"$S/(\sigma_q\sigma_k)$ of one function $\phi_{\mathrm W}$, derived twice below.",
    "population": r"At $n = \alpha N$ sequences the data term of the evidence concentrates. Only a few "
                  r"overlaps of $A$ survive: $m$, $q$ and, for raw one-hot tokens, the row-sum overlaps "
                  r"$\bar r$ and $R$.",
    "reduction": r"Prior rate and energy together give the free energy per $N$, whose global minimum the "
                 r"posterior selects. For each family one or two order parameters carry the whole minimisation.",
    "landau": r"For linear attention $S \to -S$ is a symmetry, and $s = 0$ is stationary at every $\alpha$. "
              r"The Landau expansion about it locates the critical point and the tricritical line.",
    "softmax": r"Softmax attention has no symmetry fixing $\delta = 0$, so its transitions are jumps between "
               r"minima. They are located from the closed-form stationarity and curvature conditions.",
    "scaling": r"For long contexts the copy state saturates early. This gives the leading-order law for the "
               r"critical amount of data $\alpha^*$ as $T$ grows.",
    "map_estimate": r"Adam with weight decay finds the maximum of the joint posterior (MAP), not a posterior "
                    r"average. Its prior term at fixed $S$ is the nuclear norm, and this changes the transition.",
    "modelling": r"Two scalings of THEORY.md are choices: the readout variance $\sigma_w^2/N$ and the logits "
                 r"$QK^{\mathsf T}/N$. This section shows what changes under the common alternatives.",
    "dynamics": r"Langevin dynamics on $(Q, K)$ closes, as $N \to \infty$, on the same overlaps. Its fixed points "
                r"are the minima of the free energy, and gradient flow without the entropic term finds the MAP.",
    "finite_n": r"At finite $N$ the posterior on $S$ carries, beyond $e^{-N f(S)}$, the Gaussian fluctuations about "
                r"the saddle point, the Wishart prefactor and the readout's Occam factor. Together they give the "
                r"$O(1/N)$ corrections to means and the finite-size shift of the first-order jump.",
}


def escape(text: str) -> str:
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


def prose(text: str) -> str:
    """Escape prose for LaTeX, keeping $...$ mathematics and \\eqref/\\ref cross-references."""
    parts = _RAW.split(text)
    return "".join(part if i % 2 else escape(part) for i, part in enumerate(parts))


def equation_labels(step) -> list[str]:
    """The label of each statement of a step: eq:KEY, eq:KEY.2, ..."""
    n = len(_statement_parts(step.statement))
    return [f"eq:{step.key}"] + [f"eq:{step.key}.{i}" for i in range(2, n + 1)]


def cited_labels(text: str) -> list[str]:
    return _EQREF.findall(text)


def _equation(obj, label: str) -> str:
    # Statements may be long: shrink only those wider than the line.
    body = obj if isinstance(obj, str) else latex(obj)
    return ("\\begin{equation}\\label{" + label + "}\n\\resizebox{\\ifdim\\width>0.92\\linewidth 0.92\\linewidth"
            "\\else\\width\\fi}{!}{$\\displaystyle " + body + "$}\n\\end{equation}\n")


def _statement_parts(statement):
    from sympy import Tuple

    from ._core import RenderedStatement

    if isinstance(statement, RenderedStatement):
        return list(statement.parts)
    return list(statement) if isinstance(statement, Tuple) else [statement]


def statement_latex(statement) -> list[str]:
    """The LaTeX of each part of a step's statement."""
    return [part if isinstance(part, str) else latex(part) for part in _statement_parts(statement)]


def _checks(results) -> str:
    """All checks of a step as one small annotation line."""
    if not results:
        return ""
    items = []
    for result in results:
        mark = r"\checkmark" if result.passed else r"$\times$\,\textbf{FAIL}"
        items.append(mark + r"\,\textsf{" + escape(result.kind) + "}: " + escape(result.detail))
    return "\\begin{checks}" + "; ".join(items) + ".\\end{checks}\n"


def _section_modules() -> dict:
    """section title -> derivation module name (for the introductions)."""
    from importlib import import_module

    from . import SECTIONS

    return {import_module(f"{__package__}.{name}").SECTION: name for name in SECTIONS}


def render_document(reports, *, version: str, title: str = "copyhead: the copy-head posterior, derived and checked") -> str:
    modules = _section_modules()
    lines = [r"\documentclass[11pt]{article}", r"\usepackage[margin=2cm]{geometry}", r"\usepackage{amsmath,amssymb}",
             r"\usepackage{graphicx}", r"\numberwithin{equation}{section}",
             r"\newenvironment{checks}{\par\vspace{-0.4\baselineskip}\noindent\footnotesize\textit{Checks.}~}"
             r"{\par\medskip}",
             r"\title{" + escape(title) + "}", r"\author{copyhead}",
             r"\date{copyhead " + escape(version) + ", " + _dt.date.today().isoformat() + "}",
             r"\begin{document}", r"\maketitle",
             prose("Each numbered statement below is a SymPy object generated by copyhead. The small print under it "
                   "lists the checks that support it, each run when this document was made, with its outcome: "
                   f"{sum(r.passed for r in reports)} of {len(reports)} steps verified."),
             ""]
    section = None
    for report in reports:
        step = report.step
        if step.section != section:
            section = step.section
            lines.append(r"\section{" + prose(section) + "}")
            intro = INTRODUCTIONS.get(modules.get(section, ""))
            if intro:
                lines.append(intro + "\n")
        lines.append(r"\subsection{" + prose(step.title) + "}")
        lines.append(prose(step.explanation))
        for part, label in zip(_statement_parts(step.statement), equation_labels(step)):
            lines.append(_equation(part, label))
        lines.append(_checks(report.results))
    lines.append(r"\end{document}")
    text = "\n".join(lines) + "\n"
    # a document of some sections only: a reference to a statement it omits names the step instead
    present = {label for report in reports for label in equation_labels(report.step)}
    return _EQREF.sub(lambda m: m.group(0) if m.group(1) in present else f"(step {m.group(1)[3:]})", text)
