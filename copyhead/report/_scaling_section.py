"""Report piece: the local exponent of ln T of alpha*(T), exact (derivation step g.exponent)."""
from __future__ import annotations

import numpy as np

from ..spec import ModelSpec
from . import _figures

PRIORS = ("bilinear", "gaussian-logit")
LAW_EXPONENT = {"bilinear": 1, "gaussian-logit": 2}


def local_exponent_figure(out, table: dict) -> list[str]:
    """p(T) = d ln alpha*/d ln ln T for both priors, with the laws' exponents and the accessible T shaded."""
    plt = _figures._plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.axvspan(16, 4096, color="0.92", label="T = 16 ... 4096")
    for prior, rows in table.items():
        found = [r for r in rows if "local_exponent" in r]
        line, = ax.plot([r["T"] for r in found], [r["local_exponent"] for r in found], "o-", ms=3,
                        label=f"{prior}: exact")
        ax.axhline(LAW_EXPONENT[prior], color=line.get_color(), ls="--", lw=1,
                   label=f"{prior}: law, exponent {LAW_EXPONENT[prior]}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context length T")
    ax.set_ylabel(r"local exponent $d\ln\alpha^*/d\ln\ln T$")
    ax.set_title("Softmax: effective power of ln T in the coexistence point")
    ax.legend(fontsize=7)
    return _figures.save(fig, out, "alpha_star_local_exponent")


def local_exponent_section(out, items: list, figures: list, quick: bool, base: ModelSpec | None = None) -> dict:
    """Compute p(T) at T = 2^k, add the table rows to items and the figure to figures; return the results."""
    from ..derivations.scaling import EXPONENT_TS, local_exponent_table

    Ts = sorted(set(EXPONENT_TS) | {2**k for k in range(3, 41, 3 if quick else 1)})
    table = {prior: local_exponent_table(prior, Ts, base) for prior in PRIORS}
    for prior, rows in table.items():
        shown = [r for r in rows if r["T"] in (16, 4096, 2**40) and "local_exponent" in r]
        items.append((f"alpha*(T) local exponent of ln T, {prior} prior (law: {LAW_EXPONENT[prior]})",
                      "; ".join(f"T={r['T'] if r['T'] <= 4096 else '2^40'}: {r['local_exponent']:.4f}" for r in shown),
                      "results.json", "python experiments/scaling_alpha_star.py --out scaling.json"))
    figures.append(("Local exponent d ln alpha*/d ln ln T of the exact coexistence point against T, both priors; "
                    "dashed: the exponents of the asymptotic laws. At T <= 4096 (shaded) neither has reached its law.",
                    local_exponent_figure(out, table)))
    return {prior: [{k: v for k, v in r.items()} for r in rows] for prior, rows in table.items()}
