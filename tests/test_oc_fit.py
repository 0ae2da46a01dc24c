"""The exact operating characteristics a fit writes (oc_exact.csv) against independent
references: the normal closed form of a conjugate normal update (scipy.stats.norm) for the
summary log-HR model, brute-force enumeration with scipy.stats.beta / binom for a small binary
design; then the file in a quick run's results folder, read back, and the report's section
carrying the same numbers."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from bayes_btc.analysis.oc_fit import OC_EXACT_COLUMNS, exact_oc
from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.models.fit import Fit
from bayes_btc.output.numbers import fmt
from bayes_btc.output.redraw import rebuild_report
from bayes_btc.output.report_oc import OC_APPENDIX, OC_COMMAND, OC_HEADING, OC_PLAN_SECTION
from bayes_btc.output.saved import load_results
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture


def loghr_fit(endpoint: str, prior: str, mixture: NormalMixture, se: float) -> Fit:
    return Fit(
        endpoint, "loghr_summary", prior, "loghr_summary", {}, {"se": se}, {"log_hr": mixture}
    )


def binary_fit(endpoint: str, prior: str, priors: tuple, n: tuple, events_c: int) -> Fit:
    inputs = {"events_0": 0.0, "n_0": float(n[0]), "events_1": float(events_c), "n_1": float(n[1])}
    return Fit(
        endpoint,
        "beta_binomial",
        prior,
        "beta_binomial",
        {},
        inputs,
        {"rate_A": priors[0], "rate_B": priors[1]},
    )


def normal_p_declare(m0: float, s0: float, se: float, margin: float, t: float, hr: float) -> float:
    """P(declare) by the textbook conjugate update: posterior N(mu(y), v) with
    v = 1 / (1/se^2 + 1/s0^2), mu = v (y/se^2 + m0/s0^2); the boundary y where
    Phi((log margin - mu) / sqrt(v)) = t found by root finding; then Phi((c - log hr) / se)."""
    v = 1 / (1 / se**2 + 1 / s0**2)

    def gap(y: float) -> float:
        mu = v * (y / se**2 + m0 / s0**2)
        return stats.norm.cdf(math.log(margin), mu, math.sqrt(v)) - t

    c = optimize.brentq(gap, -20, 20, xtol=1e-14)
    return float(stats.norm.cdf(c, math.log(hr), se))


def test_loghr_rows_against_the_normal_closed_form(plan):
    t = plan.decision_threshold
    rules = endpoint_rules(plan, {"S": "survival"})
    margin = rules["S"].ni.margin
    se = 0.4
    flat = NormalMixture.single(0.0, 1e6)
    vague = plan.priors.log_hr[plan.reference_prior("log_hr")].mixture
    sceptic = NormalMixture.single(math.log(margin), 0.3)
    fits = [
        loghr_fit("S", "flat", flat, se),
        loghr_fit("S", "vague", vague, se),
        loghr_fit("S", "sceptic", sceptic, se),
    ]
    table = exact_oc(fits, rules, t)
    assert list(table.columns) == OC_EXACT_COLUMNS
    got = table.set_index("prior")
    # a flat prior: the rule is the one-sided test, type I error exactly 1 - threshold
    assert abs(got.loc["flat", "type1_error"] - (1 - t)) < 1e-9
    for name, m in (("vague", vague), ("sceptic", sceptic)):
        m0, s0 = m.means[0], m.sds[0]
        ref_margin = normal_p_declare(m0, s0, se, margin, t, margin)
        ref_null = normal_p_declare(m0, s0, se, margin, t, 1.0)
        assert abs(got.loc[name, "type1_error"] - ref_margin) < 1e-9
        assert abs(got.loc[name, "p_declare_no_difference"] - ref_null) < 1e-9
    # the vague prior of the plan is close to flat: its type I error is 1 - threshold to 1e-4
    assert abs(got.loc["vague", "type1_error"] - (1 - t)) < 1e-4
    assert (got["method"] == "exact: normal closed form").all()


def brute_force_binary(
    n_t: int, n_c: int, prior_t: BetaMixture, prior_c: BetaMixture, direction: str,
    margin: float, t: float, p_t: float, p_c: float,
) -> float:  # fmt: skip
    """Every outcome (y_t, y_c): posterior mixtures by hand (weights from Beta functions),
    P(p_t - p_c > margin) by scipy quadrature, binomial weights of the declaring outcomes."""

    def posterior(prior: BetaMixture, y: int, n: int) -> list[tuple[float, float, float]]:
        logw = [
            math.log(w) + special.betaln(a + y, b + n - y) - special.betaln(a, b)
            for w, a, b in zip(prior.weights, prior.a, prior.b, strict=True)
        ]
        z = special.logsumexp(logw)
        return [
            (math.exp(lw - z), a + y, b + n - y)
            for lw, a, b in zip(logw, prior.a, prior.b, strict=True)
        ]

    lo, hi = max(0.0, margin), min(1.0, 1.0 + margin)
    total = 0.0
    for yt in range(n_t + 1):
        for yc in range(n_c + 1):
            above = 0.0
            for wt, at, bt in posterior(prior_t, yt, n_t):
                for wc, ac, bc in posterior(prior_c, yc, n_c):
                    inside = integrate.quad(
                        lambda x, at=at, bt=bt, ac=ac, bc=bc: (
                            stats.beta.pdf(x, at, bt) * stats.beta.cdf(x - margin, ac, bc)
                        ),
                        lo,
                        hi,
                        epsabs=1e-13,
                        epsrel=1e-11,
                    )[0]
                    above += wt * wc * (inside + stats.beta.sf(hi, at, bt))
            prob = above if direction == ">" else 1.0 - above
            if prob >= t:
                total += stats.binom.pmf(yt, n_t, p_t) * stats.binom.pmf(yc, n_c, p_c)
    return total


@pytest.mark.parametrize("kind", ["efficacy", "harm"])
def test_binary_rows_against_brute_force_enumeration(plan, kind):
    """6 vs 7 patients, a uniform and a two-component control prior, the plan's margin for
    the kind: type I error at (observed control rate + margin) and P(declare) at equal rates."""
    t = 0.8  # a threshold the small design can reach
    rules = endpoint_rules(plan, {"E": kind})
    rule = rules["E"].ni
    uniform = BetaMixture.single(1, 1)
    mixture = BetaMixture((0.7, 0.3), (3.0, 1.0), (4.0, 1.0))
    n_t, n_c, events_c = 6, 7, 3
    fits = [
        binary_fit("E", "uniform", (uniform, uniform), (n_t, n_c), events_c),
        binary_fit("E", "mixture", (uniform, mixture), (n_t, n_c), events_c),
    ]
    got = exact_oc(fits, rules, t).set_index("prior")
    p_c = events_c / n_c
    for name, prior_c in (("uniform", uniform), ("mixture", mixture)):
        row = got.loc[name]
        assert row["control_rate"] == pytest.approx(p_c, abs=1e-12)
        assert (row["n_treatment"], row["n_control"]) == (n_t, n_c)
        args = (n_t, n_c, uniform, prior_c, rule.direction, rule.margin, t)
        ref_margin = brute_force_binary(*args, p_c + rule.margin, p_c)
        ref_null = brute_force_binary(*args, p_c, p_c)
        assert abs(row["type1_error"] - ref_margin) < 1e-10
        assert abs(row["p_declare_no_difference"] - ref_null) < 1e-10
        assert 0.0 < ref_margin < ref_null  # the design declares sometimes, more at no difference


def test_margin_outside_the_unit_interval_gives_no_type_one_error(plan):
    rules = endpoint_rules(plan, {"E": "harm"})
    uniform = BetaMixture.single(1, 1)
    fit = binary_fit("E", "uniform", (uniform, uniform), (5, 5), 5)  # control rate 1
    row = exact_oc([fit], rules, 0.9).iloc[0]
    assert math.isnan(row["type1_error"]) and 0.0 <= row["p_declare_no_difference"] <= 1.0


def test_quick_run_writes_reads_back_and_reports_the_same_numbers(quick_results, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(quick_results, out, ignore=shutil.ignore_patterns("posterior"))
    table = pd.read_csv(out / "oc_exact.csv")
    assert list(table.columns) == OC_EXACT_COLUMNS
    decisions = pd.read_csv(out / "decisions.csv")
    conjugate = decisions[decisions["model"].isin(["loghr_summary", "beta_binomial"])]
    cells = set(map(tuple, conjugate[["endpoint", "model", "prior"]].drop_duplicates().values))
    assert set(map(tuple, table[["endpoint", "model", "prior"]].values)) == cells
    assert "historical" in set(table["prior"])  # the MAP priors of the fit are included
    vague = table[(table["model"] == "loghr_summary") & (table["prior"] == "vague")]
    assert len(vague) and np.allclose(vague["type1_error"], 0.025, atol=1e-4)
    saved = load_results(out)
    pd.testing.assert_frame_equal(saved.oc_exact, table)

    rebuild_report(out)  # re-rendered from the saved files, as `bayes-btc report` does
    md = (out / "report.md").read_text()
    main, appendix = md.split("## Appendix", 1)
    assert f"## {OC_HEADING}" in main and main.index("## The answer") < main.index(OC_HEADING)
    assert f"the command {OC_COMMAND}" in main and OC_PLAN_SECTION in main
    section = appendix.split(f"### {OC_APPENDIX}", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    shown = pd.DataFrame(
        [[c.strip() for c in r.strip("|").split("|")] for r in rows[1:]], columns=header
    )
    assert len(shown) == len(table)
    for (_, s), (_, r) in zip(shown.iterrows(), table.iterrows(), strict=True):
        assert (s["endpoint"], s["model"], s["prior"]) == (r["endpoint"], r["model"], r["prior"])
        assert s["type I error"] == fmt(r["type1_error"], probability=True)
        assert s["P(declare), no difference"] == fmt(r["p_declare_no_difference"], probability=True)
    prov = saved.study
    for e in table["endpoint"].unique():  # one sentence per endpoint, arm names of the study
        sentence = next(line for line in section.splitlines() if line.startswith(f"- {e} ("))
        first = table[table["endpoint"] == e].iloc[0]
        assert fmt(first["type1_error"], probability=True) in sentence
        if saved.kinds[e] != "survival":
            assert f"{prov.treatment}'s true rate" in sentence and f"{prov.control}'s" in sentence

    # arm names come from the study: renamed in the saved folder, the sentences follow
    prov_path = out / "provenance.json"
    prov_json = json.loads(prov_path.read_text())
    prov_json["study"] |= {"treatment": "ArmNew", "control": "ArmOld"}
    prov_path.write_text(json.dumps(prov_json))
    rebuild_report(out)
    renamed = (out / "report.md").read_text().split(f"### {OC_APPENDIX}", 1)[1]
    renamed = renamed.split("\n### ", 1)[0]
    binary = [e for e in table["endpoint"].unique() if saved.kinds[e] != "survival"]
    for e in binary:
        sentence = next(line for line in renamed.splitlines() if line.startswith(f"- {e} ("))
        assert "ArmNew's true rate" in sentence and "ArmOld's" in sentence
        assert f"{prov.treatment}'s" not in sentence and f"{prov.control}'s" not in sentence
