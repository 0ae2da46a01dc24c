"""Tipping-point analysis: the vectorised closed forms against independent references, the
shape of the grids, the weakest prior that reverses the conclusion, the sentences and the
heatmap. Everything is conjugate (no sampling), so the file runs in seconds."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_btc.decisions import tipping
from bayes_btc.decisions.tipping_words import tipping_sentences, weakest_flip
from bayes_btc.inputs.audit import audit_trial
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.models.beta_binomial import prob_rate_diff_mixture
from bayes_btc.models.loghr_summary import prob_hr_below_mixture
from bayes_btc.output.figures.tipping import heatmap
from bayes_btc.priors.mixdiff import prob_beta_diff_above
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
from bayes_btc.tables import write_csv


def prob_hr_below(prior, y, se, margin):
    """The summary model's exact P(HR < margin) under one normal prior (adaptive path)."""
    return prob_hr_below_mixture(NormalMixture.single(*prior), y, se, margin)


def prob_rate_diff(events, n, prior, margin, direction):
    """The beta-binomial model's exact P(NI) under one Beta prior on both arms."""
    both = BetaMixture.single(*prior)
    return prob_rate_diff_mixture(events, n, (both, both), margin, direction)


RNG = np.random.default_rng(20180167)


@pytest.fixture(scope="module")
def counts(spec: TrialSpec) -> dict:
    return audit_trial(spec).counts


@pytest.fixture(scope="module")
def table(spec: TrialSpec, plan: Plan, counts: dict) -> pd.DataFrame:
    return tipping.tipping_table(spec, plan, counts)


def _loghr_inputs(spec: TrialSpec, endpoint: str) -> tuple[float, float]:
    s = spec.survival[endpoint]
    se = (math.log(s.ci[1]) - math.log(s.ci[0])) / (2 * stats.norm.ppf(0.5 + s.ci_level / 2))
    return math.log(s.hr), se


def _rate_inputs(spec: TrialSpec, plan: Plan, counts: dict, endpoint: str) -> dict:
    t, c = spec.arm_order
    harm = spec.binary[endpoint].kind == "harm"
    prior = next(iter(plan.priors.rate.values()))
    return {
        "events": (counts[endpoint][t][0], counts[endpoint][c][0]),
        "n": (counts[endpoint][t][1], counts[endpoint][c][1]),
        "margin": plan.margins.harm_rate_diff if harm else plan.margins.efficacy_rate_diff,
        "direction": "<" if harm else ">",
        "treatment_prior": (prior.a, prior.b),
    }


def _ni(above: float, direction: str) -> float:
    return above if direction == ">" else 1.0 - above


# --- survival: the normal conjugate update ---------------------------------------------------


def test_loghr_grid_against_the_normal_update_by_hand(spec: TrialSpec, plan: Plan) -> None:
    y, se = _loghr_inputs(spec, "PFS")
    means, sds = np.array([0.5, 0.85, 1.0, 1.3, 2.0]), np.array([0.05, 0.1, 0.4, 2.0])
    t = tipping.tipping_loghr(y, se, plan.margins.hr, plan.decision_threshold, means, sds)
    assert len(t) == len(means) * len(sds)
    assert list(t.columns) == tipping.LOGHR_COLUMNS
    for row in t.itertuples():
        w0, w1 = 1 / row.prior_sd**2, 1 / se**2
        mean = (w0 * math.log(row.prior_mean_hr) + w1 * y) / (w0 + w1)
        sd = math.sqrt(1 / (w0 + w1))
        expected = stats.norm.cdf((math.log(plan.margins.hr) - mean) / sd)
        assert row.probability == pytest.approx(expected, abs=1e-12)
        prior = (math.log(row.prior_mean_hr), row.prior_sd)
        assert row.probability == pytest.approx(
            prob_hr_below(prior, y, se, plan.margins.hr), abs=1e-12
        )
        assert row.non_inferior == (row.probability >= plan.decision_threshold)


def test_loghr_inputs_are_the_published_log_hr_as_printed(spec: TrialSpec, table) -> None:
    from bayes_btc.models.loghr_summary import LogHRData

    data = LogHRData.from_trial(spec, list(spec.survival))
    for i, name in enumerate(data.endpoints):
        info = table.attrs["endpoints"][name]
        assert info["y"] == pytest.approx(data.log_hr[i, 0], abs=1e-12)
        assert info["se"] == pytest.approx(data.se[i], abs=1e-12)


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_loghr_probability_falls_as_the_prior_mean_hr_rises(table, endpoint: str) -> None:
    d = table[table["endpoint"] == endpoint]
    z = d.pivot_table(index="prior_strength", columns="prior_location", values="probability")
    assert z.columns.is_monotonic_increasing
    assert (np.diff(z.to_numpy(), axis=1) <= 1e-15).all()


def test_vague_loghr_prior_reproduces_the_data_only_probability(spec, plan) -> None:
    for name in spec.survival:
        y, se = _loghr_inputs(spec, name)
        data_only = stats.norm.cdf((math.log(plan.margins.hr) - y) / se)
        t = tipping.tipping_loghr(
            y, se, plan.margins.hr, plan.decision_threshold, np.array([0.5, 1.0, 2.0]), [1e4]
        )
        assert t["probability"].to_numpy() == pytest.approx(data_only, abs=1e-6)
        assert t.attrs["reference_probability"] == pytest.approx(data_only, abs=1e-12)


# --- rates: Beta difference -------------------------------------------------------------------


def test_rate_grid_against_adaptive_quadrature(spec, plan, counts) -> None:
    means, sizes = np.array([0.05, 0.5, 0.95]), np.array([0.0, 2.0, 34.0, 200.0])
    for name in spec.binary:
        r = _rate_inputs(spec, plan, counts, name)
        t = tipping.tipping_rates(threshold=plan.decision_threshold, means=means, sizes=sizes, **r)
        assert list(t.columns) == tipping.RATE_COLUMNS
        (k1, k0), (n1, n0), (a, b) = r["events"], r["n"], r["treatment_prior"]
        for row in t.itertuples():
            a0, b0 = row.prior_mean_control * row.prior_n_control, row.prior_n_control
            b0 = (1 - row.prior_mean_control) * b0
            above = prob_beta_diff_above(a + k1, b + n1 - k1, a0 + k0, b0 + n0 - k0, r["margin"])
            assert row.probability == pytest.approx(_ni(above, r["direction"]), abs=1e-6)


@pytest.mark.parametrize(
    ("events", "n", "prior", "margin"),
    [((0, 3), (33, 34), (0.5, 0.5), 0.1), ((33, 30), (33, 34), (0.5, 0.5), -0.1)],
)
def test_rate_grid_with_singular_beta_densities(events, n, prior, margin) -> None:
    """Jeffreys prior with 0 or all events: the treatment density is unbounded at an end."""
    means, sizes = np.array([0.1, 0.6]), np.array([1.0, 20.0])
    t = tipping.tipping_rates(events, n, margin, ">", 0.975, prior, means, sizes)
    (k1, k0), (n1, n0), (a, b) = events, n, prior
    for row in t.itertuples():
        a0 = row.prior_mean_control * row.prior_n_control
        b0 = (1 - row.prior_mean_control) * row.prior_n_control
        ref = prob_beta_diff_above(a + k1, b + n1 - k1, a0 + k0, b0 + n0 - k0, margin)
        assert row.probability == pytest.approx(ref, abs=1e-6)


def test_rate_grid_against_monte_carlo(spec, plan, counts) -> None:
    draws = 1_000_000
    for name, m0, n0 in (("ORR", 0.2, 20.0), ("AE_myelosuppression", 0.4, 50.0)):
        r = _rate_inputs(spec, plan, counts, name)
        (k1, k0), (n1, nc), (a, b) = r["events"], r["n"], r["treatment_prior"]
        x = RNG.beta(a + k1, b + n1 - k1, draws)
        y = RNG.beta(m0 * n0 + k0, (1 - m0) * n0 + nc - k0, draws)
        diff = x - y
        mc = np.mean(diff > r["margin"] if r["direction"] == ">" else diff < r["margin"])
        t = tipping.tipping_rates(threshold=plan.decision_threshold, means=[m0], sizes=[n0], **r)
        tol = 5 * math.sqrt(mc * (1 - mc) / draws) + 1e-5
        assert t["probability"].iloc[0] == pytest.approx(mc, abs=tol)


def test_plan_rate_prior_reproduces_the_published_data_probability(spec, plan, counts) -> None:
    for name in spec.binary:
        r = _rate_inputs(spec, plan, counts, name)
        a, b = r["treatment_prior"]
        main = prob_rate_diff(
            r["events"], r["n"], r["treatment_prior"], r["margin"], r["direction"]
        )
        t = tipping.tipping_rates(
            threshold=plan.decision_threshold, means=[a / (a + b), 0.2], sizes=[0, a + b], **r
        )
        assert t.attrs["reference_probability"] == pytest.approx(main, abs=1e-6)
        plan_point = t[(t["prior_n_control"] == a + b) & (t["prior_mean_control"] == a / (a + b))]
        assert plan_point["probability"].iloc[0] == pytest.approx(main, abs=1e-6)
        # n0 = 0: the control arm's data alone (Haldane limit), whatever the prior mean
        (k1, k0), (n1, n0) = r["events"], r["n"]
        haldane = _ni(
            prob_beta_diff_above(a + k1, b + n1 - k1, k0, n0 - k0, r["margin"]), r["direction"]
        )
        at_zero = t.loc[t["prior_n_control"] == 0, "probability"].to_numpy()
        assert at_zero == pytest.approx(haldane, abs=1e-6)


@pytest.mark.parametrize("endpoint", ["ORR", "AE_myelosuppression", "AE_fever_influenza"])
def test_rate_probability_is_monotone_in_the_control_prior_mean(table, spec, endpoint) -> None:
    d = table[(table["endpoint"] == endpoint) & (table["prior_strength"] > 0)]
    z = d.pivot_table(index="prior_strength", columns="prior_location", values="probability")
    step = np.diff(z.to_numpy(), axis=1)
    if spec.binary[endpoint].kind == "efficacy":  # a higher control rate: T - C smaller
        assert (step <= 1e-12).all()
    else:  # a higher control AE rate: T - C smaller, so P(T - C < margin) larger
        assert (step >= -1e-12).all()


# --- the whole trial, the tipping prior, the threshold contour --------------------------------


def test_tipping_table_covers_every_endpoint(table, spec, plan, tmp_path: Path) -> None:
    assert list(table.columns) == tipping.COLUMNS
    assert list(dict.fromkeys(table["endpoint"])) == [*spec.survival, *spec.binary]
    scales = table.groupby("endpoint", sort=False)["scale"].unique()
    assert all(scales[e].tolist() == ["log_hr"] for e in spec.survival)
    assert all(scales[e].tolist() == ["control_rate"] for e in spec.binary)
    assert table["probability"].between(0, 1).all()
    ni = table["probability"] >= plan.decision_threshold
    assert (table["non_inferior"] == ni).all()
    path = write_csv(table, tmp_path / "tipping_point.csv")
    assert path.name == "tipping_point.csv"
    back = pd.read_csv(path)
    assert back.shape == table.shape
    assert back["probability"].to_numpy() == pytest.approx(table["probability"], abs=1e-5)


@pytest.mark.parametrize("endpoint", ["PFS", "OS", "ORR", "AE_myelosuppression"])
def test_weakest_flip_reverses_the_conclusion_and_nothing_weaker_does(
    table, plan, endpoint: str
) -> None:
    thr = plan.decision_threshold
    flip = weakest_flip(table, thr, endpoint=endpoint)
    d = table[table["endpoint"] == endpoint]
    ref_ni = flip["reference_probability"] >= thr
    assert flip["reference_non_inferior"] == ref_ni
    assert flip["found"]
    assert (flip["probability"] >= thr) != ref_ni
    if d["scale"].iloc[0] == "log_hr":  # weaker: a larger prior SD
        weaker = d[d["prior_strength"] > flip["prior_strength"]]
    else:  # weaker: fewer pseudo-patients
        weaker = d[d["prior_strength"] < flip["prior_strength"]]
    assert ((weaker["probability"] >= thr) == ref_ni).all()
    cell = d[
        (d["prior_location"] == flip["prior_location"])
        & (d["prior_strength"] == flip["prior_strength"])
    ]
    assert cell["probability"].iloc[0] == flip["probability"]


def test_weakest_loghr_prior_judged_against_the_trial(spec, plan, table) -> None:
    flip = weakest_flip(table, plan.decision_threshold, endpoint="PFS")
    y, se = _loghr_inputs(spec, "PFS")
    loc, sd = flip["prior_location"], flip["prior_strength"]
    prior_ni = stats.norm.cdf((math.log(plan.margins.hr) - math.log(loc)) / sd)
    assert flip["prior_probability"] == pytest.approx(prior_ni, abs=1e-12)
    assert flip["information_ratio"] == pytest.approx((se / sd) ** 2)
    z = abs(y - math.log(loc)) / math.sqrt(sd**2 + se**2)
    assert flip["conflict_p"] == pytest.approx(2 * stats.norm.sf(z))


def test_weakest_flip_says_when_no_prior_in_the_grid_does_it(spec, plan) -> None:
    y, se = _loghr_inputs(spec, "PFS")
    t = tipping.tipping_loghr(
        y, se, plan.margins.hr, plan.decision_threshold, [1.2, 1.5], [1.0, 2.0]
    )
    flip = weakest_flip(t)
    assert not flip["found"] and flip["prior_location"] is None
    assert "no prior in the grid" in flip["text"]


@pytest.mark.parametrize("endpoint", ["PFS", "OS", "ORR", "AE_myelosuppression"])
def test_threshold_contour_is_where_the_probability_crosses(
    spec, plan, counts, table, endpoint: str
) -> None:
    thr = plan.decision_threshold
    lines = tipping.threshold_contour(table, thr, endpoint)
    assert lines
    pts = np.concatenate(lines)
    if endpoint in spec.survival:
        y, se = _loghr_inputs(spec, endpoint)
        exact = [prob_hr_below((math.log(m), s), y, se, plan.margins.hr) for m, s in pts[::5]]
    else:
        r = _rate_inputs(spec, plan, counts, endpoint)
        (k1, k0), (n1, n0), (a, b) = r["events"], r["n"], r["treatment_prior"]
        exact = [
            _ni(
                prob_beta_diff_above(
                    a + k1, b + n1 - k1, m * s + k0, (1 - m) * s + n0 - k0, r["margin"]
                ),
                r["direction"],
            )
            for m, s in pts[::5]
        ]
    # linear interpolation between grid points: exact up to the grid's spacing
    assert np.abs(np.array(exact) - thr).max() < 0.01
    # and it separates the two conclusions: each vertex lies in a grid cell whose corners
    # include both a non-inferior and a not non-inferior prior
    d = table[table["endpoint"] == endpoint]
    z = d.pivot_table(index="prior_strength", columns="prior_location", values="probability")
    x, s, flags = z.columns.to_numpy(), z.index.to_numpy(), z.to_numpy() >= thr
    for m, v in pts:
        i = np.clip(np.searchsorted(x, m), 1, len(x) - 1)
        j = np.clip(np.searchsorted(s, v), 1, len(s) - 1)
        corners = flags[j - 1 : j + 1, i - 1 : i + 1]
        assert corners.any() and not corners.all()


def test_threshold_contour_converges_on_a_finer_grid(spec, plan) -> None:
    y, se = _loghr_inputs(spec, "PFS")
    thr = plan.decision_threshold
    fine = tipping.tipping_loghr(
        y, se, plan.margins.hr, thr, np.geomspace(0.5, 2, 201), np.geomspace(0.05, 2, 200)
    )
    pts = np.concatenate(tipping.threshold_contour(fine))
    exact = [prob_hr_below((math.log(m), s), y, se, plan.margins.hr) for m, s in pts]
    assert np.abs(np.array(exact) - thr).max() < 5e-4


def test_sentences_one_per_endpoint_with_computed_numbers(spec, plan, counts, table) -> None:
    sentences = tipping_sentences(spec, plan, counts, table)
    names = [*spec.survival, *spec.binary]
    assert len(sentences) == len(names)
    for name, text in zip(names, sentences, strict=True):
        assert text.startswith(f"{name}: ")
        assert "nan" not in text and "None" not in text
        flip = weakest_flip(table, plan.decision_threshold, endpoint=name)
        assert flip["text"] in text
    pfs = weakest_flip(table, plan.decision_threshold, endpoint="PFS")
    y, se = _loghr_inputs(spec, "PFS")
    text = sentences[0]
    assert f"centred at {pfs['prior_location']:.2f} with SD {pfs['prior_strength']:.2f}" in text
    assert f"SE {se:.2f}" in text
    assert f"the prior alone gives {pfs['prior_probability']:.3f}" in text
    assert f"P(HR < {plan.margins.hr:g}) = {stats.norm.cdf((math.log(1.3) - y) / se):.3f}" in text


@pytest.mark.parametrize("endpoint", ["PFS", "ORR"])
def test_heatmap_png_is_written(table, plan, endpoint: str, tmp_path: Path) -> None:
    flip = weakest_flip(table, plan.decision_threshold, endpoint=endpoint)
    path = heatmap(table, endpoint, plan.decision_threshold, flip, tmp_path / f"{endpoint}.png")
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 400
    assert img[..., :3].std() > 0.05  # not blank


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="direction"):
        tipping.tipping_rates((1, 2), (10, 10), 0.1, "above", 0.975)
    with pytest.raises(ValueError, match="events"):
        tipping.tipping_rates((11, 2), (10, 10), 0.1, "<", 0.975)
    with pytest.raises(ValueError, match="se > 0"):
        tipping.tipping_loghr(0.1, 0.0, 1.3, 0.975)
    bare = pd.DataFrame({"prior_mean_hr": [1.0], "prior_sd": [1.0], "probability": [0.5]})
    with pytest.raises(ValueError, match="attrs"):
        weakest_flip(bare, 0.975)
