"""Exact operating characteristics of a two-arm binary design (as RBesT's oc2S).

Every outcome (y_t, y_c) of both arms is enumerated; for each, the exact conjugate Beta-mixture
posteriors give P(rate_t - rate_c `direction` margin), and the decision is that probability
>= the threshold. The probability of declaring under true rates (p_t, p_c) is the sum of the
binomial probabilities of the outcomes that declare. No sampling: the result is exact up to
the quadrature of the difference of two Betas (`priors/mixdiff.py`, error < 1e-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special, stats

from bayes_btc.priors.mixdiff import BetaDiff
from bayes_btc.priors.mixtures import BetaMixture


@dataclass(frozen=True)
class BinaryDesign:
    """Arm sizes, priors and rule: NI declared when P(rate_t - rate_c `direction` margin) >=
    threshold (direction '>' for efficacy, '<' for harm)."""

    n_t: int
    n_c: int
    prior_t: BetaMixture
    prior_c: BetaMixture
    direction: Literal["<", ">"]
    margin: float
    threshold: float


def posterior_components(prior: BetaMixture, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior (weights, a, b) for every outcome y = 0..n, each of shape (n + 1, K)."""
    w, a, b = (np.asarray(x, dtype=float) for x in (prior.weights, prior.a, prior.b))
    y = np.arange(n + 1, dtype=float)[:, None]
    a1, b1 = a + y, b + n - y
    log_w = np.log(w) + special.betaln(a1, b1) - special.betaln(a, b)
    log_w -= special.logsumexp(log_w, axis=1, keepdims=True)
    return np.exp(log_w), a1, b1


def posterior_probabilities(design: BinaryDesign) -> np.ndarray:
    """(n_t + 1, n_c + 1) posterior P(rate_t - rate_c `direction` margin) per outcome."""
    wt, at, bt = posterior_components(design.prior_t, design.n_t)
    wc, ac, bc = posterior_components(design.prior_c, design.n_c)
    above = np.zeros((design.n_t + 1, design.n_c + 1))
    control = BetaDiff(ac, bc, design.margin)  # F of every control posterior, computed once
    for yt in range(design.n_t + 1):
        for j in range(wt.shape[1]):
            pj = control.above(at[yt, j], bt[yt, j])  # (n_c + 1, K)
            above[yt] += wt[yt, j] * (wc * pj).sum(axis=1)
    return above if design.direction == ">" else 1.0 - above


def decision_matrix(design: BinaryDesign) -> np.ndarray:
    """(n_t + 1, n_c + 1) boolean: the outcomes that declare."""
    return posterior_probabilities(design) >= design.threshold


def p_declare(
    decisions: np.ndarray, p_t: float | np.ndarray, p_c: float | np.ndarray
) -> np.ndarray:
    """P(declare) under true rates (broadcast together): binomial weights of declaring outcomes."""
    p_t, p_c = np.broadcast_arrays(np.atleast_1d(p_t), np.atleast_1d(p_c))
    n_t, n_c = decisions.shape[0] - 1, decisions.shape[1] - 1
    ft = stats.binom.pmf(np.arange(n_t + 1)[None, :], n_t, p_t[:, None])  # (S, n_t + 1)
    fc = stats.binom.pmf(np.arange(n_c + 1)[None, :], n_c, p_c[:, None])
    return np.einsum("si,ij,sj->s", ft, decisions.astype(float), fc)


def oc2s(design: BinaryDesign, p_t: float | np.ndarray, p_c: float | np.ndarray) -> np.ndarray:
    """P(declare) of a design under true rates (p_t, p_c), exactly."""
    return p_declare(decision_matrix(design), p_t, p_c)
