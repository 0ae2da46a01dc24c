"""The compiled E-step passes give, bit for bit, the numpy expressions they replace (the
reference here): component log densities + log weights, shifted by each draw's maximum and
clipped at FLOOR, then normalised; and the M-step's r (x - m)^2."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import betaln

from bayes_btc.priors.em import e_step, responsibilities
from bayes_btc.priors.em_kernels import (
    FLOOR,
    beta_log_weights,
    normal_log_weights,
    weighted_squares,
)


def _numpy_e_step(lp: np.ndarray) -> tuple[np.ndarray, float]:
    top = lp.max(axis=0)
    lp -= top
    if lp.min() < FLOOR:
        np.maximum(lp, FLOOR, out=lp)
    np.exp(lp, out=lp)
    total = lp.sum(axis=0)
    ll = float(top.sum() + np.log(total).sum())
    lp /= total
    return lp, ll


def _params(rng: np.random.Generator, k: int, extreme: bool):
    w = rng.dirichlet(np.ones(k))
    p1, p2 = np.exp(rng.standard_normal(k)), np.exp(2 * rng.standard_normal(k))
    if extreme:  # far-apart components: log weights below FLOOR are clipped
        p1[0], p2[0] = 900.0, 1e-3
    return w, p1, p2


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_normal_e_step_is_the_numpy_expression(seed: int, k: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    x = 2 * rng.standard_normal(n)
    w, m, s = _params(rng, k, extreme=seed % 2 == 0)
    c = np.log(s) + 0.5 * math.log(2 * math.pi)
    z = x - m[:, None]
    z *= (1 / s)[:, None]
    z *= z
    z *= -0.5
    z -= c[:, None]
    z += np.log(w)[:, None]
    ref_r, ref_ll = _numpy_e_step(z)
    lp, top = np.empty((k, n)), np.empty(n)
    normal_log_weights(x, m, 1 / s, c, np.log(w), lp, top)
    weights, ll = e_step(lp, top)
    r = responsibilities(weights)
    assert np.array_equal(r, ref_r)
    assert ll == ref_ll
    out = np.empty((k, n))
    weighted_squares(r, x, m, out)
    assert np.array_equal(out, r * (x - m[:, None]) ** 2)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_beta_e_step_is_the_numpy_expression(seed: int, k: int):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 3000))
    x = np.clip(rng.beta(2.0, 5.0, n), 1e-10, 1 - 1e-10)
    lx, l1x = np.log(x), np.log1p(-x)
    w, a, b = _params(rng, k, extreme=seed % 2 == 0)
    out = (a - 1)[:, None] * lx
    out += (b - 1)[:, None] * l1x
    out -= betaln(a, b)[:, None]
    out += np.log(w)[:, None]
    ref_r, ref_ll = _numpy_e_step(out)
    lp, top = np.empty((k, n)), np.empty(n)
    beta_log_weights(lx, l1x, a - 1, b - 1, betaln(a, b), np.log(w), lp, top)
    weights, ll = e_step(lp, top)
    r = responsibilities(weights)
    assert np.array_equal(r, ref_r)
    assert ll == ref_ll
