"""Effective sample size of every prior a run uses, by the three methods of RBesT's `ess()`.

- ELIR, the expected local information ratio (Neuenschwander, Weber, Schmidli, O'Hagan 2020,
  Biometrics 76:578-587): E_p[i_p(t) / i_F(t)], i_p = -(log p)'' and i_F the Fisher information
  of one observation. The only predictively consistent ESS.
- moment: the conjugate prior with the mixture's mean and variance (a + b for a Beta;
  sigma^2 / variance for a normal). Conservative for mixtures.
- Morita (Morita, Thall, Mueller 2008, Biometrics 64:595-602) as RBesT computes it after
  Neuenschwander et al. (2019): at the prior's mode t0, (i_p(t0) - i_0(t0)) / E[i_F], where
  i_0 is the information of the prior flattened by s = 100 (Beta(t0/s, (1-t0)/s); normal SD^2
  x s of the widest component) and E[i_F] the expected information of one observation at t0
  (binomial: under the prior predictive of one patient; normal: 1/sigma^2). Not restricted to
  integers. Liberal for mixtures.

Units: patients for a rate (Beta); observations of SD `sigma` on a normal scale: on the log-HR,
sigma = 2 makes it events (var(log HR) ~ 4/events); on a log median, sigma = 1 (~ events).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from bayes_btc.priors.mixtures import BetaMixture, NormalMixture

MORITA_S = 100.0  # RBesT's default flattening constant
MODE_INTERVAL = 0.99  # RBesT's mixmode: search each component's central 99% for the mode
METHODS = ("elir", "moment", "morita")
LOG_HR_UNIT_SD = 2.0  # one event's information on the log-HR: var(log HR) ~ 4 / events
LOG_MEDIAN_UNIT_SD = 1.0  # one event's information on the log median: var ~ 1 / events


def mixture_mode(mix: BetaMixture | NormalMixture) -> float:
    """The highest mode: the density maximised within each component's central 99% interval
    (as RBesT's `mixmode`), the best of those. A flat Beta(1, 1) has its mode taken at 0.5."""
    if isinstance(mix, BetaMixture) and all(x == 1 for x in (*mix.a, *mix.b)):
        return 0.5
    w, p1, p2 = (np.asarray(v) for v in (mix.weights, *_fields(mix)))
    family = stats.beta if isinstance(mix, BetaMixture) else stats.norm
    lo_q, hi_q = (1 - MODE_INTERVAL) / 2, 1 - (1 - MODE_INTERVAL) / 2
    found = []
    for k in range(len(w)):
        lo, hi = family.ppf([lo_q, hi_q], p1[k], p2[k])
        res = optimize.minimize_scalar(
            lambda x: -float(mix.logpdf(x)),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12 * max(1.0, abs(hi - lo))},
        )
        found.append(float(res.x))
    dens = [float(mix.logpdf(x)) for x in found]
    return found[int(np.argmax(dens))]


def _fields(mix: BetaMixture | NormalMixture) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return (mix.a, mix.b) if isinstance(mix, BetaMixture) else (mix.means, mix.sds)


def local_information(mix: BetaMixture | NormalMixture, x: float) -> float:
    """-(log p)''(x): (sum_k r_k g_k)^2 - sum_k r_k (h_k + g_k^2), r_k the responsibilities,
    g_k and h_k the first and second derivatives of each component's log density."""
    w, p1, p2 = (np.asarray(v) for v in (mix.weights, *_fields(mix)))
    if isinstance(mix, BetaMixture):
        eps = np.finfo(float).eps
        x = min(max(x, eps), 1 - eps)
        lf = np.log(w) + stats.beta.logpdf(x, p1, p2)
        g = (p1 - 1) / x - (p2 - 1) / (1 - x)
        h = -(p1 - 1) / x**2 - (p2 - 1) / (1 - x) ** 2
    else:
        lf = np.log(w) + stats.norm.logpdf(x, p1, p2)
        g = -(x - p1) / p2**2
        h = -(p2**-2.0)
    r = np.exp(lf - np.logaddexp.reduce(lf))
    return float((r @ g) ** 2 - r @ (h + g**2))


def beta_morita(mix: BetaMixture, s: float = MORITA_S) -> float:
    """Morita's ESS of a Beta mixture in patients (RBesT's variant, evaluated at the mode)."""
    t0 = mixture_mode(mix)
    info_prior = local_information(mix, t0)
    a0, b0 = t0 / s, (1 - t0) / s
    info_flat = (a0 - 1) / t0**2 + (b0 - 1) / (1 - t0) ** 2  # -(log Beta(a0, b0))'' at t0
    p0 = 1 - mix.mean()  # prior predictive P(no response) of one patient
    e_info = p0 / (1 - t0) ** 2 + (1 - p0) / t0**2
    return (info_prior - info_flat) / e_info


def normal_morita(mix: NormalMixture, sigma: float, s: float = MORITA_S) -> float:
    """Morita's ESS of a normal mixture in observations of SD `sigma` (RBesT's variant)."""
    t0 = mixture_mode(mix)
    info_flat = 1 / (s * max(mix.sds) ** 2)
    return (local_information(mix, t0) - info_flat) * sigma**2


def ess_all(mix: BetaMixture | NormalMixture, sigma: float | None = None) -> dict[str, float]:
    """{'elir', 'moment', 'morita'} -> ESS; NaN where a method is undefined (ELIR of a Beta
    with a shape below 1). `sigma` (normal mixtures only): the SD of one observation."""
    out: dict[str, float] = {}
    if isinstance(mix, BetaMixture):
        try:
            out["elir"] = mix.ess("elir")
        except ValueError:  # a shape below 1: the ELIR integral diverges
            out["elir"] = math.nan
        out["moment"] = mix.ess("moment")
        out["morita"] = beta_morita(mix)
        return out
    if sigma is None:
        raise ValueError("a normal mixture's ESS needs the SD of one observation (sigma)")
    out["elir"] = mix.ess(sigma)
    out["moment"] = sigma**2 / mix.var()
    out["morita"] = normal_morita(mix, sigma)
    return out
