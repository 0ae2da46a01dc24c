"""Differences of two independent mixtures on rates: P(X - Y > margin) for Beta mixtures (the
one home of this arithmetic, as RBesT's mixdiff). Adaptive quadrature for the exact reference
of single fits; a fixed tanh-sinh rule vectorised over many control priors for grids.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special, stats

from bayes_btc.priors.mixtures import BetaMixture
from bayes_btc.threads import cores, threaded_map

BLOCK = 500  # control Betas per block below which a grid is not split across threads


def _tanh_sinh(h: float = 1 / 40, k_max: float = 3.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tanh-sinh rule on [0, 1]: (distance of each node from its nearer end, 1 if that end is
    the upper one else 0, weight). Distances are kept apart from positions so that nodes next
    to an end do not round onto it."""
    k = np.arange(-round(k_max / h), round(k_max / h) + 1) * h
    u = 0.5 * math.pi * np.sinh(k)
    dist = 1.0 / (np.exp(2 * np.abs(u)) + 1.0)
    weight = 0.25 * math.pi * h * np.cosh(k) / np.cosh(u) ** 2
    return dist, (k > 0).astype(float), weight


_NODES = _tanh_sinh()


class BetaDiff:
    """P(X - Y > margin) for Y ~ Beta(a_c, b_c) (arrays, broadcast together) against any
    number of X ~ Beta(a_t, b_t): F_Y at the quadrature nodes, the costly part, is computed
    once here and reused for every X (e.g. every treatment outcome of an enumerated design)."""

    def __init__(self, a_c: np.ndarray, b_c: np.ndarray, margin: float) -> None:
        a_c, b_c = np.broadcast_arrays(np.asarray(a_c, dtype=float), np.asarray(b_c, dtype=float))
        self.shape = a_c.shape
        self.lo, self.hi = max(0.0, margin), min(1.0, 1.0 + margin)
        self.margin = margin
        if self.lo >= self.hi:
            return
        dist, upper, weight = _NODES
        width = self.hi - self.lo
        x = np.where(upper > 0, self.hi - width * dist, self.lo + width * dist)
        inside = (x > self.lo) & (x < self.hi)
        self.x, self.weight = x[inside], weight[inside] * width
        y = np.clip(self.x - margin, 0.0, 1.0)
        a, b = a_c.reshape(-1, 1), b_c.reshape(-1, 1)
        # large grids (tipping point) in blocks side by side; each F_Y value is the same
        blocks = np.array_split(np.arange(a.shape[0]), max(1, min(cores(), a.size // BLOCK)))
        cdf = threaded_map(lambda i: special.betainc(a[i], b[i], y), blocks)
        self.cdf_y = np.concatenate(cdf).reshape(*self.shape, len(y))

    def above(self, a_t: float, b_t: float) -> np.ndarray:
        """P(X - Y > margin) for X ~ Beta(a_t, b_t), shaped like the control arrays: the
        integral of f_X(x) F_Y(x - margin) over the x with x - margin in [0, 1], plus
        P(X > 1 + margin)."""
        if self.lo >= self.hi:
            return np.full(self.shape, 0.0 if self.margin >= 1 else 1.0)
        fx = stats.beta.pdf(self.x, a_t, b_t) * self.weight
        p = self.cdf_y @ fx + stats.beta.sf(self.hi, a_t, b_t)
        return np.clip(p, 0.0, 1.0)


def beta_diff_above(
    a_t: float, b_t: float, a_c: np.ndarray, b_c: np.ndarray, margin: float
) -> np.ndarray:
    """P(X - Y > margin), X ~ Beta(a_t, b_t) and Y ~ Beta(a_c, b_c) independent, for arrays of
    (a_c, b_c) (broadcast together): the integral of f_X(x) F_Y(x - margin) over the x with
    x - margin in [0, 1], plus P(X > 1 + margin). A parameter of 0 is the limit (point mass)."""
    return BetaDiff(a_c, b_c, margin).above(a_t, b_t)


def prob_beta_diff_above(a_t: float, b_t: float, a_c: float, b_c: float, margin: float) -> float:
    """P(X - Y > margin) for independent X ~ Beta(a_t, b_t), Y ~ Beta(a_c, b_c).

    = integral over x of f_X(x) * F_Y(x - margin), on the x where x - margin is in (0, 1].
    """
    lo, hi = max(0.0, margin), min(1.0, 1.0 + margin)
    if lo >= hi:
        return 0.0 if margin >= 1 else 1.0
    fx, fy = stats.beta(a_t, b_t), stats.beta(a_c, b_c)
    inside, _ = integrate.quad(
        lambda x: fx.pdf(x) * fy.cdf(x - margin), lo, hi, epsabs=1e-12, epsrel=1e-10, limit=200
    )
    return float(min(1.0, inside + fx.sf(hi)))  # x > 1 + margin: F_Y = 1


def prob_mixture_diff_above(t: BetaMixture, c: BetaMixture, margin: float) -> float:
    """P(X - Y > margin) for independent Beta mixtures X ~ t, Y ~ c: the weighted sum of the
    component-pair probabilities."""
    return float(
        sum(
            wt * wc * prob_beta_diff_above(at, bt, ac, bc, margin)
            for wt, at, bt in zip(t.weights, t.a, t.b, strict=True)
            for wc, ac, bc in zip(c.weights, c.a, c.b, strict=True)
        )
    )
