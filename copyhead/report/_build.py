"""Build the report: every number and figure with the command and parameters that made it."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time

import numpy as np

from .. import __version__
from .. import _signals, plotting
from .._io import StagedDirectory, atomic_write_text, load_json, metadata, write_json
from ..curves import phase_diagram_table, sampling_table, transitions_table
from ..errors import InvalidParameterError
from ..model import CopyHeadModel
from ..spec import ModelSpec

SUMMARY = "summary.md"
RESULTS = "results.json"


class _Timer:
    def __init__(self, progress):
        self.timings, self.progress = {}, progress

    def __call__(self, name):
        timer = self

        class _Section:
            def __enter__(self):
                _signals.check()   # an interrupt dropped inside a finaliser still ends the report here
                timer.progress(f"[report] {name} ...")
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.timings[name] = round(time.perf_counter() - self.start, 3)
                if exc[0] is None:
                    timer.progress(f"[report] {name}: {timer.timings[name]:.1f} s")

        return _Section()


def _derivation(out, items, progress, pending):
    """Collect the derivation's reports from ``pending`` (derivations.start_checks) and write its files."""
    from ..derivations.latex import render_document

    reports = pending.result()
    passed = sum(r.passed for r in reports)
    write_json(out / "derivation.json", [{"key": r.step.key, "title": r.step.title, "passed": r.passed,
                                           "checks": [{"kind": c.kind, "passed": c.passed, "detail": c.detail}
                                                      for c in r.results]} for r in reports],
               meta=metadata(command="copyhead derive --json"), force=True)
    atomic_write_text(out / "derivation.tex", render_document(reports, version=__version__), force=True)
    items.append(("Derivation steps verified", f"{passed}/{len(reports)}", "derivation.json", "copyhead derive --check"))
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        progress("[report] pdflatex not found: derivation.tex written, PDF skipped")
        items.append(("Derivation document", "LaTeX only (pdflatex not installed)", "derivation.tex",
                      "copyhead derive --latex derivation.tex"))
    else:
        ok = _pdflatex(pdflatex, out, "derivation")
        items.append(("Derivation document", "PDF" if ok else "pdflatex failed (see derivation.tex)",
                      "derivation.pdf" if ok else "derivation.tex", "copyhead derive --latex derivation.tex"))
    return {"verified": passed, "steps": len(reports)}


def _figure(out, fig, name):
    return plotting.save(fig, out, name, close=True)


def _pdflatex(pdflatex: str, out: pathlib.Path, stem: str) -> bool:
    """Two pdflatex runs on out/STEM.tex; True if STEM.pdf was made. Its .aux and .log never stay behind (and an
    interrupt kills pdflatex: subprocess.run kills its child on any exception)."""
    try:
        for _ in range(2):
            run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{stem}.tex"], cwd=out,
                                 capture_output=True, text=True, timeout=600)
    finally:
        for junk in (f"{stem}.aux", f"{stem}.log", f"{stem}.out"):
            if (out / junk).exists():
                (out / junk).unlink()
    return run.returncode == 0 and (out / f"{stem}.pdf").exists()


def _csv(out, table, csvs):
    """Write a curve table next to the JSON as out/<name>.csv."""
    table.to_csv(out / f"{table.name}.csv", force=True)
    csvs.append(f"{table.name}.csv")


def _sampled(spec: ModelSpec, alphas, N: int, steps: int, seed: int, chains: int):
    """m(alpha) by MALA, and the attention heatmap panels: each (alpha, start)'s first chain at its final step."""
    from ..numerics.executors import open_executor
    from ..numerics.network import attention, copy_order_parameter
    from ..numerics.sampling import m_of_alpha

    finals = {}

    def keep_final(done, total, outcome):
        if outcome.task.chain == 0:
            finals[outcome.task.alpha, outcome.task.init] = outcome.final_theta

    with open_executor(None, workers=min(2, os.cpu_count() or 1)) as executor:
        points = m_of_alpha(spec, [N], alphas, sampler="mala", chains=chains, steps=steps, seed=seed,
                            executor=executor, on_progress=keep_final)
    panels = []
    for a in alphas:
        for init in ("uniform", "copy"):
            theta = finals[float(a), init]
            Q, K = theta[: spec.T * N].reshape(spec.T, N), theta[spec.T * N: 2 * spec.T * N].reshape(spec.T, N)
            A = attention(spec, Q @ K.T / N)
            panels.append((f"α = {a:g}, {init} start\nm = {copy_order_parameter(A):.3f}", A))
    return points, panels


def _scaling_job(Ts, priors, base: ModelSpec, quick: bool):
    """The alpha*(T) part's numbers (run in a worker process while the report computes the rest)."""
    from ._scaling_section import local_exponent_tables

    table, scans = _scaling(Ts, priors, base)
    return table, scans, local_exponent_tables(quick, base)


def _scaling(Ts, priors, base: ModelSpec):
    table, scans = {}, {}
    for prior in priors:
        scans[prior] = CopyHeadModel(base.replace(prior=prior)).alpha_star_vs_T(Ts)
        found = scans[prior].found()
        rows = {"T": [row["T"] for row in found], "alpha_star": [row["alpha_star"] for row in found],
                "spinodals": [row["spinodals"] for row in found]}
        lnT = np.log(rows["T"])
        if len(lnT) >= 3:
            # bilinear: alpha* linear in ln T; Gaussian-logit: quadratic. Fit both shapes, keep both residuals.
            fits = {}
            for law, degree in (("a ln T + b", 1), ("a ln^2 T + b ln T + c", 2)):
                coefficients = np.polyfit(lnT, rows["alpha_star"], degree)
                residual = float(np.max(np.abs(np.polyval(coefficients, lnT) - rows["alpha_star"])))
                fits[law] = {"coefficients": coefficients.tolist(), "max_residual": residual}
            best = "a ln T + b" if prior == "bilinear" else "a ln^2 T + b ln T + c"
            rows["fits"] = fits
            rows["fit"] = {"law": best, **fits[best]}
            slopes = np.diff(rows["alpha_star"]) / np.diff(lnT)
            rows["local_slope_dalpha_dlnT"] = slopes.tolist()
        table[prior] = rows
    return table, scans


#: Internal test hook: with COPYHEAD_REPORT_TINY=1 `copyhead report` writes a small report in about a second
#: (same staging, locking, writers, figure and pdflatex paths; no science), for the interrupt and concurrency tests.
TINY_ENV = "COPYHEAD_REPORT_TINY"


def build_report(out_dir, *, quick: bool = False, force: bool = False, seed: int = 0, progress=None) -> dict:
    """Run the main job and write everything into out_dir. Returns the results dictionary.

    The report is written whole or not at all: into a staging directory beside out_dir, swapped in at the end
    (see copyhead._io.StagedDirectory). A failure or an interrupt leaves a previous report untouched."""
    progress = progress or (lambda message: None)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidParameterError("--seed", f"must be an integer >= 0, got {seed!r}")
    if not isinstance(quick, bool) or not isinstance(force, bool):
        raise InvalidParameterError("quick" if not isinstance(quick, bool) else "force", "must be True or False")
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir).strip():
        raise InvalidParameterError("--out", f"must be a directory path, got {out_dir!r}")
    write = _tiny_report if os.environ.get(TINY_ENV) == "1" else _write_report
    with StagedDirectory(out_dir, force=force, markers=(RESULTS, SUMMARY)) as staged:
        report = write(staged.path, out_dir, quick=quick, seed=seed, progress=progress)
        staged.commit()
    progress(f"[report] wrote {pathlib.Path(out_dir) / SUMMARY}")
    return report


def _tiny_report(out: pathlib.Path, out_dir, *, quick: bool, seed: int, progress) -> dict:
    """The TINY_ENV test hook: a few files through the report's own writers, with pauses between them."""
    timer = _Timer(progress)
    items, figures, results = [], [], {}
    for k in range(3):
        with timer(f"tiny section {k}"):
            write_json(out / f"part{k}.json", {"k": k}, meta=metadata(command="tiny"), force=True)
            time.sleep(0.15)
    with timer("tiny figure"):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, seed])
        figures.append(("tiny figure", _figure(out, fig, "tiny")))
    pdflatex = shutil.which("pdflatex")
    if pdflatex is not None:
        with timer("tiny pdflatex"):
            atomic_write_text(out / "tiny.tex", "\\documentclass{article}\\begin{document}tiny\\end{document}\n", force=True)
            results["pdf"] = _pdflatex(pdflatex, out, "tiny")
    meta = metadata(params={"tiny": True}, seeds={"report": seed}, timings=timer.timings, command="tiny report")
    write_json(out / RESULTS, results, meta=meta, force=True)
    atomic_write_text(out / SUMMARY, _summary(items, figures, meta), force=True)
    return {"meta": meta, "result": results}


def _write_report(out: pathlib.Path, out_dir, *, quick: bool, seed: int, progress) -> dict:
    """Every section of the report, written into out (the staging directory)."""
    from ..derivations import fork_pool, import_sections, start_checks

    timer = _Timer(progress)
    items, figures, results, csvs = [], [], {}, []
    spec = ModelSpec()
    linear = ModelSpec(attention="linear")
    model, linear_model = CopyHeadModel(spec), CopyHeadModel(linear)
    settings = {"quick": quick, "seed": seed, "model": spec.to_dict(),
                "phase_T_range": [3.0, 16.0] if quick else [3.0, 48.0],
                "scaling_T": [8, 16, 32, 64, 128, 256] if quick else [8, 16, 32, 64, 128, 256, 512, 1024, 4096],
                "langevin": {"N": 32, "alphas": [4.0, 10.0], "steps": 3000 if quick else 20000,
                             "chains": 1 if quick else 2},
                "tricritical_T": [16] if quick else [4, 16, 64],
                "parallel": "the alpha*(T) numbers and the derivation run in 2 worker processes meanwhile; the "
                            "timings of those two parts are the waits for them"}

    # The alpha*(T) numbers (the longest part) and the derivation's sections run in worker processes while
    # this process computes the other parts; all are collected before the Langevin check, which starts
    # workers of its own. The workers fork at the first submit, before the pool starts its thread.
    import_sections()
    with fork_pool(2) as pool:
        scaling = pool.submit(_scaling_job, settings["scaling_T"], ("bilinear", "gaussian-logit"), spec, quick)
        pending = start_checks(executor=pool)
        try:
            _write_parts(out, quick=quick, seed=seed, timer=timer, pool=pool, scaling=scaling, pending=pending,
                         items=items, figures=figures, results=results, csvs=csvs, settings=settings, spec=spec,
                         model=model, linear_model=linear_model)
        finally:
            scaling.cancel()
            pending.cancel()
    meta = metadata(params=settings, seeds={"report": seed}, timings=timer.timings,
                    command=f"copyhead report{' --quick' if quick else ''} --out {out_dir}")
    write_json(out / RESULTS, results, meta=meta, force=True)
    atomic_write_text(out / SUMMARY, _summary(items, figures, meta, csvs), force=True)
    return {"meta": meta, "result": results}


def _write_parts(out, *, quick, seed, timer, pool, scaling, pending, items, figures, results, csvs, settings, spec,
                 model, linear_model):
    """The report's parts, in order, into items, figures, results and csvs; the alpha*(T) numbers from the
    future scaling and the derivation from pending, both running in pool."""
    from ..theory.landau import landau_expansion

    with timer("softmax transition"):
        soft_report = model.transitions(2.0, 20.0)
        soft = soft_report.to_dict()
        results["softmax_transition"] = soft
        _csv(out, transitions_table(soft_report, {"model": spec.to_dict()}), csvs)
        first = [t for t in soft_report.transitions if t.kind == "first-order"]
        if first:
            t = first[0]
            items.append(("Softmax coexistence point alpha*", f"{t.critical_value:.10g}", RESULTS,
                          "copyhead transition --json"))
            items.append(("Softmax spinodals", ", ".join(f"{s:.10g}" for s in t.spinodals), RESULTS,
                          "copyhead transition --json"))
            items.append(("Softmax jump of m at alpha*", f"{t.order_parameter['before']:.4f} -> "
                          f"{t.order_parameter['after']:.4f}", RESULTS, "copyhead transition --json"))

    with timer("linear transition"):
        lin = linear_model.transitions(0.2, 5.0).to_dict()
        results["linear_transition"] = lin
        L = landau_expansion("bilinear")
        subs = linear_model.subs()
        alpha_c_closed = float(L.alpha_c.subs(subs))
        results["linear_alpha_c_closed_form"] = alpha_c_closed
        second = [t for t in lin["transitions"] if t["kind"] == "second-order"]
        if second:
            expo = second[0]["evidence"].get("exponent", {})
            items.append(("Linear alpha_c (engine; closed form)", f"{second[0]['critical_value']:.10g}; "
                          f"{alpha_c_closed:.10g}", RESULTS, "copyhead transition --attention linear --json"))
            items.append(("Linear order-parameter exponent (measured)", f"{expo.get('beta', expo)}", RESULTS,
                          "copyhead transition --attention linear --json"))

    with timer("phase diagram (T, alpha)"):
        diagram_T = model.phase_diagram("T", settings["phase_T_range"])
        results["phase_diagram_T"] = diagram = diagram_T.to_dict()
        _csv(out, phase_diagram_table(diagram_T, {"model": spec.to_dict()}), csvs)
        for point in diagram["special_points"]:
            items.append((f"Softmax {point['kind']} in (T, alpha)",
                          ", ".join(f"{k}={v:.6g}" for k, v in point["values"].items()), RESULTS,
                          f"copyhead phase-diagram --vary T --range {settings['phase_T_range'][0]:g} "
                          f"{settings['phase_T_range'][1]:g} --json"))
        figures.append(("Phase diagram of softmax attention in (T, alpha); T treated as continuous in the reduced "
                        "free energy (only integer T are networks).",
                        _figure(out, plotting.phase_diagram(
                            diagram_T, title="Softmax: first-order line, crossover and critical end point"),
                            "phase_diagram_T_alpha")))

    with timer("linear tricritical line"):
        Ts = np.geomspace(2, 512, 200)
        engine_points, tricritical_diagrams = [], []
        for T_ in settings["tricritical_T"]:
            d = linear_model.replace(T=T_).phase_diagram("gamma", (0.05, 2.0))
            tricritical_diagrams.append(d)
            engine_points += [(T_, p.values["gamma"]) for p in d.special_points if p.kind == "tricritical"]
        results["linear_tricritical"] = {"closed_form": "gamma_tc = sqrt(V-1)/(2 sqrt(T) sigma_q sigma_k sigma_w)",
                                         "engine": [{"T": T_, "gamma_tc": g,
                                                     "closed_form": float(L.gamma_tricritical.subs(linear_model.replace(T=T_).subs()))}
                                                    for T_, g in engine_points]}
        for row in results["linear_tricritical"]["engine"]:
            items.append((f"Linear tricritical gamma at T={row['T']} (engine; closed form)",
                          f"{row['gamma_tc']:.8g}; {row['closed_form']:.8g}", RESULTS,
                          f"copyhead phase-diagram --attention linear --T {row['T']} --vary gamma --range 0.05 2 --json"))
        figures.append(("Tricritical line of linear attention (bilinear prior): second order above, first order below.",
                        _figure(out, plotting.tricritical_line(linear_model, Ts, tricritical_diagrams),
                                "linear_tricritical")))

    with timer("alpha*(T) scaling"):
        table, scans, exponent_tables = scaling.result()
        results["scaling"] = table
        for prior, scan in scans.items():
            scan_table = scan.to_table()
            _csv(out, type(scan_table)(f"alpha_star_vs_T_{prior}", scan_table.columns, scan_table.rows,
                                       scan_table.descriptions, scan_table.meta), csvs)
        for prior, rows in table.items():
            if rows.get("fit"):
                a = rows["fit"]["coefficients"][0]
                items.append((f"alpha*(T) fit, {prior} prior", f"{rows['fit']['law']} with a = {a:.4g} "
                              f"(max residual {rows['fit']['max_residual']:.2g})", RESULTS, "copyhead report"))
        figures.append(("Coexistence point alpha* against ln T for both priors, with fits.",
                        _figure(out, plotting.alpha_star_scaling(
                            scans, {prior: (rows["fit"]["law"], rows["fit"]["coefficients"])
                                    for prior, rows in table.items() if rows.get("fit")}), "alpha_star_scaling")))
        from ._scaling_section import local_exponent_section

        results["scaling_local_exponent"] = local_exponent_section(out, items, figures, quick, spec,
                                                                   table=exponent_tables)

    with timer("branches and landscapes"):
        if first:
            lo, hi = first[0].spinodals
            alphas = [0.8 * lo, lo + 0.02 * (hi - lo), first[0].critical_value, hi - 0.02 * (hi - lo), 1.15 * hi]
            figures.append((f"Softmax free energy f(delta) - min f at alpha = {', '.join(f'{a:.3f}' for a in alphas)}: "
                            "one minimum, two, equal depth at alpha*, two, one.",
                            _figure(out, plotting.landscapes(model, alphas), "landscapes")))
        branches = model.stationary_branches(2.0, 12.0, n=300 if quick else 800)
        results["branches_count"] = len(branches)
        _csv(out, branches.to_table(), csvs)
        figures.append(("m(alpha) for softmax: stable (global), metastable and unstable stationary branches; spinodals "
                        "dotted, coexistence dashed. Branches from the exact cubic in alpha at each delta.",
                        _figure(out, plotting.branches(branches, transition=soft_report), "m_of_alpha")))

    with timer("derivation"):        # its collection: the checks ran in the workers meanwhile
        derivation_items = []
        results["derivation"] = _derivation(out, derivation_items, progress=timer.progress, pending=pending)
        items[0:0] = derivation_items     # first in the summary, as in the derivation order
    pool.shutdown()

    with timer("Langevin check"):
        lv = settings["langevin"]
        sample_points, panels = _sampled(spec, lv["alphas"], lv["N"], lv["steps"], seed, lv["chains"])
        theory_m = {p.alpha: model.minima(p.alpha)[0].m for p in sample_points}
        _csv(out, sampling_table(sample_points, theory_m, {"model": spec.to_dict()}), csvs)
        samples = [p.to_json() for p in sample_points]
        for p in samples:
            p["theory_global_m"] = theory_m[p["alpha"]]
            items.append((f"MALA m at alpha={p['alpha']:g}, N={p['N']}, {p['init']} start (theory N -> oo; "
                          "finite-N corrections are O(1/N))",
                          f"{p['m_mean']:.4f} ± {p['m_err']:.4f} ({p['theory_global_m']:.4f})", RESULTS,
                          f"copyhead verify --N {p['N']} --alphas {p['alpha']:g} --json"))
        results["langevin"] = samples
        figures.append(("Theory (branches) against MALA sampling of the finite network (W integrated out).",
                        _figure(out, plotting.branches(branches, transition=soft_report, samples=sample_points,
                                                       title="Softmax: theory vs MALA at finite N"),
                                "theory_vs_sampling")))
        figures.append(("Attention matrices A sampled by MALA at the final step (the first chain of each start in "
                        "the m measurement above), below and above the transition.",
                        _figure(out, plotting.attention_heatmaps(
                            panels, suptitle=f"Attention sampled by MALA (N = {lv['N']}, final step)"),
                            "attention_heatmaps")))

    with timer("training dynamics"):
        from ..plotting_dynamics import report_figures

        dyn_items, dyn_figures, results["dynamics"] = report_figures(out, plotting.save, quick=quick)
        items.extend((label, value, RESULTS, command) for label, value, command in dyn_items)
        figures.extend(dyn_figures)


def _summary(items, figures, meta, csvs=()) -> str:
    lines = ["# copyhead report", "",
             f"copyhead {meta['copyhead_version']}, commit {meta['git_commit'] or 'unknown'}, "
             f"{meta['created_utc']}; command: `{meta['command']}`.", "",
             "Default model: softmax, T = V = 16, gamma = sigma_q = sigma_k = sigma_w = sigma2 = 1, centred tokens, "
             "bilinear prior (linear-attention rows: same with attention = linear).", "",
             "## Numbers", "", "| result | value | file | command |", "|---|---|---|---|"]
    for name, value, path, command in items:
        lines.append(f"| {name} | {value} | [{path}]({path}) | `{command}` |")
    lines += ["", "## Figures", "", "| figure | caption |", "|---|---|"]
    for caption, paths in figures:
        links = " ".join(f"[{p}]({p})" for p in paths)
        lines.append(f"| {links} | {caption} |")
    if csvs:
        lines += ["", "## Curves (CSV, named columns; `#` lines say what produced them)", ""]
        lines += [f"- [{name}]({name})" for name in csvs]
    lines += ["", "## Timings (s)", "", "| section | seconds |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in meta["timings"].items()]
    return "\n".join(lines) + "\n"


def load_report(out_dir) -> dict:
    """The results of a report directory: {"meta": ..., "result": ...}."""
    path = pathlib.Path(out_dir) / RESULTS
    if not path.exists():
        raise InvalidParameterError("out_dir", f"{path} not found; run `copyhead report --out {out_dir}` first")
    return load_json(path)


__all__ = ["build_report", "load_report"]
