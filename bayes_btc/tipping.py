"""Tipping-point analysis: how strong a prior would have to be to change the NI conclusion.

Everything is computed from the conjugate closed forms, vectorised over a grid of priors, so
the whole analysis costs well under a second (no MCMC):

- survival (summary-level log-HR model, HR as printed): a Normal(log(prior mean HR), prior SD)
  prior on the log-HR and the published log-HR ~ Normal(log-HR, SE) give a normal posterior;
  P(HR < margin) over a grid of prior means (HR scale) and prior SDs (log-HR scale);
- rates (beta-binomial): a Beta(m0 * n0, (1 - m0) * n0) prior on the CONTROL rate (prior mean
  m0, worth n0 pseudo-patients; n0 = 0 is the Haldane limit, the control arm's data alone)
  with the plan's first rate prior on the treatment arm; P(rate_T - rate_C > margin), or
  < margin for a harm, over a grid of (m0, n0). The plan's prior Beta(a, b) is itself the
  grid point m0 = a / (a + b), n0 = a + b.

P(X - Y > m) for independent Betas is the integral of f_X(x) F_Y(x - m), taken here by a fixed
tanh-sinh rule in x (robust to the endpoint singularities of Beta densities with a parameter
below 1), with the regularised incomplete beta function evaluated for all control priors at
once. It agrees with `exact.prob_beta_diff_above` (adaptive quadrature) to about 1e-8.

The reference conclusion is the one the main analysis reports under a vague prior: the
flat-prior limit for the log-HR, and the plan's first rate prior on both arms for the rates.
`weakest_flip` finds the weakest prior in the grid (largest prior SD, or fewest
pseudo-patients) that reverses it, and `tipping_sentences` says in plain words whether such a
prior is plausible. The rate grid starts at n0 = 0, below the plan's own prior (n0 = a + b),
so an endpoint whose conclusion turns on the choice of vague prior is reported as fragile.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import contourpy
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects, ticker
from scipy import special, stats

from bayes_btc.audit import se_from_ci
from bayes_btc.figures import _log_hr_axis
from bayes_btc.plan import Plan
from bayes_btc.trial import TrialSpec

CSV_NAME = "tipping_point.csv"
COLUMNS = ["endpoint", "scale", "prior_location", "prior_strength", "probability", "non_inferior"]
LOGHR_COLUMNS = ["prior_mean_hr", "prior_sd", "probability", "non_inferior"]
RATE_COLUMNS = ["prior_mean_control", "prior_n_control", "probability", "non_inferior"]
FLOAT_FORMAT = "%.6g"


def default_means_hr() -> np.ndarray:
    """Prior mean HRs: 0.5 to 2.0, 41 log-spaced values (HR 1 in the middle)."""
    return np.geomspace(0.5, 2.0, 41)


def default_sds() -> np.ndarray:
    """Prior SDs of the log-HR: 0.05 to 2.0, 40 log-spaced values."""
    return np.geomspace(0.05, 2.0, 40)


def default_means() -> np.ndarray:
    """Prior means of the control rate: 0.05 to 0.95 in steps of 0.025."""
    return np.round(np.linspace(0.05, 0.95, 37), 4)


def default_sizes() -> np.ndarray:
    """Prior pseudo-counts (patients) on the control rate: 0, then 0.5 to 200 log-spaced (60)."""
    return np.concatenate([[0.0], np.geomspace(0.5, 200.0, 60)])


# --- closed forms, vectorised ----------------------------------------------------------------


def loghr_probability(
    prior_mean: np.ndarray, prior_sd: np.ndarray, y: float, se: float, margin_hr: float
) -> np.ndarray:
    """Posterior P(HR < margin_hr) for Normal(prior_mean, prior_sd) priors on the log-HR (both
    arrays broadcast) and the published log-HR y with standard error se."""
    w0 = np.asarray(prior_sd, dtype=float) ** -2
    w1 = se**-2
    mean = (w0 * np.asarray(prior_mean, dtype=float) + w1 * y) / (w0 + w1)
    sd = (w0 + w1) ** -0.5
    return stats.norm.cdf((math.log(margin_hr) - mean) / sd)


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


def beta_diff_above(
    a_t: float, b_t: float, a_c: np.ndarray, b_c: np.ndarray, margin: float
) -> np.ndarray:
    """P(X - Y > margin), X ~ Beta(a_t, b_t) and Y ~ Beta(a_c, b_c) independent, for arrays of
    (a_c, b_c) (broadcast together): the integral of f_X(x) F_Y(x - margin) over the x with
    x - margin in [0, 1], plus P(X > 1 + margin). A parameter of 0 is the limit (point mass)."""
    a_c, b_c = np.broadcast_arrays(np.asarray(a_c, dtype=float), np.asarray(b_c, dtype=float))
    lo, hi = max(0.0, margin), min(1.0, 1.0 + margin)
    if lo >= hi:
        return np.full(a_c.shape, 0.0 if margin >= 1 else 1.0)
    dist, upper, weight = _NODES
    width = hi - lo
    x = np.where(upper > 0, hi - width * dist, lo + width * dist)
    inside = (x > lo) & (x < hi)
    x, weight = x[inside], weight[inside] * width
    fx = stats.beta.pdf(x, a_t, b_t) * weight
    cdf_y = special.betainc(a_c[..., None], b_c[..., None], np.clip(x - margin, 0.0, 1.0))
    p = cdf_y @ fx + stats.beta.sf(hi, a_t, b_t)
    return np.clip(p, 0.0, 1.0)


def _control_prior(mean: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return mean * size, (1.0 - mean) * size


def rate_probability(
    events: tuple[int, int],
    n: tuple[int, int],
    margin: float,
    direction: str,
    treatment_prior: tuple[float, float],
    prior_mean_control: np.ndarray,
    prior_n_control: np.ndarray,
) -> np.ndarray:
    """Posterior P(rate_T - rate_C `direction` margin) with `treatment_prior` on the treatment
    arm and Beta(m0 * n0, (1 - m0) * n0) on the control arm (arrays m0, n0 broadcast);
    events and n are (treatment, control)."""
    _check_direction(direction)
    a, b = treatment_prior
    a0, b0 = _control_prior(np.asarray(prior_mean_control), np.asarray(prior_n_control))
    above = beta_diff_above(
        a + events[0], b + n[0] - events[0], a0 + events[1], b0 + n[1] - events[1], margin
    )
    return above if direction == ">" else 1.0 - above


def _check_direction(direction: str) -> None:
    if direction not in (">", "<"):
        raise ValueError(f"direction must be '>' (efficacy) or '<' (harm), not {direction!r}")


# --- the grids -------------------------------------------------------------------------------


def tipping_loghr(
    y: float,
    se: float,
    margin_hr: float,
    threshold: float,
    means_hr: np.ndarray | None = None,
    sds: np.ndarray | None = None,
) -> pd.DataFrame:
    """Posterior P(HR < margin_hr) over a grid of Normal priors on the log-HR.

    y is the published log-HR (HR as printed) and se its SE. Long table, one row per prior:
    prior_mean_hr (HR scale), prior_sd (log-HR scale), probability, non_inferior (probability
    >= threshold). `attrs` keeps the inputs and the data-only probability (flat prior)."""
    means = default_means_hr() if means_hr is None else np.asarray(means_hr, dtype=float)
    sd = default_sds() if sds is None else np.asarray(sds, dtype=float)
    if not (se > 0 and margin_hr > 0 and 0 < threshold < 1):
        raise ValueError("need se > 0, margin_hr > 0 and 0 < threshold < 1")
    if means.size == 0 or sd.size == 0 or (means <= 0).any() or (sd <= 0).any():
        raise ValueError("prior mean HRs and prior SDs must be non-empty and positive")
    m, s = np.meshgrid(means, sd, indexing="ij")
    p = loghr_probability(np.log(m), s, y, se, margin_hr)
    table = pd.DataFrame(
        {
            "prior_mean_hr": m.ravel(),
            "prior_sd": s.ravel(),
            "probability": p.ravel(),
            "non_inferior": p.ravel() >= threshold,
        }
    )
    table.attrs = {
        "scale": "log_hr",
        "estimate": math.exp(y),
        "y": float(y),
        "se": float(se),
        "margin": float(margin_hr),
        "direction": "<",
        "threshold": float(threshold),
        "reference_probability": float(stats.norm.cdf((math.log(margin_hr) - y) / se)),
    }
    return table


def tipping_rates(
    events: tuple[int, int],
    n: tuple[int, int],
    margin: float,
    direction: str,
    threshold: float,
    treatment_prior: tuple[float, float] = (1.0, 1.0),
    means: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Posterior P(NI) over a grid of Beta priors on the control rate.

    events and n are (treatment, control); NI is rate_T - rate_C > margin (direction '>',
    efficacy) or < margin ('<', harm). The control prior is Beta(m0 * n0, (1 - m0) * n0) with
    m0 in `means` and n0 in `sizes` (n0 = 0: the control data alone); the treatment arm keeps
    `treatment_prior`. Long table: prior_mean_control, prior_n_control, probability,
    non_inferior. `attrs` keeps the inputs and the reference probability: `treatment_prior`
    on both arms (the grid point m0 = a / (a + b), n0 = a + b), as in the main analysis."""
    _check_direction(direction)
    m0 = default_means() if means is None else np.asarray(means, dtype=float)
    n0 = default_sizes() if sizes is None else np.asarray(sizes, dtype=float)
    if m0.size == 0 or n0.size == 0 or (m0 <= 0).any() or (m0 >= 1).any() or (n0 < 0).any():
        raise ValueError("prior means must be in (0, 1) and pseudo-counts >= 0 (non-empty)")
    if not 0 < threshold < 1:
        raise ValueError("threshold must be in (0, 1)")
    for k, m in zip(events, n, strict=True):
        if not 0 <= k <= m or m <= 0:
            raise ValueError(f"events {events} must be within 0..n for n {n}")
    mm, nn = np.meshgrid(m0, n0, indexing="ij")
    args = (events, n, margin, direction, treatment_prior)
    p = rate_probability(*args, mm, nn)
    a, b = treatment_prior
    reference = rate_probability(*args, np.array([a / (a + b)]), np.array([a + b]))[0]
    table = pd.DataFrame(
        {
            "prior_mean_control": mm.ravel(),
            "prior_n_control": nn.ravel(),
            "probability": p.ravel(),
            "non_inferior": p.ravel() >= threshold,
        }
    )
    table.attrs = {
        "scale": "control_rate",
        "estimate": events[1] / n[1],
        "events": tuple(int(k) for k in events),
        "n": tuple(int(m) for m in n),
        "margin": float(margin),
        "direction": direction,
        "threshold": float(threshold),
        "treatment_prior": (float(a), float(b)),
        "reference_probability": float(reference),
        "reference_strength": float(a + b),
    }
    return table


def tipping_table(spec: TrialSpec, plan: Plan, counts: dict) -> pd.DataFrame:
    """The tipping-point grid of every endpoint the plan analyses, one long table.

    Columns: endpoint, scale ('log_hr': prior_location a prior mean HR and prior_strength an
    SD of the log-HR; 'control_rate': prior_location a prior mean control rate and
    prior_strength a pseudo-count in patients), probability (posterior P(NI)), non_inferior.
    `counts` is `audit_trial(spec).counts` (endpoint -> arm -> (events, n)). `attrs` holds each
    endpoint's inputs (for `weakest_flip`, `tipping_sentences` and `heatmap`)."""
    treatment, control = spec.arm_order
    threshold = plan.decision_threshold
    # the treatment arm keeps the plan's first single-Beta rate prior (uniform if none)
    first_rate = next((p.simple_beta for p in plan.priors.rate.values() if p.simple_beta), None)
    first_rate = first_rate or (1.0, 1.0)
    parts, info = [], {}
    for name in plan.select_endpoints([*spec.survival, *spec.binary]):
        if name in spec.survival:
            s = spec.survival[name]
            t = tipping_loghr(
                math.log(s.hr), se_from_ci(*s.ci, s.ci_level), plan.margins.hr, threshold
            )
            loc, strength = t["prior_mean_hr"], t["prior_sd"]
        else:
            if name not in counts:
                raise ValueError(f"no counts for binary endpoint {name!r} (see audit_trial)")
            harm = spec.binary[name].kind == "harm"
            margin = plan.margins.harm_rate_diff if harm else plan.margins.efficacy_rate_diff
            ev, nn = zip(counts[name][treatment], counts[name][control], strict=True)
            t = tipping_rates(ev, nn, margin, "<" if harm else ">", threshold, first_rate)
            loc, strength = t["prior_mean_control"], t["prior_n_control"]
        info[name] = {**t.attrs, "arms": (treatment, control)}
        parts.append(
            pd.DataFrame(
                {
                    "endpoint": name,
                    "scale": t.attrs["scale"],
                    "prior_location": loc,
                    "prior_strength": strength,
                    "probability": t["probability"],
                    "non_inferior": t["non_inferior"],
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)[COLUMNS]
    table.attrs = {"threshold": threshold, "endpoints": info}
    return table


def write_table(table: pd.DataFrame, folder: Path) -> Path:
    """Write the tipping-point table as `tipping_point.csv` in `folder`; returns its path."""
    path = Path(folder) / CSV_NAME
    table.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return path


# --- reading a grid --------------------------------------------------------------------------


def _standard(
    table: pd.DataFrame, endpoint: str | None, info: dict | None = None
) -> tuple[pd.DataFrame, dict]:
    """(location, strength, probability) of one endpoint's grid, and its inputs."""
    if "endpoint" in table.columns:
        names = list(dict.fromkeys(table["endpoint"]))
        if endpoint is None:
            if len(names) != 1:
                raise ValueError(f"the table has several endpoints {names}: name one")
            endpoint = names[0]
        if endpoint not in names:
            raise ValueError(f"endpoint {endpoint!r} not in the table (it has {names})")
        d = table[table["endpoint"] == endpoint]
        d = d.rename(columns={"prior_location": "location", "prior_strength": "strength"})
        info = info or table.attrs.get("endpoints", {}).get(endpoint)
        if info is not None:
            info = {**info, "threshold": info.get("threshold", table.attrs.get("threshold"))}
    elif "prior_mean_hr" in table.columns:
        d = table.rename(columns={"prior_mean_hr": "location", "prior_sd": "strength"})
        info = info or dict(table.attrs)
    elif "prior_mean_control" in table.columns:
        d = table.rename(columns={"prior_mean_control": "location", "prior_n_control": "strength"})
        info = info or dict(table.attrs)
    else:
        raise ValueError("not a tipping-point table")
    if not info or "reference_probability" not in info:
        raise ValueError(
            "the table carries no inputs (attrs); make it with tipping_loghr, tipping_rates or "
            "tipping_table, or pass info="
        )
    info = {"endpoint": endpoint, **info}
    info.setdefault("arms", ("treatment", "control"))
    return d[["location", "strength", "probability"]].reset_index(drop=True), info


def _grid(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(locations, strengths, probability[strength, location]) of a standard long table."""
    z = d.pivot_table(index="strength", columns="location", values="probability")
    return z.columns.to_numpy(float), z.index.to_numpy(float), z.to_numpy(float)


def _prior_only(info: dict, location: float, strength: float) -> float:
    """The prior's own P(NI), before the trial's data."""
    if info["scale"] == "log_hr":
        return float(stats.norm.cdf((math.log(info["margin"]) - math.log(location)) / strength))
    a, b = info["treatment_prior"]
    a0, b0 = _control_prior(np.array([location]), np.array([strength]))
    above = float(beta_diff_above(a, b, a0, b0, info["margin"])[0])
    return above if info["direction"] == ">" else 1.0 - above


def _conflict_p(info: dict, location: float, strength: float) -> float:
    """Two-sided prior-predictive p-value of the trial's own estimate under the prior."""
    if info["scale"] == "log_hr":
        z = abs(info["y"] - math.log(location)) / math.hypot(strength, info["se"])
        return float(2 * stats.norm.sf(z))
    k, m = info["events"][1], info["n"][1]
    a0, b0 = _control_prior(location, strength)
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
    d, info = _standard(table, endpoint, info)
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


# --- plain words -----------------------------------------------------------------------------


def _quantity(info: dict) -> str:
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
    a0, b0 = _control_prior(loc, strength)
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


def _p(p: float, threshold: float) -> str:
    """A probability to 3 decimals, or more if that would print it as the threshold."""
    for digits in range(3, 7):
        text = f"{p:.{digits}f}"
        if float(text) != threshold:
            return text
    return text


def _flip_text(out: dict, info: dict) -> str:
    q, thr = _quantity(info), out["threshold"]
    ref_ni = out["reference_non_inferior"]
    start = f"{q} = {_p(out['reference_probability'], thr)} {_reference_words(info)}"
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
            return f"{start}; no prior in the grid ({where}) removes non-inferiority: it is robust"
        return f"{start}; no prior in the grid ({where}) gives non-inferiority"
    prior = _prior_words(info, out["prior_location"], out["prior_strength"])
    post = f"posterior {q} = {_p(out['probability'], thr)}"
    if info["scale"] == "control_rate" and out["prior_strength"] <= info["reference_strength"]:
        verb = "already removes non-inferiority" if ref_ni else "already gives non-inferiority"
        return (
            f"{start}; {prior} {verb} ({post}), so the conclusion turns on the choice of vague "
            "prior and is fragile"
        )
    need = "removing non-inferiority" if ref_ni else "non-inferiority"
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


# --- figure ----------------------------------------------------------------------------------

# Axis coordinates in which the grid is (about) evenly spaced: log for the HR and its SD,
# log(1 + n0) for the pseudo-count (which starts at 0), plain for the control-rate mean.
_FORWARD = {"log": np.log, "log1p": np.log1p, "linear": np.asarray}
_BACK = {"log": np.exp, "log1p": np.expm1, "linear": np.asarray}


_OUTLINE = [patheffects.withStroke(linewidth=3.2, foreground="black")]


def _axes_kind(info: dict) -> tuple[str, str]:
    return ("log", "log") if info["scale"] == "log_hr" else ("linear", "log1p")


def _edges(v: np.ndarray, kind: str) -> np.ndarray:
    """Cell edges around grid values: midpoints in the axis coordinates of `kind`."""
    w = _FORWARD[kind](np.asarray(v, dtype=float))
    if len(w) == 1:
        e = np.array([w[0] - 0.1, w[0] + 0.1])
    else:
        mid = 0.5 * (w[1:] + w[:-1])
        e = np.concatenate([[2 * w[0] - mid[0]], mid, [2 * w[-1] - mid[-1]]])
    return _BACK[kind](e)


def threshold_contour(
    table: pd.DataFrame, threshold: float | None = None, endpoint: str | None = None
) -> list[np.ndarray]:
    """The P(NI) = threshold line(s) through the grid, as (k, 2) arrays of (prior_location,
    prior_strength), interpolated linearly between grid points in the figure's axis
    coordinates (log HR and log SD; control-rate mean and log(1 + pseudo-count)). Empty if
    the probability never crosses the threshold."""
    d, info = _standard(table, endpoint)
    threshold = float(info["threshold"] if threshold is None else threshold)
    x, y, z = _grid(d)
    if len(x) < 2 or len(y) < 2:
        return []
    kx, ky = _axes_kind(info)
    lines = contourpy.contour_generator(_FORWARD[kx](x), _FORWARD[ky](y), z).lines(threshold)
    return [
        np.column_stack([_BACK[kx](seg[:, 0]), _BACK[ky](seg[:, 1])])
        for seg in lines
        if len(seg) > 1
    ]


def heatmap(
    table: pd.DataFrame,
    endpoint: str,
    threshold: float,
    path: Path,
) -> Path:
    """P(NI) over the prior grid of one endpoint, with the threshold contour drawn and
    labelled, the published estimate marked and the weakest prior that reverses the
    vague-prior conclusion starred. Log-HR: prior mean HR (log x) by prior SD of the log-HR
    (log y); control rate: prior mean control rate by pseudo-count (symmetric-log y, from 0).
    Returns `path`."""
    d, info = _standard(table, endpoint)
    log = info["scale"] == "log_hr"
    kx, ky = _axes_kind(info)
    t, c = info["arms"]
    x, y, z = _grid(d)
    ex, ey = _edges(x, kx), _edges(y, ky)
    fig, ax = plt.subplots(figsize=(7.2, 5.8), dpi=110)
    mesh = ax.pcolormesh(ex, ey, z, cmap="viridis", vmin=0, vmax=1, shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"posterior {_quantity(info)}")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=1.0, linscale=0.5)
    lines = threshold_contour(table, threshold, endpoint)
    for i, seg in enumerate(lines):
        label = None if i else f"P = {threshold:g} (decision threshold)"
        ax.plot(seg[:, 0], seg[:, 1], color="white", lw=1.8, label=label, path_effects=_OUTLINE)
    if lines:
        seg = max(lines, key=len)
        px, py = seg[len(seg) // 2]
        ax.annotate(
            f"P = {threshold:g}",
            (px, py),
            xytext=(4, 4),
            textcoords="offset points",
            color="white",
            fontsize=8,
            fontweight="bold",
            path_effects=[patheffects.withStroke(linewidth=1.6, foreground="black")],
        )
    if log:
        ax.axvline(info["estimate"], color="orange", ls="--", lw=1.2)
        ax.axvline(info["margin"], color="firebrick", ls=":", lw=1.2)
        ax.axhline(info["se"], color="0.85", ls="-.", lw=1.0)
        marks = [
            ("orange", "--", f"published HR {info['estimate']:.2f}"),
            ("firebrick", ":", f"NI margin HR {info['margin']:g}"),
            ("0.85", "-.", f"prior SD = the trial's SE ({info['se']:.2f})"),
        ]
        ax.set(
            xlabel=f"prior mean (centre) of the hazard ratio, {t} vs {c} (log scale)",
            ylabel="prior SD of the log hazard ratio (log scale)",
        )
    else:
        k0, n0 = info["events"][1], info["n"][1]
        ax.axvline(k0 / n0, color="orange", ls="--", lw=1.2)
        ax.axhline(n0, color="0.85", ls="-.", lw=1.0)
        marks = [
            ("orange", "--", f"published {c} rate {k0}/{n0} = {k0 / n0:.2f}"),
            ("0.85", "-.", f"pseudo-count = {c} arm size ({n0} patients)"),
        ]
        ax.set(
            xlabel=f"prior mean of the {c} rate (proportion of patients)",
            ylabel=f"prior pseudo-count on the {c} rate (patients, symlog scale)",
        )
    for colour, ls, label in marks:
        ax.plot([], [], color=colour, ls=ls, label=label)
    flip = weakest_flip(table, threshold, endpoint=endpoint)
    if flip["found"]:
        ax.plot(
            flip["prior_location"],
            flip["prior_strength"],
            "*",
            color="red",
            ms=12,
            mec="white",
            label=f"weakest prior that {flip['change']}",
        )
    ax.set_xlim(ex[0], ex[-1])
    ax.set_ylim(ey[0], ey[-1])
    if log:
        _log_hr_axis(ax.xaxis)
    else:
        ticks = [v for v in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if v <= ey[-1]]
        ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    ref = "flat prior" if log else "plan's rate prior on both arms"
    ax.set_title(
        f"{endpoint}: tipping point - posterior {_quantity(info)} by prior\n"
        f"{ref}: {_p(flip['reference_probability'], threshold)}; threshold {threshold:g}",
        fontsize=9.5,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
