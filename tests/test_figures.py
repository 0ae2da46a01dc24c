"""Diagnostic figures: prior-likelihood-posterior, HR by interval, rank plots.

Synthetic fits and a hand-made DataTree stand in for sampled models, so the file runs in
seconds. Each figure must be a readable PNG; the P(NI) annotated on the prior-likelihood-
posterior figure must equal the exact value computed here independently."""

from __future__ import annotations

import math

import matplotlib.image as mpimg
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayes_btc.inputs.datakey import DataKey
from bayes_btc.models import beta_binomial, loghr_summary
from bayes_btc.models.fit import Fit
from bayes_btc.models.pwe import interval_hr_bands
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.output.figures.chains import rank_plots
from bayes_btc.output.figures.density import beta_difference_density, prior_likelihood_posterior
from bayes_btc.output.figures.survival import interval_hazard_ratios
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture

DIMS = ("chain", "draw")
RNG = np.random.default_rng(20180167)


def _da(x: np.ndarray) -> xr.DataArray:
    return xr.DataArray(x, dims=DIMS)


def _image(path, min_h: int = 300, min_w: int = 500) -> np.ndarray:
    assert path.exists() and path.stat().st_size > 10_000
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] >= min_h and img.shape[1] >= min_w
    assert img[..., :3].std() > 0.05  # not a blank canvas
    return img


def _normal_fit(prior: str, m0: float, s0: float, y: float, se: float, model: str) -> Fit:
    w0, w1 = s0**-2, se**-2
    mp, sp = (w0 * m0 + w1 * y) / (w0 + w1), (w0 + w1) ** -0.5
    log_hr = RNG.normal(mp, sp, (4, 500))
    draws = {"hr": _da(np.exp(log_hr)), "log_hr": _da(log_hr)}
    inputs = {"prior_mean": m0, "prior_sd": s0, "y": y, "se": se}
    priors = {"log_hr": NormalMixture.single(m0, s0)}
    exact = loghr_summary.exact_probability
    return Fit("OS", model, prior, "loghr_summary", draws, inputs, priors, exact=exact)


def _beta_fit(prior: str, a: float, b: float, k: tuple[int, int], n: tuple[int, int]) -> Fit:
    t = RNG.beta(a + k[0], b + n[0] - k[0], (2, 1000))
    c = RNG.beta(a + k[1], b + n[1] - k[1], (2, 1000))
    draws = {"rate_TP": _da(t), "rate_GP": _da(c), "rate_diff": _da(t - c)}
    inputs = {"prior_a": a, "prior_b": b, "events_0": k[0], "n_0": n[0]}
    inputs |= {"events_1": k[1], "n_1": n[1]}
    priors = {"rate_TP": BetaMixture.single(a, b), "rate_GP": BetaMixture.single(a, b)}
    exact = beta_binomial.exact_probability
    return Fit("ORR", "beta_binomial", prior, "beta_binomial", draws, inputs, priors, exact=exact)


NORMAL_PRIORS = {"vague": (0.0, 10.0), "skeptical": (math.log(1.3), 0.16)}
Y, SE = math.log(1.12), 0.25


@pytest.fixture(scope="module")
def normal_fits() -> list[Fit]:
    fits = [_normal_fit(p, m, s, Y, SE, "loghr_summary") for p, (m, s) in NORMAL_PRIORS.items()]
    return [*fits, _normal_fit("vague", 0.0, 10.0, -Y, SE, "loghr_summary_inverted")]


@pytest.mark.parametrize("direction", ["<", ">"])
def test_prior_likelihood_posterior_normal_annotates_exact_p(tmp_path, normal_fits, direction):
    path, probs = prior_likelihood_posterior(
        normal_fits, "OS", "loghr_summary", 1.3, direction, tmp_path / "plp.png"
    )
    img = _image(path, min_w=900)
    assert img.shape[1] > img.shape[0]  # panels side by side
    assert set(probs) == set(NORMAL_PRIORS)  # one panel per prior, this model only
    for p, (m0, s0) in NORMAL_PRIORS.items():
        w0, w1 = s0**-2, SE**-2
        mean, sd = (w0 * m0 + w1 * Y) / (w0 + w1), (w0 + w1) ** -0.5
        below = stats.norm.cdf(math.log(1.3), mean, sd)
        assert probs[p] == pytest.approx(below if direction == "<" else 1 - below, abs=1e-12)


def test_prior_likelihood_posterior_beta_annotates_exact_p(tmp_path):
    priors = {"vague": (1.0, 1.0), "jeffreys": (0.5, 0.5)}
    k, n = (13, 12), (33, 34)
    fits = [_beta_fit(p, a, b, k, n) for p, (a, b) in priors.items()]
    path, probs = prior_likelihood_posterior(
        fits, "ORR", "beta_binomial", -0.1, ">", tmp_path / "plp_beta.png"
    )
    _image(path, min_w=800)
    rng = np.random.default_rng(1)
    for p, (a, b) in priors.items():  # Monte Carlo reference, SD < 0.0005
        t = rng.beta(a + k[0], b + n[0] - k[0], 1_000_000)
        c = rng.beta(a + k[1], b + n[1] - k[1], 1_000_000)
        assert probs[p] == pytest.approx(np.mean(t - c > -0.1), abs=0.003)


def test_prior_likelihood_posterior_rejects_non_conjugate_and_missing(tmp_path, normal_fits):
    pwe = Fit("OS", "pwe_ph", "vague", "pwe_ph", normal_fits[0].draws, {"events": 30.0})
    with pytest.raises(ValueError, match="not a conjugate model"):
        prior_likelihood_posterior([pwe], "OS", "pwe_ph", 1.3, "<", tmp_path / "x.png")
    with pytest.raises(ValueError, match="no fits"):
        prior_likelihood_posterior(normal_fits, "PFS", "loghr_summary", 1.3, "<", tmp_path / "x")
    assert not (tmp_path / "x.png").exists()


def test_beta_difference_density_is_a_density():
    d = np.linspace(-1, 1, 401)
    for params in [(1, 1, 1, 1), (0.5, 0.5, 0.5, 0.5), (13.5, 20.5, 12.5, 22.5)]:
        assert beta_difference_density(d, *params).sum() * (d[1] - d[0]) == pytest.approx(1, 1e-6)
    # two uniforms: the triangular density 1 - |d| (cells not straddling the kink at 0)
    d = np.linspace(-0.9, 0.9, 37)
    tri = beta_difference_density(d, 1, 1, 1, 1)
    off = np.abs(d) > 1e-9
    np.testing.assert_allclose(tri[off], 1 - np.abs(d[off]), atol=1e-3)


def _nonph_tree(k_padded: int = 4) -> xr.DataTree:
    """Two endpoints x two priors, intervals padded to `k_padded` as in the batched model."""
    means = [*np.log([0.6, 0.9, 1.4]), 3.0][:k_padded]  # 4th: padding, sliced off
    log_hr = RNG.normal(means, 0.15, (2, 300, 2, 2, k_padded))
    post = xr.Dataset(
        {
            "log_hr_interval": (("chain", "draw", "endpoint", "prior", "interval"), log_hr),
            "hr": (("chain", "draw", "endpoint", "prior"), np.exp(log_hr[..., :3].mean(-1))),
        },
        coords={"endpoint": ["PFS", "OS"], "prior": ["vague", "skeptical"]},
        attrs={"model_family": "pwe_nonph"},
    )
    return xr.DataTree.from_dict({"posterior": post})


def _table() -> PWETable:
    return PWETable(
        cuts=np.array([3.0, 7.5]),
        end=20.0,
        events=np.array([[8, 6, 5], [9, 9, 7]]),
        exposure=np.array([[120.0, 150.0, 200.0], [115.0, 140.0, 180.0]]),
    )


def test_interval_hazard_ratios(tmp_path):
    bands = interval_hr_bands(_nonph_tree(), _table(), DataKey("OS"), "skeptical")
    assert bands["median"] == pytest.approx([0.6, 0.9, 1.4], rel=0.05)  # padding sliced off
    path = interval_hazard_ratios(
        bands, _table(), "OS", "pwe_nonph", "skeptical", tmp_path / "i.png"
    )
    assert path == tmp_path / "i.png"
    _image(path)


def test_interval_hazard_ratios_needs_a_nonph_tree():
    ph = xr.DataTree.from_dict({"posterior": _nonph_tree()["posterior"].to_dataset()[["hr"]]})
    with pytest.raises(ValueError, match="non-PH"):
        interval_hr_bands(ph, _table(), DataKey("OS"), "vague")


def test_rank_plots_grid_and_limits(tmp_path, normal_fits):
    stuck = normal_fits[0].draws["hr"].values.copy()
    stuck[0] += 1.0  # chain 0 apart from the others: non-uniform ranks
    bad = Fit("OS", "loghr_summary", "stuck", "loghr_summary", {"hr": _da(stuck)}, {})
    beta = _beta_fit("vague", 1, 1, (5, 6), (20, 20))  # has no `hr`: skipped
    fits = [*normal_fits, beta, bad]
    two = _image(rank_plots(fits, "hr", tmp_path / "r2.png", max_fits=2), min_h=250)
    four = _image(rank_plots(fits, "hr", tmp_path / "r4.png"), min_h=250)
    assert four.shape[1] > two.shape[1]  # 4 panels in a row vs 2
    five = [*fits, _normal_fit("x", 0, 1, Y, SE, "loghr_summary")]
    grid = _image(rank_plots(five, "hr", tmp_path / "r5.png"), min_h=250)
    assert grid.shape[0] > four.shape[0]  # a fifth panel opens a second row
    with pytest.raises(ValueError, match="no fit has"):
        rank_plots(fits, "median_TP", tmp_path / "r.png")


def test_average_ranks_match_scipy_with_ties():
    from bayes_btc.output.figures.chains import average_ranks

    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 500))
    x[:, ::5] = np.round(x[:, ::5], 1)  # repeated draws, as rejected proposals give
    x[1, :20] = x[0, :20]
    assert np.array_equal(average_ranks(x), stats.rankdata(x, axis=None).reshape(x.shape))
