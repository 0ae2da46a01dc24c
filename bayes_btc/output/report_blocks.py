"""The report's appendix as collapsible sections built from a saved results folder: at a
glance, the question and plan, assumptions, audit, P(NI) for every model x prior, decisions
in words, survival models side by side, historical priors, tipping point, further figures,
exact checks and diagnostics."""

from __future__ import annotations

import pandas as pd

from bayes_btc.decisions.rules import CURVE, NI
from bayes_btc.inputs.datakey import RECONSTRUCTED_SUFFIX
from bayes_btc.output.blocks import Block
from bayes_btc.output.numbers import probabilities
from bayes_btc.output.report_answer import margins_sentence
from bayes_btc.output.report_evidence import appendix_figures
from bayes_btc.output.saved import SavedResults


def ni_pivot(a: SavedResults) -> pd.DataFrame:
    """P(NI) at the plan margin: one row per endpoint x model, one column per prior."""
    d = a.noninferiority[a.noninferiority["estimand"] == NI]
    wide = d.pivot_table(
        index=["endpoint", "model", "direction", "margin"],
        columns="prior",
        values="probability",
        sort=False,
    ).reset_index()
    wide.columns.name = None
    return wide


AUDIT_COLUMNS = ("endpoint", "arm", "check", "reported", "finding", "used_in_fit")
SPREAD_PROBABILITIES = ("pooled", "min", "q25", "median", "q75", "max")


def appendix_blocks(a: SavedResults, assumptions: list[str]) -> list[Block]:
    """The appendix: every table (model x prior x margin), the decisions in words, the plan,
    assumptions, audit, survival models side by side, historical priors, exact checks,
    diagnostics and the figures the main part does not show; each a collapsible section."""
    p, t = a.plan, a.plan.decision_threshold
    treatment, control = a.study.arms
    audit = a.audit.table
    flagged = audit[~audit["consistent"].astype(bool)]
    diag = a.diagnostics
    figures = appendix_figures(a)
    sections: list[tuple[str, list[Block]]] = [
        (
            "At a glance: decisions under the first-named prior",
            [
                Block(
                    "p",
                    f"P(non-inferior) at the plan's margins under the first-named prior of "
                    f"each family; 'yes' when it reaches {t:g}.",
                ),
                Block("table", probabilities(at_a_glance(a), ["P(NI)"])),
            ],
        ),
        (
            "The question and the plan",
            [
                Block(
                    "p",
                    f"Is {treatment} non-inferior (or, where the plan's margin asks it, "
                    f"superior) to {control}? For each endpoint, model and prior the posterior "
                    "probability of the plan's margin rule (P(NI)) is compared with the "
                    f"decision threshold {t:g}. " + margins_sentence(a),
                ),
                Block("table", prior_table(a)),
            ],
        ),
        ("Assumptions and approximations", [Block("list", assumptions)]),
        (
            "Audit of the inputs",
            [
                Block(
                    "p",
                    f"{len(audit)} checks, {len(flagged)} inconsistencies. Each printed "
                    "number is taken as exact up to its printed precision.",
                ),
                Block(
                    "table",
                    flagged[[c for c in AUDIT_COLUMNS if c in flagged]],  # also when empty
                ),
            ],
        ),
        (
            "Posterior probability of non-inferiority at the plan's margins",
            [
                Block("table", probabilities(ni := ni_pivot(a), list(ni.columns[4:]))),
                Block("p", shown_sentence(a, t)),
            ],
        ),
        ("P(NI) over the margin grid: every model x prior x margin", margin_grid_blocks(a)),
        (
            "Decisions in words",
            [
                Block(
                    "p",
                    "Decisions use the exact posterior probability where the model is "
                    f"conjugate (the estimate from its {conjugate_draws(a)} is shown beside "
                    "it), and the MCMC estimate otherwise.",
                ),
                Block("list", list(a.decisions["statement"])),
            ],
        ),
    ]
    sections += survival_blocks(a) + historical_blocks(a)
    if a.provenance.get("tipping_point"):
        sections.append(
            (
                "Sensitivity: how strong a prior would change the conclusion",
                [
                    Block(
                        "p",
                        "For each endpoint, the weakest prior (on the HR, or on the "
                        f"{control} rate as pseudo-patients) that would reverse the "
                        "conclusion, from the conjugate closed forms over a grid of prior "
                        "locations and strengths (tipping_point.csv).",
                    ),
                    Block("list", a.provenance["tipping_point"]),
                ],
            )
        )
    if figures:
        sections.append(("Further figures", [Block("figures", figures)]))
    exact_cols = ["endpoint", "model", "prior", "estimand", "probability_mcmc"]
    exact_cols += ["probability_exact", "mcse", "gap_mcse", "within_tolerance"]
    sections.append(
        (
            f"{conjugate_draws(a).capitalize()} against the exact posterior",
            [
                Block(
                    "p",
                    "These models are conjugate, so every probability has an exact value "
                    "(normal closed form; Beta difference by quadrature). A gap larger than "
                    f"{p.diagnostics.max_exact_gap_mcse:g} Monte Carlo SEs marks the fit as "
                    "failed.",
                ),
                Block(
                    "table",
                    probabilities(a.exact[exact_cols], ["probability_mcmc", "probability_exact"]),
                ),
            ],
        )
    )
    diag_cols = ["endpoint", "model", "prior", "r_hat", "ess_bulk", "ess_tail", "divergences"]
    diag_cols += ["exact_gap_mcse", "passed", "problems"]
    sections.append(
        (
            "Diagnostics",
            [
                Block(
                    "p",
                    (
                        "All fits pass"
                        if a.converged
                        else f"{int((~diag['passed']).sum())} fit(s) FAIL"
                    )
                    + f" the thresholds: r_hat <= {p.diagnostics.max_r_hat}, bulk and tail "
                    f"ESS >= {p.diagnostics.min_ess:g}, divergences <= "
                    f"{p.diagnostics.max_divergences}, exact gap <= "
                    f"{p.diagnostics.max_exact_gap_mcse:g} MCSE. Sampler: "
                    f"{a.sampler.chains} chains x {a.sampler.draws} draws after "
                    f"{a.sampler.tune} tuning steps, seed {a.sampler.seed}"
                    + (
                        f"; conjugate models: {a.sampler.exact_draws} exact posterior draws "
                        f"(MCSE target {a.sampler.mcse_target:g} for P(NI))."
                        if a.sampler.conjugate == "exact"
                        else "."
                    ),
                ),
                Block("table", diag[diag_cols]),
            ],
        )
    )
    return [Block("details", content, title) for title, content in sections]


def survival_blocks(a: SavedResults) -> list[tuple[str, list[Block]]]:
    """Summary-level and PWE models side by side, the reconstruction spread, and whether the
    vague-prior P(HR < margin) of the two agree (within 0.05)."""
    ni = a.noninferiority
    surv = [e for e in a.endpoints if a.kinds[e] == "survival"]
    d = ni[(ni["estimand"] == NI) & ni["endpoint"].isin(surv)]
    if d["model"].nunique() < 2:
        return []
    wide = d.pivot_table(
        index=["endpoint", "prior"], columns="model", values="probability", sort=False
    ).reset_index()
    wide.columns.name = None
    blocks = [
        Block(
            "p",
            "Posterior P(HR < the endpoint's margin) by model. Models ending in "
            f"{RECONSTRUCTED_SUFFIX} are fitted to RECONSTRUCTED pseudo-patient data (pooled over "
            "the reconstructed sets), not to trial data.",
        ),
        Block("table", probabilities(wide, [c for c in wide.columns[2:]])),
    ]
    vague = a.plan.reference_prior("log_hr")
    words = []
    for e in surv:
        row = wide[(wide["endpoint"] == e) & (wide["prior"] == vague)]
        ref = row.get("loghr_summary")
        for model in [c for c in wide.columns if c.startswith("pwe_ph")]:
            if ref is None or row[model].isna().all():
                continue
            gap = float(row[model].iloc[0] - ref.iloc[0])
            verdict = (
                "agree (within 0.05)"
                if abs(gap) <= 0.05
                else "DIFFER by more than 0.05: the reconstructed data sets carry the "
                "published HR but not exactly its precision (see the spread below), and "
                "the PWE baseline adds its own uncertainty"
            )
            words.append(
                f"{e}, {vague} prior: {model} {row[model].iloc[0]:.3f} vs "
                f"loghr_summary {ref.iloc[0]:.3f} (difference {gap:+.3f}): {verdict}."
            )
    if words:
        blocks.append(Block("list", words))
    quantities = survival_quantities(a, vague)
    if len(quantities):
        blocks += [
            Block("h3", f"Survival quantities from the PWE models ({vague} prior)"),
            Block(
                "p",
                "Posterior median and 95% interval. Medians in months; 'not reached' "
                "where the survival curve stays above 0.5 to the end of follow-up in that "
                "part of the posterior (nothing is extrapolated). RMST to "
                f"{a.plan.pwe.rmst_horizon_months:g} months.",
            ),
            Block("table", quantities),
        ]
    if len(a.spread):
        blocks += [
            Block("h3", "How much the reconstruction moves P(NI)"),
            Block(
                "p",
                "Each reconstructed data set is one draw of data consistent with the "
                "published summary. P(NI) per set: minimum, quartiles, maximum and SD across sets, "
                "beside the pooled value.",
            ),
            Block(
                "table", probabilities(a.spread, ["pooled", "min", "q25", "median", "q75", "max"])
            ),
        ]
    return [("Survival: summary-level and piecewise-exponential models side by side", blocks)]


def prior_table(a: SavedResults) -> pd.DataFrame:
    """Every named prior: its scale, its distribution(s) and the plan's description."""
    treatment, control = a.study.arms
    used = set(a.noninferiority["prior"])
    rows = []
    for k, v in a.plan.priors.log_hr.items():
        dist = v.mixture.describe()
        if v.control_median:
            dist += f"; {control} median: {v.control_median.replace('_', ' ')} MAP prior"
        rows.append({"scale": "log-HR", "name": k, "prior": dist, "description": v.description})
    for k, v in a.plan.priors.rate.items():
        t, c = v.arm_priors()
        dist = (
            f"{t.describe()} per arm"
            if t == c
            else f"{treatment}: {t.describe()}; {control}: "
            + (f"{c.replace('_', ' ')} MAP prior" if isinstance(c, str) else c.describe())
        )
        rows.append({"scale": "rate", "name": k, "prior": dist, "description": v.description})
    out = pd.DataFrame(rows)
    if len(out):  # a prior the plan names but no fit used (e.g. historical, not applicable)
        unused = ~out["name"].isin(used)
        out.loc[unused, "description"] = "NOT USED in this run (see the assumptions). " + out.loc[
            unused, "description"
        ].astype(str)
    return out


def historical_blocks(a: SavedResults) -> list[tuple[str, list[Block]]]:
    """The MAP priors: what they borrow (ESS), how well the mixtures fit, and the trials."""
    h = a.historical
    if not len(h):
        return []
    control = a.study.arms[1]
    w = a.plan.historical.robust_weight
    drawn = (
        "exact independent draws, by quadrature over the between-trial SD; no MCMC"
        if a.plan.historical.sampler == "exact"
        else "NUTS draws"
    )
    shift = borrowing_effect(a)
    return [
        (
            f"Historical {control} priors (meta-analytic-predictive)",
            [
                *([Block("p", about)] if (about := historical_source(a)) else []),
                Block(
                    "p",
                    "What borrowing does to P(non-inferior) at the plan's margin (decision "
                    f"probability; first-named prior beside the historical ones): if the earlier "
                    f"{control} arms did worse than this trial's, borrowing lowers {control}'s "
                    "expected outcome and raises P(NI), and the other way round. The conclusion "
                    f"then rests on this trial's {control} arm being exchangeable with the earlier "
                    "ones.",
                ),
                Block("table", probabilities(shift, list(shift.columns[2:]))),
                Block(
                    "p",
                    f"Earlier trials' {control} arms are combined in a random-effects "
                    "meta-analysis (logit response rate; log median survival in months); its "
                    f"predictive distribution for a new trial's {control} arm is the MAP "
                    f"prior ({drawn}), approximated by a mixture. The robust version mixes in "
                    f"a vague component with weight {w:g}. ESS is the prior's effective sample "
                    "size (ELIR): how many patients (response) or events (median) it is worth; "
                    "ess_mcse is its Monte Carlo standard error (jackknife: the mixture "
                    "refitted without each of 8 batches of the MAP draws; conservative). The "
                    "mixture is checked against the MAP draws (Kolmogorov-Smirnov distance "
                    "ks_distance, and the draws' 95% interval beside the mixture's). A MAP "
                    "prior on a median enters the piecewise-exponential models only.",
                ),
                Block(
                    "table",
                    h[
                        [
                            c
                            for c in (
                                "endpoint",
                                "prior",
                                "scale",
                                "mixture",
                                "ess",
                                "ess_mcse",  # not in results written before it was added
                                "ess_unit",
                                "n_trials",
                                "q2.5",
                                "q50",
                                "q97.5",
                                "draws_q2.5",
                                "draws_q97.5",
                                "ks_distance",
                                "converged",
                            )
                            if c in h
                        ]
                    ],
                ),
                Block(
                    "p",
                    "The trials behind them, as meta-analysed (value: response rate, or median "
                    "in months; basis says which figures are published and which are "
                    "assumed). Every figure's source quote is in the historical data file "
                    "(provenance.json names it).",
                ),
                Block("table", a.historical_trials),
            ],
        )
    ]


def historical_source(a: SavedResults) -> str:
    """What the historical data file says it is about, and what was borrowed for what."""
    h = a.provenance.get("historical") or {}
    if not h.get("regimen"):
        return ""
    borrowed = h.get("borrowed") or {}
    what = ", ".join(e if e == s else f"{e} (from the file's {s})" for e, s in borrowed.items())
    return (
        f"Historical data: {h.get('title') or h.get('data')}. Arms that received "
        f"{h['regimen']}; population: {h.get('population', 'not stated')}. Borrowed for the "
        f"{a.study.arms[1]} arm on: {what or 'no endpoint'}."
    )


def borrowing_effect(a: SavedResults) -> pd.DataFrame:
    """P(NI) under the first-named prior and under each historical prior, for the fits that
    have historical rows (endpoint x model)."""
    d = a.decisions[a.decisions["estimand"] == NI]
    p = d["probability_exact"].where(d["probability_exact"].notna(), d["probability_mcmc"])
    d = d.assign(p=p)
    hist = [n for n in d["prior"].unique() if n in set(a.historical["prior"])]
    cells = d.loc[d["prior"].isin(hist), ["endpoint", "model"]].drop_duplicates()
    first = {a.plan.reference_prior("log_hr"), a.plan.reference_prior("rate")}
    keep = d.merge(cells, on=["endpoint", "model"])
    keep = keep[keep["prior"].isin([*first, *hist])]
    wide = keep.pivot_table(
        index=["endpoint", "model"], columns="prior", values="p", sort=False
    ).reset_index()
    wide.columns.name = None
    return wide


def at_a_glance(a: SavedResults) -> pd.DataFrame:
    """One row per endpoint x model x estimand: the decision under the first-named prior."""
    first = {a.plan.reference_prior("log_hr"), a.plan.reference_prior("rate")}
    d = a.decisions[a.decisions["prior"].isin(first)]
    p = d["probability_exact"].where(d["probability_exact"].notna(), d["probability_mcmc"])
    return pd.DataFrame(
        {
            "endpoint": d["endpoint"],
            "model": d["model"],
            "prior": d["prior"],
            "estimand": d["estimand"],
            "margin": d["margin"],
            "P(NI)": p,
            "decision": decision_words(d),
            "diagnostics": d["diagnostics_passed"].map({True: "pass", False: "FAIL"}),
        }
    )


def decision_words(d: pd.DataFrame) -> pd.Series:
    """'non-inferior: yes', 'superior: no', ... per decision row (the claim of its margin)."""
    claim = d["claim"] if "claim" in d else pd.Series("non-inferior", index=d.index)
    return claim.astype(str) + ": " + d["non_inferior"].map({True: "yes", False: "no"})


def shown_sentence(a: SavedResults, threshold: float) -> str:
    """Which fits reach the plan's margin rule, each with what it shows."""
    d = a.decisions[a.decisions["non_inferior"]]
    claims = d["claim"] if "claim" in d else pd.Series("non-inferior", index=d.index)
    if not len(d):
        return (
            f"The plan's margin is reached (P >= {threshold:g}) for no endpoint under any "
            "model or prior."
        )
    return (
        f"The plan's margin is reached (P >= {threshold:g}) for: "
        + "; ".join(
            f"{r.endpoint} ({r.model}, {r.prior}: {c})"
            for r, c in zip(d.itertuples(), claims, strict=True)
        )
        + "."
    )


def survival_quantities(a: SavedResults, prior: str) -> pd.DataFrame:
    """Medians, landmark survival and RMST rows of the PWE fits under one prior."""
    s = a.summary
    keep = (
        s["model"].str.startswith("pwe")
        & (s["prior"] == prior)
        & s["quantity"].str.match(r"^(median_|s\d|rmst)")
    )
    return s.loc[keep, ["endpoint", "model", "quantity", "q50", "q2.5", "q97.5"]]


def conjugate_draws(a: SavedResults) -> str:
    """How the conjugate families were drawn: "exact draws" (default) or "MCMC" (a check)."""
    return "MCMC" if a.sampler.conjugate == "mcmc" else "exact draws"


MARGINS_PER_TABLE = 11  # margin columns per table, so a table fits an A4 page width


def margin_grid_blocks(a: SavedResults) -> list[Block]:
    """P(NI) at every margin of the plan's grid: per endpoint, one row per model x prior and
    one column per margin (split into tables of at most MARGINS_PER_TABLE margins)."""
    d = a.noninferiority[a.noninferiority["estimand"] == CURVE]
    blocks = [
        Block(
            "p",
            "The numbers behind the P(NI)-by-margin figures (noninferiority.csv, estimand "
            f"{CURVE}); margins on the scale of each endpoint's rule.",
        )
    ]
    for e in a.endpoints:
        g = d[d["endpoint"] == e]
        if not len(g):
            continue
        wide = g.pivot_table(
            index=["model", "prior"], columns="margin", values="probability", sort=False
        )
        margins = list(wide.columns)
        blocks.append(Block("p", f"{e} ({g['direction'].iloc[0]}):"))
        for i in range(0, len(margins), MARGINS_PER_TABLE):
            part = wide[margins[i : i + MARGINS_PER_TABLE]]
            part.columns = [f"{m:g}" for m in part.columns]
            part = part.reset_index()
            blocks.append(Block("table", probabilities(part, list(part.columns[2:]))))
    return blocks
