"""Report piece: the local exponent of ln T of alpha*(T), exact (derivation step g.exponent)."""
from __future__ import annotations

from .. import plotting
from ..spec import ModelSpec

PRIORS = ("bilinear", "gaussian-logit")
LAW_EXPONENT = {"bilinear": 1, "gaussian-logit": 2}


def local_exponent_figure(out, table: dict) -> list[str]:
    """plotting.alpha_star_local_exponent of the table, saved as PNG and PDF."""
    fig = plotting.alpha_star_local_exponent(table, LAW_EXPONENT)
    return plotting.save(fig, out, "alpha_star_local_exponent", close=True)


def local_exponent_tables(quick: bool, base: ModelSpec | None = None) -> dict:
    """p(T) at T = 2^k (every k <= 40, every third with quick), for both priors."""
    from ..derivations.scaling import EXPONENT_TS, local_exponent_table

    Ts = sorted(set(EXPONENT_TS) | {2**k for k in range(3, 41, 3 if quick else 1)})
    return {prior: local_exponent_table(prior, Ts, base) for prior in PRIORS}


def local_exponent_section(out, items: list, figures: list, quick: bool, base: ModelSpec | None = None,
                           table: dict | None = None) -> dict:
    """p(T) at T = 2^k (``table`` if computed already, by local_exponent_tables), its rows into items and its
    figure into figures; return the results."""
    table = local_exponent_tables(quick, base) if table is None else table
    for prior, rows in table.items():
        shown = [r for r in rows if r["T"] in (16, 4096, 2**40) and "local_exponent" in r]
        items.append((f"alpha*(T) local exponent of ln T, {prior} prior (law: {LAW_EXPONENT[prior]})",
                      "; ".join(f"T={r['T'] if r['T'] <= 4096 else '2^40'}: {r['local_exponent']:.4f}" for r in shown),
                      "results.json", "python experiments/scaling_alpha_star.py --out scaling.json"))
    figures.append(("Local exponent d ln alpha*/d ln ln T of the exact coexistence point against T, both priors; "
                    "dashed: the exponents of the asymptotic laws. At T <= 4096 (shaded) neither has reached its law.",
                    local_exponent_figure(out, table)))
    return {prior: [{k: v for k, v in r.items()} for r in rows] for prior, rows in table.items()}
