"""Figures of the training-time dynamics. Each function takes typed results, draws on ``ax`` (a new
figure when None) and returns the Figure; none selects a matplotlib backend."""
from __future__ import annotations

import math


def _axes(ax, figsize=(6.4, 4.4)):
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_trajectories(trajectories, ax=None, *, title: str = ""):
    """m(t) for several trajectories (numerics.dynamics.Trajectory), emergence times marked."""
    fig, ax = _axes(ax)
    for tr in trajectories:
        line, = ax.plot(tr.t, tr.m, lw=1.4, label=f"alpha = {tr.alpha:.4g} ({tr.final_branch})")
        if tr.t_emerge is not None:
            ax.axvline(tr.t_emerge, color=line.get_color(), lw=0.7, ls=":")
    ax.set_xlabel("t (Langevin time: ULA steps x h)")
    ax.set_ylabel("m (attention on the previous token)")
    ax.set_title(title or "overlap ODE: m(t); dotted: emergence times")
    ax.legend(fontsize=7)
    return fig


def plot_plateau_law(law, ax=None):
    """t_emerge against alpha - alpha_sp on log-log axes (numerics.dynamics.PlateauLaw), with the
    saddle-node prediction pi / sqrt(c1 c2 (alpha - alpha_sp))."""
    fig, ax = _axes(ax)
    d = list(law.distances)
    ax.loglog(d, law.times, "o", label=f"ODE: fitted exponent {law.exponent:.4f}")
    pref = law.saddle_node.prefactor
    ax.loglog(d, [pref / math.sqrt(x) for x in d], "k--", lw=1,
              label=f"saddle node: pi/sqrt(c1 c2) = {pref:.4g}, exponent 1/2")
    ax.set_xlabel(f"alpha - alpha_sp   (alpha_sp = {law.alpha_sp:.10g})")
    ax.set_ylabel("t_emerge")
    ax.set_title("plateau above the upper spinodal")
    ax.legend(fontsize=8)
    return fig


def plot_learning_curves(curves, ax=None):
    """Test error against alpha of every branch (numerics.dynamics.LearningCurves), Bayes and MAP."""
    fig, ax = _axes(ax)
    styles = {"bayes": dict(marker=".", ls="none"), "map": dict(marker="x", ls="none", ms=3)}
    for estimator, branch_points in (("bayes", curves.bayes), ("map", curves.map)):
        for branch in ("uniform", "copy"):
            pts = [(a, e) for a, b, e, _ in branch_points if b == branch]
            if pts:
                ax.plot(*zip(*pts), label=f"{estimator}: {branch} branch", **styles[estimator])
        glob = sorted((a, e) for a, _, e, g in branch_points if g)
        if glob:
            ax.plot(*zip(*glob), lw=0.8, color="k" if estimator == "bayes" else "0.5",
                    label=f"{estimator}: global minimum")
    for value, name in ((curves.alpha_star, "alpha* (Bayes)"), (curves.map_alpha_star, "MAP jump"),
                        (curves.map_threshold, "MAP kink threshold")):
        if value is not None:
            ax.axvline(value, lw=0.7, ls=":", color="k")
            ax.text(value, ax.get_ylim()[1], name, fontsize=7, rotation=90, va="top", ha="right")
    ax.set_xscale("log")
    ax.set_xlabel("alpha = n/N")
    ax.set_ylabel("test error per position (noise-free labels)")
    ax.set_title("learning curves: posterior-mean readout")
    ax.legend(fontsize=7)
    return fig


def plot_context_length(scan, ax=None):
    """Emergence time (at fixed relative distance above the spinodal) and alpha* against T, both priors
    (numerics.dynamics.ContextScan)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    else:
        fig, ax2 = ax.figure, ax.twinx()
    for prior, rows in scan.rows.items():
        Ts = [r["T"] for r in rows]
        ax.loglog(Ts, [r["alpha_star"] for r in rows], "o-", label=f"alpha* ({prior})")
        ax.loglog(Ts, [r["alpha_sp"] for r in rows], "s--", ms=3, label=f"upper spinodal ({prior})")
        if any(r["map_threshold"] is not None for r in rows):
            ax.loglog([r["T"] for r in rows if r["map_threshold"] is not None],
                      [r["map_threshold"] for r in rows if r["map_threshold"] is not None], "^:", ms=3,
                      label=f"MAP threshold of S = 0 ({prior})")
        ax2.semilogx(Ts, [r["t_emerge"] for r in rows], "o-", label=f"{prior}")
    ax.set_xlabel("T (context length)")
    ax.set_ylabel("alpha")
    ax.legend(fontsize=7)
    ax2.set_xlabel("T")
    ax2.set_ylabel(f"t_emerge at alpha = (1 + {scan.relative_distance:g}) alpha_sp, prior start")
    ax2.legend(fontsize=7)
    ax.set_title("critical amount of data vs T")
    ax2.set_title("emergence time vs T")
    return fig


def report_figures(out, save, *, quick: bool = False):
    """The report's training-time section: m(t) at several alpha, the plateau law, the learning curves.

    save(fig, out, name) -> list of file names (the report's saver). Returns (items, figures, results):
    items (label, value, command); figures (caption, paths); results: a JSON-ready dict.
    """
    import numpy as np

    from .numerics import dynamics as nd
    from .numerics.transitions.results import jsonable
    from .spec import ModelSpec

    spec = ModelSpec()
    info = nd.spinodal_info(spec)
    upper = info["upper"]
    alphas = [7.0, 8.65, 8.75, 10.0, 12.0]   # below, just above (d = 0.009, 0.11) and well above alpha_sp
    trajs = [nd.trajectory(spec, a, t_max=200.0, n_points=1001, spinodal_info=info) for a in alphas]
    law = nd.plateau_law(spec, "langevin", upper, list(np.geomspace(1e-5, 1e-2, 4 if quick else 7)))
    curves = nd.learning_curves(spec, np.geomspace(1.0, 100.0, 15 if quick else 41))
    items = [("Emergence time t_emerge (Langevin ODE from the prior) at alpha = "
              + ", ".join(f"{tr.alpha:.6g}" for tr in trajs[1:]),
              ", ".join(f"{tr.t_emerge:.4g}" for tr in trajs[1:]),
              "copyhead dynamics --t-max 200 --alphas " + " ".join(f"{tr.alpha:g}" for tr in trajs[1:]) + " --json"),
             ("Plateau law t_emerge ~ (alpha - alpha_sp)^-nu: fitted nu; t sqrt(d) at d = 1e-5; pi/sqrt(c1 c2)",
              f"{law.exponent:.4f}; {law.scaled[0]:.4f}; {law.saddle_node.prefactor:.4f}", "copyhead report")]
    figures = [
        ("m(t) from the overlap ODE (Langevin limit, prior start) at several alpha; dotted: emergence times.",
         save(plot_trajectories(trajs), out, "dynamics_m_of_t")),
        ("Emergence time against alpha - alpha_sp (log-log) and the saddle-node prediction.",
         save(plot_plateau_law(law), out, "dynamics_plateau_law")),
        ("Test error (posterior-mean readout, noise-free labels) of every minimum against alpha, Bayes and MAP.",
         save(plot_learning_curves(curves), out, "dynamics_learning_curves")),
    ]
    results = {"emergence": [{"alpha": tr.alpha, "t_emerge": tr.t_emerge, "final_branch": tr.final_branch}
                             for tr in trajs],
               "plateau_law": jsonable({"exponent": law.exponent, "distances": law.distances, "times": law.times,
                                        "prefactor": law.saddle_node.prefactor}),
               "learning_curves": jsonable({"bayes": curves.bayes, "map": curves.map,
                                            "alpha_star": curves.alpha_star, "map_threshold": curves.map_threshold})}
    return items, figures, results
