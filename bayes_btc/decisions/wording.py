"""Decisions in plain words: one sentence per fit and rule."""

from __future__ import annotations

from bayes_btc.decisions.rules import Rule, decide


def describe(
    endpoint: str,
    label: str,
    model: str,
    prior: str,
    rule: Rule,
    p: float,
    threshold: float,
    treatment: str,
    control: str,
    *,
    mcse: float | None = None,
    exact: float | None = None,
    draws: str = "MCMC",
) -> str:
    """One sentence stating the decision in plain words.

    The decision uses the exact posterior probability when the model has one (`draws` says
    how its draws estimate it: "MCMC" or "exact draws") and otherwise the MCMC value, flagged
    as borderline when within 2 MCSE of the threshold.
    """
    target = {
        "hr": f"the hazard ratio {treatment} vs {control} is below {rule.margin:g}",
        "rmst_diff": f"the RMST difference {treatment} - {control} is above {rule.margin:g} months",
        "rate_diff": rate_target(rule, treatment, control),
    }[rule.quantity]
    basis = p if exact is None else exact
    noun = "superiority" if rule.claim == "superior" else "non-inferiority"
    verdict = (
        f"{noun} IS shown (P >= {threshold:g})"
        if decide(basis, threshold)
        else f"{noun} is NOT shown (P < {threshold:g})"
    )
    value = f"{p:.3f}" if exact is None else f"{exact:.4f} (exact; {draws} {p:.4f})"
    caveat = ""
    if exact is None and mcse is not None and abs(p - threshold) < 2 * mcse:
        caveat = " Borderline: within 2 Monte Carlo SEs of the threshold."
    return (
        f"{endpoint} ({label}), {model}, {prior} prior: the posterior probability that "
        f"{target} is {value}; {verdict}.{caveat}"
    )


def rate_target(rule: Rule, treatment: str, control: str) -> str:
    """What a rate-difference rule asks, in words: 'at most x points below' (NI, efficacy),
    'at least x points above' (superiority, efficacy), and the mirror images for harm."""
    pts = f"{abs(rule.margin) * 100:g} points"
    if rule.margin == 0:
        side = "above" if rule.direction == ">" else "below"
        return f"{treatment}'s rate is {side} {control}'s"
    if rule.direction == ">":
        return (
            f"{treatment}'s rate is at least {pts} above {control}'s"
            if rule.margin > 0
            else f"{treatment}'s rate is at most {pts} below {control}'s"
        )
    return (
        f"{treatment}'s rate is at least {pts} below {control}'s"
        if rule.margin < 0
        else f"{treatment}'s rate is at most {pts} above {control}'s"
    )
