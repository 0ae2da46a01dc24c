"""Mixture priors (Beta on a rate in (0, 1), Normal on a log-HR or log median) for robust and
historical priors, with exact conjugate updates (references for the MCMC fits) and the ELIR
effective sample size of Neuenschwander, Weber, Schmidli and O'Hagan (2020, Biometrics
76:578-587): in patients for a rate, in observations of SD `sigma` on a log scale."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize, stats
from scipy.special import betaln, log_expit, logit, logsumexp, softmax

_QUAD = {"epsabs": 1e-12, "epsrel": 1e-10, "limit": 200}
_PANEL_SDS = np.array([0, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12.0])
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


class _Mixture:
    """Shared machinery; a subclass names its family and its two parameter fields."""

    weights: tuple[float, ...]
    _family: ClassVar[stats.rv_continuous]
    _fields: ClassVar[tuple[str, str]]
    _positive: ClassVar[tuple[str, ...]] = ("a", "b", "sds")  # fields that must be > 0
    _label: ClassVar[str]
    _bracket: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __post_init__(self) -> None:
        names = ("weights", *self._fields)
        w, p1, p2 = (np.asarray(getattr(self, n), dtype=float) for n in names)
        if not (w.ndim == p1.ndim == p2.ndim == 1 and len(w) == len(p1) == len(p2) >= 1):
            raise ValueError(f"{', '.join(names)} must be non-empty and of equal length")
        if not np.all(np.isfinite(np.concatenate([w, p1, p2]))):
            raise ValueError("mixture parameters must be finite")
        if np.any(w <= 0):
            raise ValueError(f"mixture weights must be > 0, got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"mixture weights must sum to 1, got {w.sum():.10g}")
        for name, v in zip(self._fields, (p1, p2), strict=True):
            if name in self._positive and np.any(v <= 0):
                raise ValueError(f"{name} must be > 0, got {v.tolist()}")
        for name, v in zip(names, (w / w.sum(), p1, p2), strict=True):
            object.__setattr__(self, name, tuple(float(x) for x in v))

    def _params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, p1, p2 = (np.asarray(getattr(self, n)) for n in ("weights", *self._fields))
        return w, p1, p2

    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def logpdf(self, x: ArrayLike) -> np.ndarray:
        """Log density at x, vectorised (-inf outside the support)."""
        w, p1, p2 = self._params()
        xs = np.asarray(x, dtype=float)[..., None]
        return np.asarray(logsumexp(np.log(w) + self._family.logpdf(xs, p1, p2), axis=-1))

    def pdf(self, x: ArrayLike) -> np.ndarray:
        """Density at x, vectorised."""
        return np.exp(self.logpdf(x))

    def cdf(self, x: ArrayLike) -> np.ndarray:
        """P(X <= x), vectorised."""
        w, p1, p2 = self._params()
        xs = np.asarray(x, dtype=float)[..., None]
        return np.asarray(np.sum(w * self._family.cdf(xs, p1, p2), axis=-1))

    def mean(self) -> float:
        return float(np.dot(self._params()[0], self._moments()[0]))

    def var(self) -> float:
        """Law of total variance: E[v_k + m_k^2] - mean^2."""
        m, v = self._moments()
        return float(np.dot(self._params()[0], v + m**2) - self.mean() ** 2)

    def sd(self) -> float:
        return math.sqrt(self.var())

    def quantile(self, q: ArrayLike) -> np.ndarray:
        """Inverse cdf by root finding, vectorised over q in [0, 1]."""
        qs = np.asarray(q, dtype=float)
        if np.any(np.isnan(qs) | (qs < 0) | (qs > 1)):
            raise ValueError("quantile levels must be in [0, 1]")
        m, v = self._moments()
        lo = max(self._bracket[0], float(np.min(m - 40 * np.sqrt(v))))
        hi = min(self._bracket[1], float(np.max(m + 40 * np.sqrt(v))))

        def one(p: float) -> float:
            if p <= 0 or p >= 1:
                return self._bracket[0] if p <= 0 else self._bracket[1]
            f = lambda x: float(self.cdf(x)) - p  # noqa: E731
            return optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500)

        return np.vectorize(one, otypes=[float])(qs)

    def padded(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights, p1, p2) of length k for the same distribution, for batched models.

        The last component is repeated and its weight split equally over the copies, so no
        weight is 0 (log 0 would appear in a mixture log density)."""
        w, p1, p2 = self._params()
        if k < len(w):
            raise ValueError(f"cannot pad {len(w)} components to {k}")
        extra = k - len(w)
        w = np.concatenate([w[:-1], np.full(extra + 1, w[-1] / (extra + 1))])
        return w, np.append(p1, np.full(extra, p1[-1])), np.append(p2, np.full(extra, p2[-1]))

    def describe(self, digits: int = 3) -> str:
        """E.g. '0.8 x Beta(12.1, 38.2) + 0.2 x Beta(1, 1)'; one component without weight."""
        w, p1, p2 = self._params()
        g = f"{{:.{digits}g}}".format
        parts = [f"{self._label}({g(x)}, {g(y)})" for x, y in zip(p1, p2, strict=True)]
        if len(parts) == 1:
            return parts[0]
        return " + ".join(f"{g(wk)} x {p}" for wk, p in zip(w, parts, strict=True))

    def _mix_with(self, weight: float, vague: Self) -> Self:
        """(1 - weight) * self + weight * vague."""
        if not 0 < weight < 1:
            raise ValueError(f"robust weight must be in (0, 1), got {weight}")
        if type(vague) is not type(self):
            raise ValueError(f"vague component must be a {type(self).__name__}")
        (w, p1, p2), (vw, v1, v2) = self._params(), vague._params()
        parts = ((1 - weight) * w, weight * vw), (p1, v1), (p2, v2)
        return type(self)(*(tuple(np.concatenate(x)) for x in parts))

    def _reweighted(self, log_w: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> Self:
        """Mixture from unnormalised log weights, dropping components that underflow to 0."""
        w = np.exp(log_w - logsumexp(log_w))
        keep = w > 0
        return type(self)(tuple(w[keep] / w[keep].sum()), tuple(p1[keep]), tuple(p2[keep]))


@dataclass(frozen=True)
class BetaMixture(_Mixture):
    """Mixture of Beta distributions on a rate (0, 1): sum_k w_k Beta(a_k, b_k)."""

    weights: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    _family: ClassVar[stats.rv_continuous] = stats.beta
    _fields: ClassVar[tuple[str, str]] = ("a", "b")
    _label: ClassVar[str] = "Beta"

    @classmethod
    def single(cls, a: float, b: float) -> BetaMixture:
        return cls((1.0,), (a,), (b,))

    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        _, a, b = self._params()
        return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))

    def posterior(self, events: int, n: int) -> BetaMixture:
        """Exact update with `events` of `n` (binomial): weights by marginal likelihoods."""
        if not 0 <= events <= n:
            raise ValueError(f"need 0 <= events <= n, got {events} of {n}")
        w, a, b = self._params()
        a1, b1 = a + events, b + n - events
        return self._reweighted(np.log(w) + betaln(a1, b1) - betaln(a, b), a1, b1)

    def robustify(self, weight: float, vague: BetaMixture | None = None) -> BetaMixture:
        """(1 - weight) * self + weight * vague, vague Beta(1, 1) by default."""
        return self._mix_with(weight, vague if vague is not None else BetaMixture.single(1, 1))

    def ess(self, method: Literal["elir", "moment"] = "elir") -> float:
        """Effective sample size in patients, as RBesT's `ess()` defines it.

        "moment": a + b of the Beta with the mixture's mean m and variance v, m(1-m)/v - 1.
        "elir": E_p[i_p(t) t(1-t)] with i_p = -(log p)'' and 1/(t(1-t)) the binomial Fisher
        information (Neuenschwander et al. 2020). Computed integrated by parts as
        2 - p(0) - p(1) + E_p[((log p)'(t))^2 t(1-t)] (positive integrand, no cancellation):
        the density at the ends, finite when every shape is >= 1, is non-zero only for a
        component with a shape of exactly 1. Beta(a, b) with a, b > 1 gives a + b; a flat
        Beta(1, 1) carries no curvature and gives 0, so a 0.2 Beta(1, 1) component adds
        nothing. Shapes below 1: ELIR diverges. Morita's ESS: `priors.ess`.
        """
        if method == "moment":
            m, v = self.mean(), self.var()
            return m * (1 - m) / v - 1
        if method != "elir":
            raise ValueError(f"unknown ESS method {method!r}")
        w, a, b = self._params()
        if np.any(a < 1) or np.any(b < 1):
            raise ValueError("ELIR ESS diverges when a Beta shape parameter is below 1")
        lw, lnorm = np.log(w), betaln(a, b)

        am1, bm1, const = a - 1, b - 1, lw - lnorm

        def integrand(u: float, k: int) -> float:  # logit scale u, t = expit(u), dt = t(1-t) du
            lt, l1t = log_expit(u), log_expit(-u)
            lf = const + am1 * lt + bm1 * l1t  # log(w_k f_k(t))
            e = np.exp(lf - lf.max())  # softmax(lf) = e / sum(e), without its call overhead
            score = (e @ (am1 * math.exp(l1t) - bm1 * math.exp(lt))) / e.sum()
            return math.exp(lf[k]) * score**2  # score = (log p)'(t) t(1-t)

        ends = float(np.sum(w * np.where(a == 1, b, 0.0)) + np.sum(w * np.where(b == 1, a, 0.0)))
        total = 2.0 - ends  # p(0) + p(1): Beta(1, b) has density b at 0, Beta(a, 1) a at 1
        for k in range(len(w)):
            inner = stats.beta.ppf([1e-6, 0.5, 1 - 1e-6], a[k], b[k])
            cuts = [-np.inf, *np.unique(logit(np.clip(inner, 1e-300, 1 - 1e-16))), np.inf]
            for left, right in itertools.pairwise(cuts):
                total += integrate.quad(integrand, left, right, args=(k,), **_QUAD)[0]
        return float(total)


@dataclass(frozen=True)
class NormalMixture(_Mixture):
    """Mixture of normals, e.g. on a log-HR or a log median: sum_k w_k Normal(mean_k, sd_k)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]
    _family: ClassVar[stats.rv_continuous] = stats.norm
    _fields: ClassVar[tuple[str, str]] = ("means", "sds")
    _label: ClassVar[str] = "N"
    _bracket: ClassVar[tuple[float, float]] = (-np.inf, np.inf)

    @classmethod
    def single(cls, mean: float, sd: float) -> NormalMixture:
        return cls((1.0,), (mean,), (sd,))

    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        _, m, s = self._params()
        return m, s**2

    def posterior(self, y: float, se: float) -> NormalMixture:
        """Exact update with one observation y ~ Normal(theta, se), same scale as the prior."""
        if not se > 0:
            raise ValueError(f"se must be > 0, got {se}")
        w, m, s = self._params()
        prec = s**-2 + se**-2
        log_w = np.log(w) + stats.norm.logpdf(y, m, np.sqrt(s**2 + se**2))
        return self._reweighted(log_w, (m * s**-2 + y * se**-2) / prec, prec**-0.5)

    def robustify(self, weight: float, vague: NormalMixture) -> NormalMixture:
        """(1 - weight) * self + weight * vague."""
        return self._mix_with(weight, vague)

    def ess(self, sigma: float) -> float:
        """ELIR ESS in observations of SD `sigma` (e.g. 1 on a log-hazard scale: ~ events).

        sigma^2 * E_p[-(log p)''], where -(log p)'' = sum_k r_k (1/s_k^2 - g_k^2) + (sum_k r_k
        g_k)^2, r_k the component responsibilities and g_k = -(t - m_k)/s_k^2."""
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        w, m, s = self._params()
        # panels: each component's mean +- the multiples of its SD in _PANEL_SDS (their union),
        # Gauss-Legendre nodes on each; the integrand is smooth on a component's scale
        edges = np.unique(m[:, None] + np.outer(s, np.r_[-_PANEL_SDS, _PANEL_SDS]))
        half, mid = np.diff(edges) / 2, (edges[1:] + edges[:-1]) / 2
        t = (mid[:, None] + half[:, None] * _GL_NODES).ravel()
        lf = np.log(w) + stats.norm.logpdf(t[:, None], m, s)  # (nodes, K)
        r, g = softmax(lf, axis=1), -(t[:, None] - m) / s**2
        info = np.sum(r * (s**-2 - g**2), axis=1) + np.sum(r * g, axis=1) ** 2
        dens = np.exp(logsumexp(lf, axis=1))
        return float(sigma**2 * np.sum((half[:, None] * _GL_WEIGHTS).ravel() * dens * info))


def prob_normal_mixture_below(mix: NormalMixture, bound: float) -> float:
    """P(X < bound) = sum_k w_k Phi((bound - m_k) / s_k)."""
    return float(mix.cdf(bound))
