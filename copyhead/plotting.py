"""Figures of copyhead, one public function each: typed results or a model in, a matplotlib Figure out.

    from copyhead import CopyHeadModel, plotting
    model = CopyHeadModel()
    fig = plotting.branches(model, (2.0, 12.0))            # m(alpha): stable, metastable, unstable
    fig = plotting.phase_diagram(model.phase_diagram("T", (4, 8)))

Every function takes ``ax=None`` (draw into an existing Axes, e.g. one panel of a grid) and returns the
Figure. No function here chooses a matplotlib backend: in a notebook the figures show inline, and only the
command-line entry point selects the non-interactive one. :func:`save` writes a figure as PNG and PDF.
"""
from __future__ import annotations

import pathlib

import numpy as np

from .errors import InvalidParameterError

BRANCH_STYLE = {"stable": dict(color="k", ls="-", lw=2), "metastable": dict(color="tab:blue", ls="--", lw=1.5),
                "unstable": dict(color="tab:red", ls=":", lw=1.5)}
BOUNDARY_STYLE = {"first-order": dict(color="k", ls="-"), "second-order": dict(color="tab:blue", ls="-"),
                  "crossover": dict(color="tab:orange", ls="--"), "spinodal": dict(color="0.45", ls=":")}


def _axes(ax, figsize=(6.4, 4.2)):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    # pyplot's current backend: inline in a notebook, a window in a script, whatever the caller chose
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def save(fig, out, name: str, formats=("png", "pdf"), *, close: bool = False) -> list[str]:
    """Write fig as out/name.png and out/name.pdf; returns the file names. close=True releases the figure
    from pyplot afterwards (for batch jobs drawing many figures)."""
    out = pathlib.Path(out)
    if not out.is_dir():
        raise InvalidParameterError("out", f"{out} is not a directory")
    names = []
    for ext in formats:
        path = out / f"{name}.{ext}"
        fig.savefig(path, dpi=150 if ext == "png" else None, bbox_inches="tight")
        names.append(path.name)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return names


def save_as(fig, path, *, force: bool = False, close: bool = True) -> str:
    """Write fig to path in the format its extension names; an existing file is kept unless force."""
    import os

    ext = os.path.splitext(str(path))[1].lstrip(".") or "png"
    with open(path, "wb" if force else "xb") as handle:  # exclusive create: a file that appeared meanwhile is kept
        fig.savefig(handle, format=ext, bbox_inches="tight")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return str(path)


def _transitions(report) -> tuple:
    """The Transitions of a TransitionReport, or the one Transition given."""
    if report is None:
        return ()
    return tuple(report.transitions) if hasattr(report, "transitions") else (report,)


def branches(source, alpha_range=None, *, transition=None, samples=(), ax=None, title=None, n: int = 400):
    """m(alpha): the stable (global), metastable and unstable stationary branches.

    source: a CopyHeadModel (then alpha_range=(lo, hi) is required; the branches and the transition are
    computed) or a StationaryBranches result. transition: a TransitionReport or Transition; its spinodals
    are drawn dotted and alpha* dashed. samples: sampling Points (numerics.sampling.Point) drawn with their
    error bars, one marker per start.
    """
    from .model import CopyHeadModel, StationaryBranches

    if isinstance(source, CopyHeadModel):
        if alpha_range is None or len(alpha_range) != 2:
            raise InvalidParameterError("alpha_range", "give (alpha_lo, alpha_hi) when plotting a model")
        lo, hi = map(float, alpha_range)
        result = source.stationary_branches(lo, hi, n=n)
        if transition is None:
            transition = source.transitions(lo, hi)
    elif isinstance(source, StationaryBranches):
        result = source
    else:
        raise InvalidParameterError("source", f"must be a CopyHeadModel or StationaryBranches, got "
                                              f"{type(source).__name__}")
    fig, ax = _axes(ax)
    labelled = set()
    runs = result.runs()
    for j, (label, idx) in enumerate(runs):
        # join each run to the first point of the next run on the same curve: the curve stays unbroken
        if j + 1 < len(runs) and result.curve[runs[j + 1][1][0]] == result.curve[idx[-1]]:
            idx = idx + [runs[j + 1][1][0]]
        ax.plot([result.alpha[i] for i in idx], [result.m[i] for i in idx],
                label=None if label in labelled else f"{label} branch", **BRANCH_STYLE[label])
        labelled.add(label)
    for t in _transitions(transition):
        if t.kind == "crossover":
            continue
        for s in t.spinodals or ():
            ax.axvline(s, color="0.5", ls=":", lw=1)
        name = r"\alpha^*" if t.kind == "first-order" else r"\alpha_c"
        ax.axvline(t.critical_value, color="tab:green", ls="--", lw=1, label=rf"${name} = {t.critical_value:.4f}$")
    for init, marker in (("uniform", "v"), ("copy", "^")):
        pts = [p for p in samples if p.init == init]
        if pts:
            ax.errorbar([p.alpha for p in pts], [p.m_mean for p in pts], yerr=[p.m_err for p in pts], fmt=marker,
                        ms=6, mfc="none", label=f"{pts[0].sampler.upper()}, N={pts[0].N}, {init} start")
    ax.set_xlabel(r"amount of data $\alpha = n/N$")
    ax.set_ylabel(r"$m$ = mean attention on the previous token")
    ax.set_title(title or f"{result.spec.get('attention', '')}: stationary branches, spinodals (dotted), "
                          "coexistence (dashed)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def sampled_m_of_alpha(points, theory=None, *, landmarks=None, title: str = "", ax=None):
    """Measured m(alpha) of sampling Points (filled: uniform start, open: copy start; one colour per N; Adam
    dotted) over the theory's global (black) and metastable (faint) minima.

    theory: a CopyHeadModel.minima_record (or {"alphas": [...]}, the form ``copyhead verify --json`` prints);
    landmarks: {"alpha_star", "spinodal_low", "spinodal_high"} drawn as vertical lines.
    """
    import matplotlib.pyplot as plt

    fig, ax = _axes(ax, figsize=(6.4, 4.4))
    entries = (theory or {}).get("alphas", [])
    for entry in entries:
        for mn in entry.get("minima", []):
            ax.plot(entry["alpha"], mn["m"], "o" if mn["is_global"] else ".", ms=4 if mn["is_global"] else 3,
                    color="k", alpha=1.0 if mn["is_global"] else 0.35, zorder=1)
    if entries:
        ax.plot([], [], "ko", ms=4, label="theory: global minimum")
        ax.plot([], [], "k.", alpha=0.35, label="theory: metastable")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    samplers = sorted({p.sampler for p in points}, key=lambda s: s == "adam")  # Adam drawn last
    for k, N in enumerate(sorted({p.N for p in points})):
        c = colours[k % len(colours)]
        for sampler in samplers:
            adam = sampler == "adam"
            for init, face in (("uniform", c), ("copy", "none")):
                sel = sorted((p for p in points if p.N == N and p.init == init and p.sampler == sampler),
                             key=lambda p: p.alpha)
                if not sel:
                    continue
                fmt = ("^:" if init == "uniform" else "v:") if adam else ("s-" if init == "uniform" else "D--")
                ax.errorbar([p.alpha for p in sel], [p.m_mean for p in sel], yerr=[p.m_err for p in sel],
                            fmt=fmt, color=c, mfc=face, ms=5 if adam else 6, lw=0.8 if adam else 1,
                            alpha=0.7 if adam else 1.0, label=f"N={N}, {init} start ({sampler})", zorder=3)
    for key, style, label in (("alpha_star", "-", r"theory $\alpha^*$"), ("spinodal_low", ":", "spinodals"),
                              ("spinodal_high", ":", None)):
        if landmarks and key in landmarks:
            ax.axvline(landmarks[key], color="grey", ls=style, lw=1, label=label, zorder=0)
    ax.set_xlabel(r"$\alpha = n/N$")
    ax.set_ylabel(r"$m$ (mean attention on previous token)")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


def landscapes(model, alphas, *, x_range=None, ax=None, n: int = 600):
    """f(x) - min f at each alpha, with its local minima marked (filled: the global one)."""
    fig, ax = _axes(ax)
    if len(model.order_names) != 1:
        raise InvalidParameterError("model", "landscapes are drawn for one order parameter")
    scale = model.spec.sigma_q * model.spec.sigma_k
    lo, hi = x_range or (-0.5 * scale, 6.0 * scale / model.spec.gamma)
    xs = np.linspace(lo, hi, n)
    barrier = 0.0
    for alpha in alphas:
        values = np.asarray(model.f([xs], alpha), dtype=float)
        minima = model.minima(alpha)
        floor = min(float(values.min()), min(mn.f for mn in minima))
        line, = ax.plot(xs, values - floor, label=rf"$\alpha = {alpha:.3f}$")
        for mn in minima:
            ax.plot([mn.order_parameter], [mn.f - floor], "o" if mn.is_global else "s", color=line.get_color(),
                    mfc=None if mn.is_global else "none")
        located = sorted(mn.order_parameter for mn in minima)
        if len(located) > 1:
            inside = (xs >= located[0]) & (xs <= located[-1])
            barrier = max(barrier, float(np.max(values[inside] - floor)))
    # show the barriers, with headroom
    ax.set_ylim(-0.05 * max(barrier, 0.05), 1.6 * max(barrier, 0.05))
    name = model.order_names[0]
    ax.set_xlabel(rf"order parameter $\{name}$" if name == "delta" else f"order parameter ${name}$")
    ax.set_ylabel(r"$f - \min f$  (nats per $N$)")
    ax.set_title(f"{model.spec.attention} free-energy landscapes (filled: global minimum)")
    ax.legend(fontsize=8)
    return fig


def phase_diagram(diagram, *, closed_form=None, ax=None, title=None):
    """Transition lines of a PhaseDiagram (first order, second order, crossover; spinodal lines dotted when
    the diagram carries boundaries of kind 'spinodal') and its special points.

    closed_form: optional (xs, ys, label) curve drawn for comparison.
    """
    fig, ax = _axes(ax)
    second, control = diagram.second_control, diagram.control
    labelled = set()
    for boundary in diagram.boundaries:
        pts = np.array(boundary.points, dtype=float).reshape(-1, 2)
        if not len(pts):
            continue
        order = np.argsort(pts[:, 1])
        style = BOUNDARY_STYLE.get(boundary.kind, dict(color="0.3", ls="-"))
        ax.plot(pts[order, 1], pts[order, 0], marker="o" if boundary.kind != "spinodal" else None, ms=2,
                label=None if boundary.kind in labelled else boundary.kind, **style)
        labelled.add(boundary.kind)
    if closed_form is not None:
        ax.plot(closed_form[0], closed_form[1], color="tab:purple", lw=1, ls="-.", label=closed_form[2])
    for point in diagram.special_points:
        ax.plot([point.values[second]], [point.values[control]], "*", ms=12, color="tab:red",
                label=f"{point.kind} ({second}={point.values[second]:.4g})")
    ax.set_xlabel(second if second != "T" else "context length $T$ (continuous)")
    ax.set_ylabel(r"$\alpha = n/N$" if control == "alpha" else control)
    ax.set_title(title or f"Phase diagram in ({second}, {control})")
    ax.legend(fontsize=8)
    return fig


def tricritical_line(model, Ts, diagrams=(), *, ax=None):
    """Linear attention: the closed-form tricritical line gamma_tc(T) over Ts, and the tricritical points the
    engine found in PhaseDiagrams over gamma (one per T, from model.replace(T=...).phase_diagram("gamma", ...))."""
    from .theory.landau import landau_expansion
    from .theory.symbols import T as T_symbol

    fig, ax = _axes(ax)
    gamma_tc = landau_expansion(model.spec.prior).gamma_tricritical
    subs = model.subs()
    Ts = np.asarray(Ts, dtype=float)
    line = np.array([float(gamma_tc.subs({**subs, T_symbol: t})) for t in Ts])
    ax.plot(Ts, line, "k-", label=r"closed form $\gamma_{tc} = \sqrt{V-1}/(2\sqrt{T}\sigma_q\sigma_k\sigma_w)$")
    found = [(d.params["T"], p.values["gamma"]) for d in diagrams for p in d.special_points if p.kind == "tricritical"]
    if found:
        ax.plot(*zip(*found), "r*", ms=10, label="transition engine (Newton on $a_2 = a_4 = 0$)")
    ax.fill_between(Ts, line, line.max() * 1.5, color="tab:blue", alpha=0.1)
    ax.fill_between(Ts, 0, line, color="tab:red", alpha=0.1)
    ax.text(Ts[-1], line.max() * 1.2, "second order", ha="right")
    ax.text(Ts[-1], line.min() * 0.4, "first order", ha="right")
    ax.set_xscale("log")
    ax.set_xlabel("context length $T$")
    ax.set_ylabel(r"logit scale $\gamma$")
    ax.set_title(f"Linear attention: tricritical line ({model.spec.prior} prior)")
    ax.legend(fontsize=8)
    return fig


def alpha_star_scaling(scans, fits=None, *, ax=None):
    """alpha* against ln T. scans: {label: AlphaStarScan}; fits: {label: (law, polynomial coefficients in ln T)}."""
    fig, ax = _axes(ax)
    for label, scan in scans.items():
        rows = scan.found()
        if not rows:
            continue
        lnT = np.array([row["ln_T"] for row in rows])
        ax.plot(lnT, [row["alpha_star"] for row in rows], "o", label=f"{label}: engine")
        if fits and label in fits:
            law, coefficients = fits[label]
            grid = np.linspace(lnT.min(), lnT.max(), 100)
            ax.plot(grid, np.polyval(coefficients, grid), "-", lw=1, label=f"{label}: {law}")
    ax.set_xlabel(r"$\ln T$")
    ax.set_ylabel(r"coexistence point $\alpha^*$")
    ax.set_title("Softmax: critical amount of data vs context length")
    ax.legend(fontsize=8)
    return fig


def alpha_star_local_exponent(table, law_exponents, *, ax=None):
    """p(T) = d ln alpha*/d ln ln T: table {prior: rows with T and local_exponent}, with each law's exponent
    (law_exponents {prior: exponent}) dashed and the accessible T = 16 ... 4096 shaded."""
    fig, ax = _axes(ax)
    ax.axvspan(16, 4096, color="0.92", label="T = 16 ... 4096")
    for prior, rows in table.items():
        found = [r for r in rows if "local_exponent" in r]
        line, = ax.plot([r["T"] for r in found], [r["local_exponent"] for r in found], "o-", ms=3,
                        label=f"{prior}: exact")
        if prior in law_exponents:
            ax.axhline(law_exponents[prior], color=line.get_color(), ls="--", lw=1,
                       label=f"{prior}: law, exponent {law_exponents[prior]}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context length T")
    ax.set_ylabel(r"local exponent $d\ln\alpha^*/d\ln\ln T$")
    ax.set_title("Softmax: effective power of ln T in the coexistence point")
    ax.legend(fontsize=7)
    return fig


def attention_heatmaps(panels, *, suptitle: str = "", axes=None):
    """panels: [(title, T x T attention matrix)], drawn on one colour scale side by side."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6))
    axes = list(np.atleast_1d(axes))
    fig = axes[0].figure
    vmax = max(1e-9, max(float(np.max(A)) for _, A in panels))
    for i, (ax, (title, A)) in enumerate(zip(axes, panels)):
        image = ax.imshow(A, cmap="viridis", vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("key position $s$")
        if i == 0:
            ax.set_ylabel("query position $t$")
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight $A_{ts}$")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


__all__ = ["branches", "sampled_m_of_alpha", "landscapes", "phase_diagram", "tricritical_line", "alpha_star_scaling",
           "alpha_star_local_exponent",
           "attention_heatmaps", "save", "save_as", "BRANCH_STYLE", "BOUNDARY_STYLE"]
