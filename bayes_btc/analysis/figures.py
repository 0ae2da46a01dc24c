"""Which figures a run shows, and the numbers each one draws (`FigureSpec`s, in report order):
the table-drawn ones (`table_figures`), Kaplan-Meier against posterior survival,
prior/likelihood/posterior of the conjugate fits, interval hazard ratios of the non-PH model,
rank plots, historical priors and tipping-point heat maps."""

from __future__ import annotations

import numpy as np

from bayes_btc.analysis.result import Analysis, FigureSpec
from bayes_btc.analysis.table_figures import table_figure_specs
from bayes_btc.decisions.rules import NI
from bayes_btc.inputs.datakey import DataKey, reconstructed_model
from bayes_btc.models.fit import EXACT_DRAWS, has_simple_prior
from bayes_btc.models.pwe import MODEL_NAMES, interval_hr_bands, survival_bands

KM_POINTS = 120  # times at which posterior survival bands are drawn


def shown_keys(a: Analysis) -> list[DataKey]:
    """Survival data sets drawn: each endpoint's own data, and the first reconstructed data
    set of each endpoint (it stands for the others)."""
    return [k for k in a.pwe_tables if k.dataset in (None, 1)]


def _model_name(base: str, key: DataKey) -> str:
    return reconstructed_model(base) if key.reconstructed else base


def figure_specs(a: Analysis) -> list[FigureSpec]:
    """Every figure of the run, with its caption, in the order the report shows them."""
    control = a.study.arms[1]
    threshold = a.plan.decision_threshold
    out = table_figure_specs(a)
    out += _survival_specs(a)
    out += _model_specs(a)
    if a.historical is not None:
        for e in a.historical.priors:
            out.append(
                FigureSpec(
                    "historical",
                    f"historical_{e}",
                    f"{e}: historical {control} arms and the MAP prior",
                    {"hp": a.historical, "endpoint": e, "control": control},
                )
            )
    if a.tipping is not None:
        for e, flip in a.tipping.flips.items():
            out.append(
                FigureSpec(
                    "tipping",
                    f"tipping_{e}",
                    f"{e}: tipping point, P(NI) over the prior's location and strength",
                    {"table": a.tipping.table, "endpoint": e, "threshold": threshold, "flip": flip},
                )
            )
    return out


def _survival_specs(a: Analysis) -> list[FigureSpec]:
    """Kaplan-Meier against posterior survival per data set shown, under the reference
    log-HR prior."""
    prior = a.plan.reference_prior("log_hr")
    out = []
    for key in shown_keys(a):
        table, d = a.pwe_tables[key], a.ipd[key]
        times = np.linspace(0, table.end, KM_POINTS)
        bands = {
            _model_name(base, key): survival_bands(
                a.trees[_model_name(base, key)], table, key, prior, times
            )
            for base in MODEL_NAMES.values()
        }
        tag = " (RECONSTRUCTED data set 1)" if d.reconstructed else ""
        suffix = _model_name("", key)
        out.append(
            FigureSpec(
                "km",
                f"km_{key.endpoint}{suffix}",
                f"{key.endpoint}: Kaplan-Meier vs posterior survival ({prior} prior){tag}",
                {
                    "time": d.time,
                    "event": d.event,
                    "arm": d.arm_index(),
                    "arms": a.study.arms,
                    "bands": bands,
                    "times": times,
                    "title": f"{key.endpoint}{tag}",
                },
            )
        )
    return out


def _model_specs(a: Analysis) -> list[FigureSpec]:
    """Prior/likelihood/posterior densities of the conjugate fits, interval HRs of the non-PH
    PWE fits, and rank plots of the sampled chains."""
    out = []
    for e in a.endpoints:
        model = "loghr_summary" if a.kinds[e] == "survival" else "beta_binomial"
        if not any(f.endpoint == e and f.model == model and has_simple_prior(f) for f in a.fits):
            continue  # e.g. only mixture or historical priors: see the historical figures
        rule = a.rules[e].ni
        out.append(
            FigureSpec(
                "density",
                f"density_{e}",
                f"{e}: prior, likelihood and posterior ({model}), NI region shaded",
                {
                    "fits": a.fits,
                    "endpoint": e,
                    "model": model,
                    "margin": rule.margin,
                    "direction": rule.direction,
                    "arms": a.study.arms,
                    "probabilities": _exact_probabilities(a, e, model, rule.margin),
                },
            )
        )
    prior = a.plan.reference_prior("log_hr")
    for key in shown_keys(a):
        model = _model_name(MODEL_NAMES["nonph"], key)
        table = a.pwe_tables[key]
        tag = " (RECONSTRUCTED data set 1)" if key.reconstructed else ""
        out.append(
            FigureSpec(
                "interval_hr",
                f"interval_hr_{key.endpoint}",
                f"{key.endpoint}: interval hazard ratios, non-PH model ({prior} prior){tag}",
                {
                    "bands": interval_hr_bands(a.trees[model], table, key, prior),
                    "table": table,
                    "endpoint": key.endpoint,
                    "model": model,
                    "prior": prior,
                },
            )
        )
    mcmc = [f for f in a.fits if f.draws_from != EXACT_DRAWS]  # exact draws have no chains
    for quantity, label in (("hr", "hazard ratios"), ("rate_diff", "rate differences")):
        if any(quantity in f.draws for f in mcmc):
            out.append(
                FigureSpec(
                    "ranks",
                    f"ranks_{quantity}",
                    f"Rank plots of the chains: {label}",
                    {"fits": mcmc, "quantity": quantity},
                )
            )
    return out


def _exact_probabilities(
    a: Analysis, endpoint: str, model: str, margin: float
) -> dict[str, tuple[float, float]]:
    """{prior: (exact P(NI), P(NI) from the draws)} of one conjugate model at the plan's
    margin, as exact_check.csv has them (the density figure annotates them)."""
    x = a.exact
    if x.empty:
        return {}
    rows = x[
        (x["endpoint"] == endpoint)
        & (x["model"] == model)
        & (x["estimand"] == NI)
        & (x["margin"] == margin)
    ]
    return {
        str(r.prior): (float(r.probability_exact), float(r.probability_mcmc))
        for r in rows.itertuples()
    }
