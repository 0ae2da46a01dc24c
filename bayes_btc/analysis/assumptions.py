"""What a run assumes or approximates, in plain sentences, for the report and provenance.
Every sentence is built from the data, plan and fits of the run."""

from __future__ import annotations

from bayes_btc.analysis.result import Analysis


def assumptions(a: Analysis) -> list[str]:
    """Plain statements of what is assumed or approximated, for the report and provenance."""
    t, c = a.study.arms
    out = [f"Data level: {a.study.data_level} ({a.study.source}).", *a.study.data_notes]
    if "loghr_summary" in a.trees:
        out += [
            "Summary-level model: the published log-HR with a normal likelihood whose SE is "
            "derived from the printed 95% CI (assumed symmetric on the log scale).",
            inverted_sentence(a),
        ]
    for e in dict.fromkeys(k.endpoint for k in a.pwe_tables if k.reconstructed):
        keys = [k for k in a.pwe_tables if k.reconstructed and k.endpoint == e]
        first = a.ipd[keys[0]]
        made = first.note or (
            f"{int((first.arm == t).sum())} {t} and {int((first.arm == c).sum())} {c} patients"
        )
        out.append(
            f"{e}: the piecewise-exponential models (*_reconstructed) are fitted to {len(keys)} "
            "RECONSTRUCTED pseudo-patient data sets, not trial data, each simulated to "
            f"reproduce the published summary: {made}. The sets are fitted one by one and "
            "their posteriors pooled with equal weight (reconstruction_spread.csv shows how "
            "P(NI) varies across them). Their medians, landmark survival and RMST are driven "
            "by the generating model (exponential control, two-piece treatment hazard, the "
            "accrual and follow-up above) wherever the publication does not pin them down."
        )
    for key, tab in a.pwe_tables.items():
        if key.reconstructed:
            continue
        e, d = key.endpoint, a.ipd[key]
        kind = (
            "RECONSTRUCTED pseudo-patient data, not trial data"
            if d.reconstructed
            else "patient-level data"
        )
        out.append(
            f"{e}: piecewise-exponential models on {kind} ({d.source}); {tab.n_intervals} "
            f"intervals, cut points {', '.join(f'{x:.2f}' for x in tab.cuts) or 'none'} months; "
            "nothing is extrapolated past the last follow-up, so a median the curve does not "
            "reach is reported as not reached (inf)."
        )
    engines = {
        str(t["posterior"].attrs.get("sampler", ""))
        for name, t in a.trees.items()
        if name.startswith("pwe_")
    }
    out += [
        f"Piecewise-exponential posteriors drawn by {e}: an MCMC method exact in the limit, so "
        "each probability carries a Monte Carlo error (mcse), checked by r_hat, ESS and "
        "divergences (diagnostics.csv)."
        for e in sorted(engines)
        if e
    ]
    out += historical_assumptions(a)
    out += [n for n in a.study.notes if n.split(":", 1)[0] in a.endpoints]
    if a.audit.n_findings:
        out.append(
            "Where no integer count reproduces a printed percentage, the nearest count on the "
            "assumed denominator is fitted (see audit.csv, column used_in_fit)."
        )
    return out


def historical_assumptions(a: Analysis) -> list[str]:
    """What the historical (MAP) priors assume, in words built from the data file's own
    declarations (title, regimen, population, which figures are assumed)."""
    h = a.historical
    if h is None:
        return list(a.historical_notes)
    control = a.study.arms[1]
    w = a.plan.historical.robust_weight
    about = h.about
    borrowed = about.get("borrowed", {})
    assert isinstance(borrowed, dict)
    mapped = ", ".join(
        e if e == src else f"{e} (from the file's {src})" for e, src in borrowed.items()
    )
    source = a.plan.historical.data
    out = [
        f"Historical priors for the {control} arm ({mapped}): MAP priors from a random-effects "
        f"meta-analysis of {h.trials['trial'].nunique()} earlier trials' "
        f"{about.get('regimen', '')} arms, {about.get('population', '')} "
        f"(historical_trials.csv; sources in the historical data file, "
        f"{'bundled with the package' if source == 'bundled' else source}: "
        f"{about.get('title', '')}). Their between-trial spread is modelled, not assumed away; "
        f"the robust version mixes in a vague component with weight {w:g}.",
        *a.historical_notes,
    ]
    assumed = h.trials[(h.trials["scale"] == "rate") & h.trials["assumed"].astype(bool)]
    if len(assumed):
        out.append(
            f"{len(assumed)} historical rate(s) rest on a figure or denominator the data file "
            "marks ASSUMED, not published: "
            + "; ".join(f"{r.trial}: {r.basis}" for r in assumed.itertuples())
            + "."
        )
    if (h.trials["basis"].str.contains("assumes every patient")).any():
        out.append(
            "Historical medians without a published CI or event count get an SE of "
            "1/sqrt(n), as if every patient had an event: this overstates those trials' "
            "precision, which the between-trial SD partly absorbs."
        )
    if any(p.control_median for p in a.plan.priors.log_hr.values()):
        out.append(
            f"The historical prior on the {control} median enters the piecewise-exponential "
            "models as an extra prior term on the median implied by the baseline hazards; "
            "the summary-level log-HR model has no baseline hazard, so it has no historical "
            "rows."
        )
    return out


def inverted_sentence(a: Analysis) -> str:
    """Whether and why the inverted HR reading was fitted (audit flag or the plan's choice)."""
    t, c = a.study.arms
    inverted = sorted({f.endpoint for f in a.fits if f.model == "loghr_summary_inverted"})
    if not inverted:
        why = (
            "the plan asks for none"
            if a.plan.inverted_hr == "never"
            else "the audit finds it consistent with the medians"
        )
        return (
            f"The HR direction is taken as printed ({t} vs {c}); {why}, so no inverted "
            "reading is fitted."
        )
    why = (
        "as the plan asks (inverted_hr = 'always')"
        if a.plan.inverted_hr == "always"
        else "because the audit finds the printed direction doubtful"
    )
    return (
        f"The HR direction is taken as printed ({t} vs {c}); for {', '.join(inverted)} the "
        f"inverted reading is also fitted {why}, as a labelled sensitivity analysis (model "
        "'loghr_summary_inverted')."
    )
