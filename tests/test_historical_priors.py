"""MAP priors against closed forms: with the between-trial SD held near 0, the predictive for a
new trial is the pooled posterior, which quadrature (binomial) or precision weighting (normal)
gives independently."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from bayes_btc.decisions.tables import with_prior_ess
from bayes_btc.inputs.historical import HistoricalData, load_historical
from bayes_btc.inputs.plan import HistoricalSettings, Sampler
from bayes_btc.priors.map_prior import derive_map_priors
from bayes_btc.priors.mixtures import BetaMixture

SAMPLER = Sampler(chains=4, cores=2, tune=1000, draws=2000, seed=31)
TRIALS = [  # (name, responders, n, median months, CI)
    ("A", 30, 120, 6.0, (5.0, 7.2)),
    ("B", 50, 200, 6.5, (5.6, 7.5)),
    ("C", 18, 90, 5.5, (4.4, 6.9)),
]


def _data() -> HistoricalData:
    src = {"basis": "published", "source": "synthetic test trial"}
    return HistoricalData.model_validate(
        {
            "regimen": "synthetic control",
            "population": "synthetic",
            "endpoints": {"ORR": "rate", "PFS": "median"},
            "trial": [
                {
                    "name": name,
                    "reference": "synthetic",
                    "url": "https://example.org",
                    "n": {"value": n, **src},
                    "ORR": {
                        "percent": f"{100 * k / n:.10f}",
                        "denominator": n,
                        "denominator_note": "randomised",
                        **src,
                    },
                    "PFS": {"median": m, "ci": list(ci), **src},
                }
                for name, k, n, m, ci in TRIALS
            ],
        }
    )


@pytest.fixture(scope="module")
def pooled():
    """Between-trial SD ~ HalfNormal(1e-4): effectively a common rate and median."""
    settings = HistoricalSettings(tau_scale_logit=1e-4, tau_scale_log_median=1e-4, draws=2000)
    return derive_map_priors(_data(), ["PFS", "ORR"], settings, SAMPLER)


def test_normal_map_is_the_precision_weighted_pooled_estimate(pooled):
    y = np.log([m for *_, m, _ in TRIALS])
    se = np.array([math.log(hi / lo) / (2 * 1.959964) for *_, (lo, hi) in TRIALS])
    prec = 1 / 2.0**2 + np.sum(se**-2)  # mu ~ Normal(2, 2)
    mean, sd = (2.0 / 4 + np.sum(y / se**2)) / prec, prec**-0.5
    draws = pooled.priors["PFS"].draws
    assert abs(draws.mean() - mean) < 5 * sd / math.sqrt(len(draws) / 4)  # ESS >= N / 4
    assert draws.std() == pytest.approx(sd, rel=0.05)


def test_binomial_map_is_the_pooled_posterior_by_quadrature(pooled):
    k = sum(t[1] for t in TRIALS)
    n = sum(t[2] for t in TRIALS)

    def post(x):  # x = logit p, prior Normal(0, 2)
        p = special.expit(x)
        return stats.norm.pdf(x, 0, 2) * stats.binom.pmf(k, n, p)

    z = integrate.quad(post, -6, 6, points=[special.logit(k / n)])[0]
    mean = integrate.quad(lambda x: special.expit(x) * post(x), -6, 6)[0] / z
    sd = math.sqrt(integrate.quad(lambda x: (special.expit(x) - mean) ** 2 * post(x), -6, 6)[0] / z)
    draws = pooled.priors["ORR"].draws
    assert abs(draws.mean() - mean) < 5 * sd / math.sqrt(len(draws) / 4)
    assert draws.std() == pytest.approx(sd, rel=0.05)


def test_mixtures_fit_the_draws_and_the_robust_prior_borrows_less(pooled):
    t = pooled.table.set_index(["endpoint", "prior"])
    assert (t["ks_distance"] < 0.02).all()
    for e in ("ORR", "PFS"):
        p = pooled.priors[e]
        assert p.robust.weights[-1] == pytest.approx(0.2)
        assert t.loc[(e, "historical_robust"), "ess"] < t.loc[(e, "historical"), "ess"]
    # a near-common rate from 410 patients is worth a few hundred patients
    assert 200 < t.loc[("ORR", "historical"), "ess"] < 500
    assert isinstance(pooled.priors["ORR"].map, BetaMixture)
    assert pooled.converged


@pytest.mark.slow
def test_bundled_map_priors_reflect_between_trial_spread():
    """The bundled trials disagree (response 15-32%): the MAP prior is worth far fewer
    patients than the trials hold, and its 95% interval covers every trial's rate."""
    data, _ = load_historical()
    h = derive_map_priors(data, ["ORR", "PFS", "OS"], HistoricalSettings(), SAMPLER)
    t = h.table.set_index(["endpoint", "prior"])
    assert h.converged
    assert t.loc[("ORR", "historical"), "ess"] < 100
    rates = h.trials.loc[h.trials["endpoint"] == "ORR", "value"]
    assert t.loc[("ORR", "historical"), "q2.5"] < rates.min()
    assert t.loc[("ORR", "historical"), "q97.5"] > rates.max()


def test_decisions_say_what_a_historical_prior_is_worth(pooled, plan):
    rows = [
        ("ORR", "beta_binomial", "historical"),
        ("PFS", "pwe_ph_reconstructed", "historical_robust"),
        ("ORR", "beta_binomial", "vague"),
    ]
    decisions = pd.DataFrame(
        [{"endpoint": e, "model": m, "prior": p, "statement": "P(NI) is ..."} for e, m, p in rows]
    )
    out = with_prior_ess(decisions, plan, pooled, "GP").set_index("prior")
    t = pooled.table.set_index(["endpoint", "prior"])["ess"]
    assert out.loc["historical", "prior_ess"] == t[("ORR", "historical")]
    assert out.loc["historical_robust", "prior_ess"] == t[("PFS", "historical_robust")]
    assert "events (ESS)" in out.loc["historical_robust", "statement"]
    assert np.isnan(out.loc["vague", "prior_ess"])
    assert out.loc["vague", "statement"] == "P(NI) is ..."


def test_historical_priors_alone_run_through_the_cli(tmp_path):
    """Only the historical priors: no summary-level log-HR model, ORR alone among the binary
    endpoints, and no single-Beta density figure; the run still completes."""
    from typer.testing import CliRunner

    from bayes_btc.cli import app

    out = tmp_path / "results"
    args = ["fit", "--prior", "historical", "--summary-only", "--quick", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    ni = pd.read_csv(out / "noninferiority.csv")
    assert set(ni["prior"]) == {"historical"} and set(ni["endpoint"]) == {"ORR"}
    assert (out / "figures" / "historical_ORR.png").exists()
