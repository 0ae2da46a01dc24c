"""Maximum-likelihood fits of one-dimensional mixtures of two-parameter families by
accelerated EM, and the Beta component's weighted M-step (all components at once).

One E-step handles all K components at once on a (K, n) array, in compiled passes and numpy's
exp (`priors/em_kernels.py`: the numbers of the plain numpy expressions); its weights are
divided into responsibilities only when an M-step uses them (not for a rejected extrapolation,
nor for the plain step an accepted one replaces). The EM map is accelerated by SQUAREM
(Varadhan & Roland 2008, Scand. J. Stat. 35:335-353, scheme S3): two EM steps give a direction
and a step length, the extrapolated point is kept only if its log-likelihood is at least that
of the two plain steps (so the fit never does worse than plain EM, and has the same fixed
points). Extrapolation is on an unconstrained scale: log(w_k / w_K), and the log of positive
parameters. It stops when a cycle improves the log-likelihood by less than `REL_TOL` relative,
or after `MAX_STEPS` EM steps.

Where components overlap (MAP predictive draws: normals of one mean and different SDs) the
likelihood has long flat ridges along which plain EM crawls (the earlier per-component loop
stopped at its 500-step cap before converging); SQUAREM reaches the same tolerance in about
half the steps, each a few vectorised passes over the draws. A quasi-Newton finish (BFGS) was
tried and dropped: from the EM point it can climb to a spurious optimum, a component of tiny
weight on a few outlying draws, which AIC then prefers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import betaln, digamma, zeta

from bayes_btc.priors.em_kernels import column_sums, divide_columns

Params = tuple[np.ndarray, np.ndarray, np.ndarray]  # (weights, p1, p2), one entry per component
Weights = tuple[np.ndarray, np.ndarray]  # exp(log weights) (K, n) and their sums over k (n,)
EStep = Callable[[Params, bool], tuple[Weights, float]]  # -> weights, log-likelihood
MStep = Callable[[np.ndarray, Params], Params]  # (K, n) responsibilities, params -> params

MAX_STEPS = 500
REL_TOL = 1e-8


def e_step(lp: np.ndarray, top: np.ndarray, need_ll: bool = True) -> tuple[Weights, float]:
    """(weights, log-likelihood (NaN unless `need_ll`)) from the log weights (component log
    density + log weight) shifted by each draw's maximum `top` (n,) (the compiled first half
    of an E-step, `priors/em_kernels.py`); overwrites `lp`. The weights are normalised into
    responsibilities (`responsibilities`) only if an M-step uses them."""
    np.exp(lp, out=lp)
    total = np.empty(lp.shape[1])
    column_sums(lp, total)
    ll = float(top.sum() + np.log(total).sum()) if need_ll else float("nan")
    return (lp, total), ll


def responsibilities(weights: Weights) -> np.ndarray:
    """The E-step's weights divided by their sum over components, in place: (K, n)."""
    e, total = weights
    divide_columns(e, total)
    return e


def _free(p: Params, positive: tuple[bool, bool]) -> np.ndarray:
    """3K - 1 unconstrained values: log(w_k / w_K) for k < K, then p1 and p2 (log if > 0)."""
    fields = (v if not pos else np.log(v) for v, pos in zip(p[1:], positive, strict=True))
    lw = np.log(p[0])
    return np.concatenate([lw[:-1] - lw[-1], *fields])


def _bound(u: np.ndarray, positive: tuple[bool, bool]) -> Params:
    k = (len(u) + 1) // 3
    v1, v2 = u[k - 1 : 2 * k - 1], u[2 * k - 1 :]
    p1, p2 = (np.exp(v) if pos else v for v, pos in zip((v1, v2), positive, strict=True))
    return _softmax(np.append(u[: k - 1], 0.0)), p1, p2


def _softmax(x: np.ndarray) -> np.ndarray:
    """scipy.special.softmax of a vector, the same operations without its dispatch overhead."""
    e = np.exp(x - np.max(x, keepdims=True))
    return e / np.sum(e, keepdims=True)


def em(
    params: Params,
    estep: EStep,
    m_step: MStep,
    positive: tuple[bool, bool],
    max_steps: int = MAX_STEPS,
    rel_tol: float = REL_TOL,
) -> tuple[Params, float]:
    """EM accelerated by SQUAREM from `params`; -> (params, log-likelihood).

    `estep(params, need_ll)` -> (`e_step`'s weights, log-likelihood or NaN); `positive`
    says which of the two parameter fields are > 0 (extrapolated on the log scale)."""
    r0, ll0 = estep(params, True)
    steps = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while steps < max_steps:
            p1 = m_step(responsibilities(r0), params)
            r1, _ = estep(p1, False)
            p2 = m_step(responsibilities(r1), p1)
            r2, ll2 = estep(p2, True)
            steps += 2
            best = (p2, r2, ll2)
            u0, u1, u2 = (_free(p, positive) for p in (params, p1, p2))
            d1, d2 = u1 - u0, u2 - 2 * u1 + u0
            alpha = -np.sqrt(d1 @ d1 / (d2 @ d2)) if d2 @ d2 > 0 else -1.0
            while alpha < -1:  # halve the extrapolation until it does at least as well
                pe = _bound(u0 - 2 * alpha * d1 + alpha**2 * d2, positive)
                if all(np.all(np.isfinite(v)) for v in pe) and np.all(pe[0] > 0):
                    re, lle = estep(pe, True)
                    if np.isfinite(lle) and lle >= ll2:
                        best = (pe, re, lle)
                        break
                alpha = (alpha - 1) / 2 if alpha < -1.01 else -1.0
            params, r_new, ll_new = best
            done = ll_new - ll0 < rel_tol * abs(ll_new)
            r0, ll0 = r_new, ll_new
            if done:
                break
    return params, ll0


def beta_objective(s1: np.ndarray, s2: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a-1) s1 + (b-1) s2 - log B(a, b) per component: the weighted mean Beta log density."""
    return (a - 1) * s1 + (b - 1) * s2 - betaln(a, b)


def beta_ml(
    s1: np.ndarray, s2: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted maximum likelihood of K Beta components at once: maximise
    (a-1) s1 + (b-1) s2 - log B(a, b), s1 and s2 the weighted mean log x and log(1 - x), by
    Newton steps from (a, b) with step halving (the objective is concave in (a, b): one
    optimum, reached from any positive start)."""
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    f = beta_objective(s1, s2, a, b)
    for _ in range(100):
        d, t = digamma(a + b), zeta(2, a + b)
        ga, gb = s1 - digamma(a) + d, s2 - digamma(b) + d
        haa, hbb = t - zeta(2, a), t - zeta(2, b)  # Hessian [[haa, t], [t, hbb]], neg. def.
        det = haa * hbb - t * t
        da, db = -(hbb * ga - t * gb) / det, -(haa * gb - t * ga) / det
        lam = np.ones_like(a)
        for _ in range(60):
            na, nb = a + lam * da, b + lam * db
            ok = (na > 0) & (nb > 0)
            safe_a, safe_b = np.where(ok, na, 1), np.where(ok, nb, 1)
            fn = np.where(ok, beta_objective(s1, s2, safe_a, safe_b), -np.inf)
            bad = fn < f - 1e-12 * np.abs(f)
            if not bad.any():
                break
            lam[bad] /= 2
        a, b, f = np.where(bad, a, na), np.where(bad, b, nb), np.where(bad, f, fn)
        if np.all(np.abs(lam * da) <= tol * a) and np.all(np.abs(lam * db) <= tol * b):
            break
    return a, b
