"""The tipping point in words: the weakest prior in the grid that reverses the data-only
conclusion, whether such a prior is plausible, and one sentence per endpoint."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayes_btc.decisions.tipping import control_prior, standard_grid, tipping_table
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.priors.mixdiff import beta_diff_above


def _prior_only(info: dict, location: float, strength: float) -> float:
    """The prior's own P(NI), before the trial's data."""
    if info["scale"] == "log_hr":
        return float(stats.norm.cdf((math.log(info["margin"]) - math.log(location)) / strength))
    a, b = info["treatment_prior"]
    a0, b0 = control_prior(np.array([location]), np.array([strength]))
    above = float(beta_diff_above(a, b, a0, b0, info["margin"])[0])
    return above if info["direction"] == ">" else 1.0 - above


def _conflict_p(info: dict, location: float, strength: float) -> float:
    """Two-sided prior-predictive p-value of the trial's own estimate under the prior."""
    if info["scale"] == "log_hr":
        z = abs(info["y"] - math.log(location)) / math.hypot(strength, info["se"])
        return float(2 * stats.norm.sf(z))
    k, m = info["events"][1], info["n"][1]
    a0, b0 = control_prior(location, strength)
    pred = stats.betabinom(m, a0, b0)
    return float(min(1.0, 2 * min(pred.cdf(k), pred.sf(k - 1))))


def _information_ratio(info: dict, strength: float) -> float:
    """Prior information relative to the trial's: (SE / prior SD)^2 or n0 / n_control."""
    if info["scale"] == "log_hr":
        return (info["se"] / strength) ** 2
    return strength / info["n"][1]


def weakest_flip(
    table: pd.DataFrame,
    threshold: float | None = None,
    endpoint: str | None = None,
    reference: float | None = None,
    info: dict | None = None,
) -> dict[str, Any]:
    """The weakest prior in the grid that reverses the vague-prior conclusion.

    If the reference probability (by default the one kept with the table: flat prior on the
    log-HR, the plan's rate prior on both arms) falls short of `threshold`, the weakest prior
    giving P(NI) >= threshold; if it reaches it, the weakest prior taking P(NI) below it.
    Weakest means the largest prior SD (log-HR) or the fewest pseudo-patients (control rate);
    among equally weak priors, the one centred nearest the trial's estimate. Returns a dict:
    found (False when no prior in the grid reverses it), prior_location, prior_strength, its
    posterior `probability`, the prior's own P(NI) (`prior_probability`), its information
    relative to the trial's (`information_ratio`: (SE / SD)^2 or n0 / control-arm n), the
    prior-predictive p-value of the trial's estimate (`conflict_p`), for the log-HR the same
    search among priors centred on HR 1 (`at_no_difference`), and `text` in plain words."""
    d, info = standard_grid(table, endpoint, info)
    threshold = float(info["threshold"] if threshold is None else threshold)
    ref = float(info["reference_probability"] if reference is None else reference)
    ref_ni = ref >= threshold
    cand = d[(d["probability"] >= threshold) != ref_ni]
    out: dict[str, Any] = {
        "endpoint": info["endpoint"],
        "scale": info["scale"],
        "threshold": threshold,
        "reference_probability": ref,
        "reference_non_inferior": ref_ni,
        "change": "removes non-inferiority" if ref_ni else "gives non-inferiority",
        "found": not cand.empty,
        "grid": {
            "location": (float(d["location"].min()), float(d["location"].max())),
            "strength": (float(d["strength"].min()), float(d["strength"].max())),
        },
        "prior_location": None,
        "prior_strength": None,
        "probability": None,
        "prior_probability": None,
        "information_ratio": None,
        "conflict_p": None,
        "at_no_difference": None,
    }
    if not cand.empty:
        best = _weakest(cand, info)
        loc, strength = float(best["location"]), float(best["strength"])
        proper = strength > 0  # n0 = 0: no prior on the control rate, nothing to judge
        out |= {
            "prior_location": loc,
            "prior_strength": strength,
            "probability": float(best["probability"]),
            "prior_probability": _prior_only(info, loc, strength) if proper else None,
            "information_ratio": _information_ratio(info, strength),
            "conflict_p": _conflict_p(info, loc, strength) if proper else None,
        }
    if info["scale"] == "log_hr":
        locations = d["location"].unique()
        null = float(locations[np.argmin(np.abs(np.log(locations)))])
        if abs(math.log(null)) < 0.05:  # the grid has a prior centred on (about) HR 1
            sub = cand[cand["location"] == null]
            row = _weakest(sub, info) if not sub.empty else None
            out["at_no_difference"] = {
                "prior_location": null,
                "prior_strength": None if row is None else float(row["strength"]),
                "probability": None if row is None else float(row["probability"]),
            }
    out["text"] = _flip_text(out, info)
    return out


def _weakest(cand: pd.DataFrame, info: dict) -> pd.Series:
    if info["scale"] == "log_hr":
        tied = cand[cand["strength"] == cand["strength"].max()]
        gap = (np.log(tied["location"]) - math.log(info["estimate"])).abs()
    else:
        tied = cand[cand["strength"] == cand["strength"].min()]
        gap = (tied["location"] - info["estimate"]).abs()
    return tied.loc[gap.idxmin()]


def quantity_label(info: dict) -> str:
    t, c = info["arms"]
    if info["scale"] == "log_hr":
        return f"P(HR < {info['margin']:g})"
    return f"P({t} - {c} rate difference {info['direction']} {info['margin']:+.2f})"


def _prior_words(info: dict, loc: float, strength: float) -> str:
    if info["scale"] == "log_hr":
        return f"a prior on the HR centred at {loc:.2f} with SD {strength:.2f} on the log scale"
    c = info["arms"][1]
    if strength == 0:
        return f"no prior information on the {c} rate at all (the Beta(0, 0) limit)"
    a0, b0 = control_prior(loc, strength)
    return (
        f"a prior on the {c} rate centred at {loc:.2f} worth {strength:.3g} patients "
        f"(Beta({a0:.3g}, {b0:.3g}))"
    )


def _reference_words(info: dict) -> str:
    t, c = info["arms"]
    if info["scale"] == "log_hr":
        return (
            f"from the trial alone (flat prior; published HR {info['estimate']:.2f}, SE "
            f"{info['se']:.2f} on the log scale)"
        )
    (k1, k0), (n1, n0) = info["events"], info["n"]
    a, b = info["treatment_prior"]
    return f"with the plan's Beta({a:g}, {b:g}) prior on both arms ({t} {k1}/{n1}, {c} {k0}/{n0})"


def _judgement(out: dict, info: dict) -> str:
    """Plain-words plausibility of the tipping prior: its weight against the trial's, whether
    the trial's estimate would surprise it, and whether it decides the question on its own."""
    t, c = info["arms"]
    gain = not out["reference_non_inferior"]
    mood = "optimistic" if gain else "pessimistic"
    r, cp, pp = out["information_ratio"], out["conflict_p"], out["prior_probability"]
    threshold = out["threshold"]
    decides = pp >= threshold if gain else pp <= 1 - threshold
    if info["scale"] == "log_hr":
        weight = (
            f"it carries {r:.2g} times the information of the trial's own estimate (prior SD "
            f"{out['prior_strength']:.2f} against the trial's SE {info['se']:.2f})"
        )
        seen = f"the published HR {info['estimate']:.2f}"
    else:
        weight = (
            f"it is worth {r:.2g} times the {info['n'][1]} patients of the {c} arm "
            f"({out['prior_strength']:.3g} pseudo-patients)"
        )
        seen = f"the observed {c} rate ({info['events'][1]}/{info['n'][1]})"
    surprise = "would be surprising" if cp < 0.05 else "would not be surprising"
    p_text = f"p = {cp:.3f}" if cp >= 0.001 else "p < 0.001"
    facts = [weight, f"{seen} {surprise} under it (prior-predictive {p_text})"]
    if decides:
        facts.append("it would reach that conclusion on its own, before any data")
    if r >= 1 or decides:
        head = f"such a prior is far more {mood} about {t} than the trial's own data"
    elif cp < 0.05:
        head = f"such a prior is weak but at odds with the trial's own data ({mood} about {t})"
    elif r >= 0.25:
        head = (
            f"such a prior is more {mood} about {t} than the trial's data and would need "
            "external evidence of comparable weight"
        )
    else:
        head = "a weak prior that fits the data is enough, so the conclusion is fragile"
    return f"{head}: " + "; ".join(facts)


def format_probability(p: float, threshold: float) -> str:
    """A probability to 3 decimals, or more if that would print it as the threshold."""
    for digits in range(3, 7):
        text = f"{p:.{digits}f}"
        if float(text) != threshold:
            return text
    return text


def _flip_text(out: dict, info: dict) -> str:
    q, thr = quantity_label(info), out["threshold"]
    noun = info.get("claim_noun", "non-inferiority")
    ref_ni = out["reference_non_inferior"]
    start = (
        f"{q} = {format_probability(out['reference_probability'], thr)} {_reference_words(info)}"
    )
    start += f", at or above the threshold {thr:g}" if ref_ni else f", short of {thr:g}"
    if not out["found"]:
        g = out["grid"]
        if info["scale"] == "log_hr":
            where = (
                f"centred at HR {g['location'][0]:.2f}-{g['location'][1]:.2f} with SD "
                f"{g['strength'][0]:.2f}-{g['strength'][1]:.2f} on the log scale"
            )
        else:
            where = (
                f"centred at {info['arms'][1]} rates {g['location'][0]:.2f}-"
                f"{g['location'][1]:.2f} worth up to {g['strength'][1]:.3g} patients"
            )
        if ref_ni:
            return f"{start}; no prior in the grid ({where}) removes {noun}: it is robust"
        return f"{start}; no prior in the grid ({where}) gives {noun}"
    prior = _prior_words(info, out["prior_location"], out["prior_strength"])
    post = f"posterior {q} = {format_probability(out['probability'], thr)}"
    if info["scale"] == "control_rate" and out["prior_strength"] <= info["reference_strength"]:
        verb = f"already removes {noun}" if ref_ni else f"already gives {noun}"
        return (
            f"{start}; {prior} {verb} ({post}), so the conclusion turns on the choice of vague "
            "prior and is fragile"
        )
    need = f"removing {noun}" if ref_ni else noun
    bound = "or stronger" if info["scale"] == "log_hr" else "or more"
    text = (
        f"{start}; {need} would need {prior} {bound} ({post}; the prior alone gives "
        f"{out['prior_probability']:.3f})"
    )
    null = out["at_no_difference"]
    if null is not None:
        if null["prior_strength"] is None:
            text += "; no prior in the grid centred on no difference (HR 1) does it"
        else:
            text += (
                f"; centred on no difference (HR 1) it would need SD "
                f"{null['prior_strength']:.2f} or less"
            )
    return f"{text}; {_judgement(out, info)}"


def tipping_sentences(
    spec: TrialSpec, plan: Plan, counts: dict, table: pd.DataFrame | None = None
) -> list[str]:
    """One plain-words sentence per endpoint: the weakest prior that reverses the data-only
    conclusion and whether such a prior is plausible (all numbers computed)."""
    table = tipping_table(spec, plan, counts) if table is None else table
    sentences = []
    for name in dict.fromkeys(table["endpoint"]):
        flip = weakest_flip(table, plan.decision_threshold, endpoint=name)
        sentences.append(f"{name}: {flip['text']}.")
    return sentences
