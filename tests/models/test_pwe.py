"""PWE models against independent references: Cox (lifelines) and maximum likelihood on a
real randomised trial, and recovery of known hazards in simulated trials."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from scipy import optimize, stats

from bayes_btc.inference.pwe_sampling import sample_pwe
from bayes_btc.inference.sampling import sample_model
from bayes_btc.inputs.plan import Sampler
from bayes_btc.models.pwe import PWEData, PWEPriors, build_pwe_model
from bayes_btc.models.pwe_data import PWETable, cuts_by_events, pwe_table
from bayes_btc.models.pwe_survival import median_survival
from bayes_btc.priors.mixtures import NormalMixture

VAGUE = {"vague": NormalMixture.single(0.0, 10.0)}
SAMPLER = Sampler(chains=4, cores=2, tune=1000, draws=1500, seed=5)
ENGINES = ["hmc", pytest.param("nuts", marks=pytest.mark.slow)]


def _fit(data, priors, variant, engine, control_median=None):
    """The family's tree by numpy HMC (the default) or by NUTS on the PyMC model."""
    if engine == "nuts":
        model = build_pwe_model(data, priors, variant, control_median=control_median)
        return sample_model(model, SAMPLER, "t")
    sampler = SAMPLER.model_copy(update={"pwe": "hmc"})
    return sample_pwe(data, priors, variant, PWEPriors(), control_median, sampler, "t")


@pytest.fixture(scope="module")
def gbsg2_table(gbsg2_files):
    d, _ = gbsg2_files
    time = d["time"].to_numpy() / 30.4375
    event = d["cens"].to_numpy().astype(int)
    arm = np.where(d["horTh"] == "yes", 0, 1)
    cuts = cuts_by_events(time, event, per_interval=8, max_intervals=30)  # 8 events/interval
    return time, event, arm, pwe_table(time, event, arm, cuts)


def _mle_log_hr(table) -> float:
    """Maximum-likelihood PWE PH fit on the same cuts (free baseline, no smoothing)."""
    d, e = table.events, table.exposure
    k = table.n_intervals

    def negll(theta):
        log_h, beta = theta[:k], theta[k]
        lam = np.stack([log_h + beta, log_h])
        return -(d * lam - e * np.exp(lam)).sum()

    start = np.append(np.log((d.sum(0) + 0.5) / e.sum(0)), 0.0)
    return float(optimize.minimize(negll, start, method="BFGS").x[-1])


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_ph_matches_cox_and_mle_on_a_real_trial(gbsg2_table, engine):
    time, event, arm, table = gbsg2_table
    cox = CoxPHFitter().fit(
        pd.DataFrame({"t": time, "e": event, "treat": (arm == 0).astype(int)}), "t", "e"
    )
    cox_hr = float(cox.hazard_ratios_["treat"])
    cox_lo, cox_hi = np.exp(cox.confidence_intervals_.to_numpy()[0])
    tree = _fit(PWEData(["RFS"], [table]), VAGUE, "ph", engine)
    hr = tree["posterior"]["hr"].values.ravel()
    lo, med, hi = np.quantile(hr, [0.025, 0.5, 0.975])
    assert abs(med / cox_hr - 1) < 0.03, (med, cox_hr)
    assert abs((hi - lo) / (cox_hi - cox_lo) - 1) < 0.10, (hi - lo, cox_hi - cox_lo)
    log_hr = np.log(hr)
    mle = _mle_log_hr(table)
    mcse = log_hr.std() / math.sqrt(1000)  # ESS well above 1000 here
    assert abs(log_hr.mean() - mle) < 0.03 * abs(mle) + 4 * mcse, (log_hr.mean(), mle)
    assert int(tree["sample_stats"]["diverging"].values.sum()) == 0


def _simulate(rng, n, log_h, log_hr, edges, follow_up):
    """Piecewise-exponential event times by inversion, administrative censoring."""
    arm = rng.integers(0, 2, n)
    rates = np.exp(np.asarray(log_h)[None, :] + log_hr * (arm == 0)[:, None])
    target = rng.exponential(1.0, n)  # cumulative hazard at the event
    widths = np.diff(edges)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(rates * widths, axis=1)], axis=1)
    k = np.clip((cum[:, 1:] < target[:, None]).sum(axis=1), 0, len(widths) - 1)
    t = edges[k] + (target - cum[np.arange(n), k]) / rates[np.arange(n), k]
    c = rng.uniform(*follow_up, n)
    return np.minimum(t, c), (t <= c).astype(int), arm


@pytest.mark.parametrize("engine", ENGINES)
def test_known_hazards_are_recovered_across_seeds(engine):
    """20 simulated trials batched as 20 'endpoints' of one model: the 95% intervals of the
    log-HR and of each baseline hazard cover the truth about 95% of the time."""
    edges = np.array([0.0, 4.0, 10.0, 40.0])
    log_h, log_hr = np.log([0.08, 0.05, 0.12]), math.log(0.75)
    tables = []
    for seed in range(20):
        time, event, arm = _simulate(
            np.random.default_rng(seed), 300, log_h, log_hr, edges, (20.0, 30.0)
        )
        tables.append(pwe_table(time, event, arm, edges[1:-1]))
    data = PWEData([f"sim{i}" for i in range(20)], tables)
    tree = _fit(data, VAGUE, "ph", engine)
    post = tree["posterior"].to_dataset()
    q = post.quantile([0.025, 0.975], dim=("chain", "draw"))
    lhr = q["log_hr"].sel(prior="vague").values
    covered = ((lhr[0] <= log_hr) & (log_hr <= lhr[1])).sum()
    assert covered >= 16  # binomial(20, 0.95): P(< 16) ~ 0.003
    lh0 = q["log_h0"].sel(prior="vague").values  # (2, endpoint, interval)
    cover_h = ((lh0[0] <= log_h) & (log_h <= lh0[1])).mean()
    assert cover_h >= 0.85
    bias = post["log_hr"].mean(("chain", "draw")).values.mean() - log_hr
    assert abs(bias) < 3 * stats.sem(post["log_hr"].mean(("chain", "draw")).values.ravel())


@pytest.mark.parametrize("engine", ENGINES)
def test_control_median_prior_without_data_is_the_map_prior(engine):
    """With (almost) no data, the GP median implied by the baseline hazards follows the
    control-median prior: the diffuse baseline prior barely reshapes it."""
    cuts = np.array([3.0, 6.0, 9.0, 12.0])
    empty = PWETable(cuts, 40.0, np.zeros((2, 5), dtype=int), np.full((2, 5), 1e-9))
    data = PWEData(["PFS"], [empty])
    prior = NormalMixture((0.7, 0.3), (math.log(6.0), math.log(7.0)), (0.15, 0.3))
    priors = {"vague": VAGUE["vague"], "historical": VAGUE["vague"]}
    cells = {("PFS", "vague"): None, ("PFS", "historical"): prior}
    tree = _fit(data, priors, "ph", engine, cells)  # non-PH: the same term
    log_h0 = tree["posterior"]["log_h0"].sel(endpoint="PFS", prior="historical").values
    log_med = np.log(median_survival(log_h0.reshape(-1, 5), empty.edges))
    for q in (0.025, 0.25, 0.5, 0.75, 0.975):
        assert abs(np.quantile(log_med, q) - prior.quantile(q)) < 0.05, q
    # no data at all is a hard geometry (a free random walk); a few divergences are tolerated
    # here, while the fits to data must have none (diagnostics)
    assert tree["sample_stats"]["diverging"].values.mean() < 0.05
