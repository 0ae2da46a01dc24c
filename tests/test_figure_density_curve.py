"""The density of a difference of two Betas drawn in the prior/likelihood/posterior figure,
against scipy: each cell mean (F(b) - F(a)) / h, with F(s) = P(X - Y <= s) integrated by
adaptive quadrature of f_Y(y) F_X(y + s) (scipy.stats.beta), independent of the FFT
convolution the figure uses; the annotated P(NI) taken from the analysis when given; and
the PNG writer's RGB output (transparent canvases composited over white)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from bayes_btc.models import beta_binomial
from bayes_btc.models.fit import Fit
from bayes_btc.output.figures.density import beta_difference_density, prior_likelihood_posterior
from bayes_btc.priors.mixtures import BetaMixture


def _reference(d: np.ndarray, a_t: float, b_t: float, a_c: float, b_c: float) -> np.ndarray:
    h = d[1] - d[0]
    t = np.concatenate([d - h / 2, [d[-1] + h / 2]])
    x, y = stats.beta(a_t, b_t), stats.beta(a_c, b_c)

    def cdf(s: float) -> float:  # P(X - Y <= s)
        lo, hi = max(0.0, -s), min(1.0, 1.0 - s)
        if hi <= lo:
            return 0.0 if s < 0 else 1.0
        top = min(hi, y.isf(1e-15))  # Y's mass beyond is below 1e-15
        if top <= lo:
            return y.sf(lo)
        inside = integrate.quad(
            lambda v: y.pdf(v) * x.cdf(v + s), lo, top, epsabs=1e-12, epsrel=1e-10, limit=200
        )[0]
        return inside + y.sf(top)  # Y above 1 - s: X - Y <= s surely

    return np.diff([cdf(s) for s in t]) / h


@pytest.mark.parametrize(
    ("params", "rel", "cells"),
    [
        ((13.5, 20.5, 12.5, 22.5), 1e-5, 60),  # posteriors of a response rate
        ((1.0, 34.0, 1.0, 35.0), 1e-5, 60),  # rare events, mass piled at 0
        ((30.0, 3.0, 2.0, 40.0), 1e-4, 60),  # far apart, skewed
        ((2.5, 40.5, 0.5, 30.5), 1e-3, 60),  # one density unbounded at 0
        ((0.5, 0.5, 0.5, 0.5), 5e-3, 25),  # Jeffreys priors: log-singular at 0
    ],
)
def test_beta_difference_density_matches_quadrature(params, rel, cells):
    for d in (np.linspace(-0.5, 0.55, cells), np.linspace(-1.2, 1.3, cells // 2 + 1)):
        ref = _reference(d, *params)
        got = beta_difference_density(d, *params)
        assert np.abs(got - ref).max() <= rel * ref.max()


def test_beta_difference_density_of_a_large_trial_matches_monte_carlo():
    """Posteriors of 50,000 patients per arm: the curve is resolved on cells fitted to the
    Betas' mass, not to [0, 1] (quadrature over [0, 1] misses so narrow a peak)."""
    a_t, b_t, a_c, b_c = 20000.0, 30000.0, 20500.0, 29500.0
    sd = math.sqrt(2 * 0.24 / 50000)
    d = np.linspace(-0.01 - 4 * sd, -0.01 + 4 * sd, 31)
    h = d[1] - d[0]
    got = beta_difference_density(d, a_t, b_t, a_c, b_c)
    rng = np.random.default_rng(11)
    n = 2_000_000
    diff = rng.beta(a_t, b_t, n) - rng.beta(a_c, b_c, n)
    counts, _ = np.histogram(diff, bins=np.append(d - h / 2, d[-1] + h / 2))
    ref = counts / (n * h)
    se = np.sqrt(np.maximum(counts, 1)) / (n * h)  # Poisson SE per cell
    assert np.all(np.abs(got - ref) <= 5 * se + 1e-9)
    assert got.sum() * h == pytest.approx(1, abs=1e-3)  # +-4 SD holds all but 6e-5


def test_beta_difference_density_rejects_bad_grid():
    with pytest.raises(ValueError, match="increasing"):
        beta_difference_density(np.array([0.1, 0.0]), 1, 1, 1, 1)


def _beta_fit(prior: str, a: float, k: tuple[int, int], n: tuple[int, int]) -> Fit:
    rng = np.random.default_rng(7)
    t = rng.beta(a + k[0], a + n[0] - k[0], (2, 1000))
    c = rng.beta(a + k[1], a + n[1] - k[1], (2, 1000))
    da = {q: xr.DataArray(v, dims=("chain", "draw")) for q, v in (("t", t), ("c", c))}
    draws = {"rate_TP": da["t"], "rate_GP": da["c"], "rate_diff": da["t"] - da["c"]}
    inputs = {"prior_a": a, "prior_b": a, "events_0": k[0], "n_0": n[0]}
    inputs |= {"events_1": k[1], "n_1": n[1]}
    priors = {"rate_TP": BetaMixture.single(a, a), "rate_GP": BetaMixture.single(a, a)}
    exact = beta_binomial.exact_probability
    return Fit("ORR", "beta_binomial", prior, "beta_binomial", draws, inputs, priors, exact=exact)


def test_density_figure_annotates_given_probabilities(tmp_path):
    """Probabilities the analysis computed are returned (and annotated) as given; a prior
    missing from them is computed from its closed form (checked against Monte Carlo)."""
    k, n = (13, 12), (33, 34)
    fits = [_beta_fit(p, a, k, n) for p, a in (("vague", 1.0), ("jeffreys", 0.5))]
    given = {"vague": (0.123, 0.125)}
    _, probs = prior_likelihood_posterior(
        fits, "ORR", "beta_binomial", -0.1, ">", tmp_path / "d.png", probabilities=given
    )
    assert probs["vague"] == 0.123
    rng = np.random.default_rng(3)  # Monte Carlo reference, SD < 0.0005
    t = rng.beta(0.5 + k[0], 0.5 + n[0] - k[0], 1_000_000)
    c = rng.beta(0.5 + k[1], 0.5 + n[1] - k[1], 1_000_000)
    assert probs["jeffreys"] == pytest.approx(np.mean(t - c > -0.1), abs=0.003)


def test_png_of_a_transparent_figure_is_composited_over_white(tmp_path):
    """Opaque canvases are written as their RGB; a transparent one over white."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from bayes_btc.output.figures.layout import write_png

    for face in ("white", "none"):
        fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
        fig.patch.set_facecolor(face)
        ax.plot([0, 1], [0, 1])
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba()).astype(float)
        write_png(fig, tmp_path / "t.png")
        plt.close(fig)
        img = Image.open(tmp_path / "t.png")
        assert img.mode == "RGB"
        alpha = rgba[..., 3:] / 255
        want = rgba[..., :3] * alpha + 255 * (1 - alpha)
        assert np.abs(np.asarray(img, float) - want).max() <= 0.5
        if face == "none":
            assert (alpha < 1).any()
