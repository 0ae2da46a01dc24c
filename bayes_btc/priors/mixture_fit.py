"""Approximating posterior draws by a Beta or Normal mixture (EM), so that a posterior or a MAP
prior can be carried forward as a prior with conjugate updates; `fit_quality` reports how well
the mixture matches the draws.

The number of components (1..max_components) is chosen by AIC with 3K - 1 parameters. EM
(`priors/em.py`: all components at once, SQUAREM-accelerated) is deterministic: components
start from equal-count groups of the sorted draws, and it stops when the log-likelihood
improves by less than 1e-8 relative, or after 500 EM steps. The fits for K = 1, 2, ... run
side by side (`bayes_btc/threads.py`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import betaln

from bayes_btc.priors.em import Params, beta_ml, e_step, em
from bayes_btc.priors.em_kernels import beta_log_weights, normal_log_weights, weighted_squares
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
from bayes_btc.threads import threaded_map

MIN_DRAWS = 50
BETA, NORMAL = (True, True), (False, True)  # which parameters are > 0: (a, b); (mean, SD)
_CLIP = 1e-10  # rate draws are clipped into [_CLIP, 1 - _CLIP] (log x must be finite)
_EMPTY = 1e-10  # a component with fewer responsibilities than this share of draws is frozen


def _validated(draws: ArrayLike, rate: bool) -> np.ndarray:
    """Draws as a flat float array; rates (scale (0, 1)) are clipped away from 0 and 1."""
    x = np.asarray(draws, dtype=float).ravel()
    if x.size < MIN_DRAWS:
        raise ValueError(f"need at least {MIN_DRAWS} draws to fit a mixture, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("draws must be finite")
    if rate and np.any((x < 0) | (x > 1)):
        raise ValueError("draws of a rate must lie in (0, 1)")
    return np.clip(x, _CLIP, 1 - _CLIP) if rate else x


def _best_by_aic(fits: list[tuple[Params, float]]) -> Params:
    """The fit with the lowest AIC = 2(3K - 1) - 2 loglik (the smaller K on a tie)."""
    aic = [2 * (3 * len(p[0]) - 1) - 2 * ll for p, ll in fits]
    w, p1, p2 = fits[int(np.argmin(aic))][0]
    return w, p1, p2


def _check_k(max_components: int) -> None:
    if max_components < 1:
        raise ValueError(f"max_components must be >= 1, got {max_components}")


def _sorted_groups(x: np.ndarray, k: int) -> list[np.ndarray]:
    """k equal-count groups of the sorted draws: a deterministic start for k components."""
    return np.array_split(np.sort(x), k)


def _beta_moments(m: float, v: float) -> tuple[float, float]:
    """(a, b) of the Beta with mean m and variance v (precision floored if v is too large)."""
    c = max(m * (1 - m) / v - 1, 1e-2) if v > 0 else 1e6
    return m * c, (1 - m) * c


def fit_beta_mixture(
    draws: ArrayLike, max_components: int = 3, start: BetaMixture | None = None
) -> BetaMixture:
    """Beta mixture on a rate (0, 1) approximating `draws`, K chosen by AIC; or, given
    `start`, EM from that mixture with its K (a refit, e.g. on a batch of the draws).

    M-step: weighted maximum likelihood of all (a_k, b_k) at once (Newton, from the previous
    step's values). Weighted sums are multiply-and-sum, not BLAS (`@`): threaded OpenBLAS
    calls on long vectors can take milliseconds each when other thread pools run."""
    _check_k(max_components)
    x = _validated(draws, rate=True)
    lx, l1x = np.log(x), np.log1p(-x)

    def estep(p: Params, need_ll: bool) -> tuple[np.ndarray, float]:
        w, a, b = p
        lp, top = np.empty((len(w), len(x))), np.empty(len(x))
        beta_log_weights(lx, l1x, a - 1, b - 1, betaln(a, b), np.log(w), lp, top)
        return e_step(lp, top, need_ll)

    def m_step(r: np.ndarray, p: Params) -> Params:
        nk = r.sum(axis=1)
        live = nk > _EMPTY * len(x)
        a, b = p[1].copy(), p[2].copy()
        r_live = r if live.all() else r[live]  # no copy when every component is live
        prod = np.multiply(r_live, lx)
        s1 = prod.sum(axis=1) / nk[live]
        s2 = np.multiply(r_live, l1x, out=prod).sum(axis=1) / nk[live]
        a[live], b[live] = beta_ml(s1, s2, a[live], b[live])
        return np.maximum(nk, 1e-300) / nk.sum(), a, b

    fits = [] if start is None else [em(start.padded(start.n_components), estep, m_step, BETA)]

    def fit_k(k: int) -> tuple[Params, float]:
        groups = _sorted_groups(x, k)
        a, b = np.array([_beta_moments(float(g.mean()), float(g.var())) for g in groups]).T
        w = np.array([len(g) for g in groups]) / len(x)
        return em((w, a, b), estep, m_step, BETA)

    fits += threaded_map(fit_k, range(1, max_components + 1 if start is None else 0))
    w, a, b = _best_by_aic(fits)
    order = np.argsort(a / (a + b), kind="stable")
    return BetaMixture(tuple(w[order]), tuple(a[order]), tuple(b[order]))


def fit_normal_mixture(
    draws: ArrayLike, max_components: int = 3, start: NormalMixture | None = None
) -> NormalMixture:
    """Normal mixture approximating `draws` (e.g. a log-HR), K chosen by AIC; or, given
    `start`, EM from that mixture with its K (a refit, e.g. on a batch of the draws).

    Closed-form M-step; component SDs are floored at 1e-6 x SD(draws) to avoid collapse."""
    _check_k(max_components)
    x = _validated(draws, rate=False)
    floor = 1e-6 * float(x.std()) or 1e-12

    def estep(p: Params, need_ll: bool) -> tuple[np.ndarray, float]:
        w, m, s = p
        lp, top = np.empty((len(w), len(x))), np.empty(len(x))
        c = np.log(s) + 0.5 * math.log(2 * math.pi)
        normal_log_weights(x, m, 1 / s, c, np.log(w), lp, top)
        return e_step(lp, top, need_ll)

    def m_step(r: np.ndarray, p: Params) -> Params:
        nk = r.sum(axis=1)
        live = nk > _EMPTY * len(x)
        m, s = p[1].copy(), p[2].copy()
        r_live = r if live.all() else r[live]  # no copy when every component is live
        prod = np.multiply(r_live, x)
        m[live] = prod.sum(axis=1) / nk[live]
        weighted_squares(r_live, x, m[live], prod)  # r (x - m)^2
        var = prod.sum(axis=1) / nk[live]
        s[live] = np.maximum(np.sqrt(var), floor)
        return np.maximum(nk, 1e-300) / nk.sum(), m, s

    fits = [] if start is None else [em(start.padded(start.n_components), estep, m_step, NORMAL)]

    def fit_k(k: int) -> tuple[Params, float]:
        groups = _sorted_groups(x, k)
        m = np.array([g.mean() for g in groups])
        s = np.maximum([g.std() for g in groups], floor)
        w = np.array([len(g) for g in groups]) / len(x)
        return em((w, m, s), estep, m_step, NORMAL)

    fits += threaded_map(fit_k, range(1, max_components + 1 if start is None else 0))
    w, m, s = _best_by_aic(fits)
    order = np.argsort(m, kind="stable")
    return NormalMixture(tuple(w[order]), tuple(m[order]), tuple(s[order]))


def ks_distance(mix: BetaMixture | NormalMixture, draws: ArrayLike) -> float:
    """Kolmogorov-Smirnov distance between `mix` and the draws (0 = identical distributions)."""
    x = np.asarray(draws, dtype=float).ravel()
    return float(stats.ks_1samp(x, mix.cdf).statistic)


def fit_quality(mix: BetaMixture | NormalMixture, draws: ArrayLike) -> dict[str, float]:
    """How well `mix` matches `draws`: the Kolmogorov-Smirnov distance ("ks", 0 = identical
    distributions) and mean, SD and 2.5/50/97.5% quantiles of each ("<stat>_draws",
    "<stat>_mixture"), all on the draws' scale."""
    x = np.asarray(draws, dtype=float).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError("need at least 2 finite draws")
    out = {
        "ks": ks_distance(mix, x),
        "mean_draws": float(x.mean()),
        "mean_mixture": mix.mean(),
        "sd_draws": float(x.std(ddof=1)),
        "sd_mixture": mix.sd(),
    }
    levels = np.array([2.5, 50.0, 97.5])
    for lev, d, m in zip(levels, np.percentile(x, levels), mix.quantile(levels / 100), strict=True):
        out[f"q{lev:g}_draws"], out[f"q{lev:g}_mixture"] = float(d), float(m)
    return out
