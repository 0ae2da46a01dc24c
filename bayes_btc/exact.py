"""Exact posterior probabilities for the conjugate models, the reference for the MCMC fits.

Normal prior with a normal likelihood on the log-HR gives a normal posterior; Beta priors
with binomial data give Beta posteriors, and P(rate_T - rate_C > m) is a one-dimensional
integral computed by adaptive quadrature. Mixture priors stay conjugate: the posterior is a
mixture of the components' posteriors with updated weights, and a probability is the weighted
sum over (pairs of) components.
"""

from __future__ import annotations

import math

from scipy import integrate, stats

from bayes_btc.decisions import Rule
from bayes_btc.mixtures import BetaMixture, NormalMixture, prob_normal_mixture_below
from bayes_btc.posterior import Fit


def normal_posterior(
    prior_mean: float, prior_sd: float, y: float, se: float
) -> tuple[float, float]:
    """Posterior (mean, sd) of a normal mean with a Normal prior and one Normal observation."""
    w0, w1 = prior_sd**-2, se**-2
    return (w0 * prior_mean + w1 * y) / (w0 + w1), (w0 + w1) ** -0.5


def prob_normal_below(mean: float, sd: float, bound: float) -> float:
    """P(X < bound) for X ~ Normal(mean, sd)."""
    return float(stats.norm.cdf(bound, mean, sd))


def prob_hr_below(prior: tuple[float, float], log_hr: float, se: float, margin_hr: float) -> float:
    """Exact posterior P(HR < margin_hr) under the summary-level log-HR model."""
    mean, sd = normal_posterior(prior[0], prior[1], log_hr, se)
    return prob_normal_below(mean, sd, math.log(margin_hr))


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


def prob_rate_diff(
    events: tuple[int, int],
    n: tuple[int, int],
    prior: tuple[float, float],
    margin: float,
    direction: str,
) -> float:
    """Exact posterior P(rate_T - rate_C `direction` margin), Beta prior on each arm."""
    a, b = prior
    above = prob_beta_diff_above(
        a + events[0], b + n[0] - events[0], a + events[1], b + n[1] - events[1], margin
    )
    return above if direction == ">" else 1.0 - above


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


def prob_rate_diff_mixture(
    events: tuple[int, int],
    n: tuple[int, int],
    priors: tuple[BetaMixture, BetaMixture],
    margin: float,
    direction: str,
) -> float:
    """Exact posterior P(rate_T - rate_C `direction` margin) under Beta-mixture priors per arm
    (treatment, control): each arm's posterior is the conjugate mixture update."""
    post_t = priors[0].posterior(events[0], n[0])
    post_c = priors[1].posterior(events[1], n[1])
    above = prob_mixture_diff_above(post_t, post_c, margin)
    return above if direction == ">" else 1.0 - above


def prob_hr_below_mixture(
    prior: NormalMixture, log_hr: float, se: float, margin_hr: float
) -> float:
    """Exact posterior P(HR < margin_hr) under a normal-mixture prior on the log-HR."""
    return prob_normal_mixture_below(prior.posterior(log_hr, se), math.log(margin_hr))


def exact_probability(fit: Fit, rule: Rule) -> float:
    """Exact posterior probability of `rule` for a conjugate fit, from the fit's own inputs."""
    i = fit.inputs
    if rule.quantity == "hr" and "log_hr" in fit.priors:
        prior = fit.priors["log_hr"]
        assert isinstance(prior, NormalMixture)
        below = prob_hr_below_mixture(prior, i["y"], i["se"], rule.margin)
        return below if rule.direction == "<" else 1.0 - below
    if rule.quantity == "rate_diff" and len(fit.priors) == 2:
        t, c = fit.priors.values()
        assert isinstance(t, BetaMixture) and isinstance(c, BetaMixture)
        events = (int(i["events_0"]), int(i["events_1"]))
        n = (int(i["n_0"]), int(i["n_1"]))
        return prob_rate_diff_mixture(events, n, (t, c), rule.margin, rule.direction)
    if rule.quantity == "hr":
        below = prob_hr_below((i["prior_mean"], i["prior_sd"]), i["y"], i["se"], rule.margin)
        return below if rule.direction == "<" else 1.0 - below
    if rule.quantity == "rate_diff":
        events = (int(i["events_0"]), int(i["events_1"]))
        n = (int(i["n_0"]), int(i["n_1"]))
        return prob_rate_diff(events, n, (i["prior_a"], i["prior_b"]), rule.margin, rule.direction)
    raise ValueError(f"no exact reference for quantity {rule.quantity!r} in model {fit.model}")
