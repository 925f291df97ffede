"""Figures of the report. Each function draws one figure and saves it as PNG and PDF."""
from __future__ import annotations

import pathlib

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: pathlib.Path, name: str) -> list[str]:
    paths = []
    for ext in ("png", "pdf"):
        path = out / f"{name}.{ext}"
        fig.savefig(path, dpi=150 if ext == "png" else None, bbox_inches="tight")
        paths.append(path.name)
    _plt().close(fig)
    return paths


def landscapes(out, deltas, curves, minima) -> list[str]:
    """curves: {alpha: f(delta) - min f}; minima: {alpha: [(delta, df, is_global)]}."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for alpha, values in curves.items():
        line, = ax.plot(deltas, values, label=rf"$\alpha = {alpha:.3f}$")
        for delta, df, is_global in minima[alpha]:
            ax.plot([delta], [df], "o" if is_global else "s", color=line.get_color(), mfc="none" if not is_global else None)
    ax.set_xlabel(r"logit gap $\delta$ (dimensionless)")
    ax.set_ylabel(r"$f(\delta) - \min_\delta f$  (nats per $N$)")
    # show the barriers: the highest point between the outermost minima of each curve, with headroom
    barrier = 0.0
    for alpha, values in curves.items():
        located = sorted(d for d, _, _ in minima[alpha])
        if len(located) > 1:
            inside = (deltas >= located[0]) & (deltas <= located[-1])
            barrier = max(barrier, float(np.nanmax(values[inside])))
    ax.set_ylim(-0.05 * max(barrier, 0.05), 1.6 * max(barrier, 0.05))
    ax.legend(fontsize=8)
    ax.set_title("Softmax free-energy landscapes (filled: global minimum)")
    return save(fig, out, "landscapes")


def branches(out, branch_points, transition, samples=None, name="m_of_alpha", title=None) -> list[str]:
    """branch_points: list of (alpha, m, label) with label stable|metastable|unstable."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    style = {"stable": dict(color="k", ls="-", lw=2), "metastable": dict(color="tab:blue", ls="--", lw=1.5),
             "unstable": dict(color="tab:red", ls=":", lw=1.5)}
    # the stationary set is one curve parametrised by delta: draw each run of equal stability as a line
    labelled = set()
    run = []
    for point in list(branch_points) + [(None, None, None)]:
        if run and point[2] != run[-1][2]:
            label = run[-1][2]
            xs = [p[0] for p in run] + ([point[0]] if point[0] is not None else [])
            ys = [p[1] for p in run] + ([point[1]] if point[1] is not None else [])
            ax.plot(xs, ys, label=None if label in labelled else f"{label} branch", **style[label])
            labelled.add(label)
            run = []
        if point[2] is not None:
            run.append(point)
    if transition is not None:
        for s in transition.get("spinodals") or []:
            ax.axvline(s, color="0.5", ls=":", lw=1)
        ax.axvline(transition["critical_value"], color="tab:green", ls="--", lw=1,
                   label=rf"$\alpha^* = {transition['critical_value']:.4f}$")
    if samples:
        for init, marker in (("uniform", "v"), ("copy", "^")):
            pts = [p for p in samples if p["init"] == init]
            if pts:
                ax.errorbar([p["alpha"] for p in pts], [p["m_mean"] for p in pts], yerr=[p["m_err"] for p in pts],
                            fmt=marker, ms=6, mfc="none", label=f"MALA, N={pts[0]['N']}, {init} start")
    ax.set_xlabel(r"amount of data $\alpha = n/N$")
    ax.set_ylabel(r"$m$ = mean attention on the previous token")
    ax.set_title(title or "Softmax: stationary branches, spinodals (dotted) and coexistence (dashed)")
    ax.legend(fontsize=8, loc="upper left")
    return save(fig, out, name)


def phase_diagram(out, diagram: dict, control: str, second: str, name: str, title: str, closed_form=None) -> list[str]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = {"first-order": "k", "second-order": "tab:blue", "crossover": "tab:orange"}
    for boundary in diagram["boundaries"]:
        pts = np.array(boundary["points"], dtype=float)
        if len(pts):
            order = np.argsort(pts[:, 1])
            ax.plot(pts[order, 1], pts[order, 0], marker="o", ms=2, color=colours.get(boundary["kind"], "0.3"),
                    ls="-" if boundary["kind"] != "crossover" else "--", label=boundary["kind"])
    if closed_form is not None:
        ax.plot(closed_form[0], closed_form[1], color="tab:purple", lw=1, ls="-.", label=closed_form[2])
    for point in diagram["special_points"]:
        ax.plot([point["values"][second]], [point["values"][control]], "*", ms=12, color="tab:red",
                label=f"{point['kind']} ({second}={point['values'][second]:.4g})")
    ax.set_xlabel(second if second != "T" else "context length $T$ (continuous)")
    ax.set_ylabel(r"$\alpha = n/N$" if control == "alpha" else control)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save(fig, out, name)


def tricritical_line(out, Ts, gamma_tc, engine_points) -> list[str]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(Ts, gamma_tc, "k-", label=r"closed form $\gamma_{tc} = \sqrt{V-1}/(2\sqrt{T}\sigma_q\sigma_k\sigma_w)$")
    if engine_points:
        ax.plot([p[0] for p in engine_points], [p[1] for p in engine_points], "r*", ms=10,
                label="transition engine (Newton on $a_2 = a_4 = 0$)")
    ax.fill_between(Ts, gamma_tc, max(gamma_tc) * 1.5, color="tab:blue", alpha=0.1)
    ax.fill_between(Ts, 0, gamma_tc, color="tab:red", alpha=0.1)
    ax.text(Ts[-1], max(gamma_tc) * 1.2, "second order", ha="right")
    ax.text(Ts[-1], min(gamma_tc) * 0.4, "first order", ha="right")
    ax.set_xscale("log")
    ax.set_xlabel("context length $T$")
    ax.set_ylabel(r"logit scale $\gamma$")
    ax.set_title("Linear attention: tricritical line (bilinear prior)")
    ax.legend(fontsize=8)
    return save(fig, out, "linear_tricritical")


def scaling(out, table: dict) -> list[str]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for prior, rows in table.items():
        if not rows["T"]:
            continue
        lnT = np.log(rows["T"])
        ax.plot(lnT, rows["alpha_star"], "o", label=f"{prior}: engine")
        if rows.get("fit"):
            grid = np.linspace(lnT.min(), lnT.max(), 100)
            ax.plot(grid, np.polyval(rows["fit"]["coefficients"], grid), "-", lw=1, label=f"{prior}: {rows['fit']['law']}")
    ax.set_xlabel(r"$\ln T$")
    ax.set_ylabel(r"coexistence point $\alpha^*$")
    ax.set_title(r"Softmax: critical amount of data vs context length")
    ax.legend(fontsize=8)
    return save(fig, out, "alpha_star_scaling")


def heatmaps(out, panels, suptitle: str = "") -> list[str]:
    """panels: list of (title, A matrix), drawn on one colour scale."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6))
    vmax = max(1e-9, max(float(np.max(A)) for _, A in panels))
    for i, (ax, (title, A)) in enumerate(zip(np.atleast_1d(axes), panels)):
        im = ax.imshow(A, cmap="viridis", vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("key position $s$")
        if i == 0:
            ax.set_ylabel("query position $t$")
    fig.colorbar(im, ax=np.atleast_1d(axes).tolist(), shrink=0.8, label="attention weight $A_{ts}$")
    if suptitle:
        fig.suptitle(suptitle)
    return save(fig, out, "attention_heatmaps")
