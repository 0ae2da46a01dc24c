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
once. It agrees with `priors.mixdiff.prob_beta_diff_above` (adaptive quadrature) to about 1e-8.

The reference conclusion is the one the main analysis reports under a vague prior: the
flat-prior limit for the log-HR, and the plan's first rate prior on both arms for the rates.
`weakest_flip` finds the weakest prior in the grid (largest prior SD, or fewest
pseudo-patients) that reverses it, and `tipping_sentences` says in plain words whether such a
prior is plausible. The rate grid starts at n0 = 0, below the plan's own prior (n0 = a + b),
so an endpoint whose conclusion turns on the choice of vague prior is reported as fragile.
"""

from __future__ import annotations

import math

import contourpy
import numpy as np
import pandas as pd
from scipy import stats

from bayes_btc.inputs.audit import se_from_ci
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.priors.mixdiff import beta_diff_above

CSV_NAME = "tipping_point.csv"
COLUMNS = ["endpoint", "scale", "prior_location", "prior_strength", "probability", "non_inferior"]
LOGHR_COLUMNS = ["prior_mean_hr", "prior_sd", "probability", "non_inferior"]
RATE_COLUMNS = ["prior_mean_control", "prior_n_control", "probability", "non_inferior"]


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


def control_prior(mean: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    a0, b0 = control_prior(np.asarray(prior_mean_control), np.asarray(prior_n_control))
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
                math.log(s.hr),
                se_from_ci(*s.ci, s.ci_level),
                plan.margins.of("survival", name),
                threshold,
            )
            loc, strength = t["prior_mean_hr"], t["prior_sd"]
        else:
            if name not in counts:
                raise ValueError(f"no counts for binary endpoint {name!r} (see audit_trial)")
            harm = spec.binary[name].kind == "harm"
            margin = plan.margins.of(spec.binary[name].kind, name)
            ev, nn = zip(counts[name][treatment], counts[name][control], strict=True)
            t = tipping_rates(ev, nn, margin, "<" if harm else ">", threshold, first_rate)
            loc, strength = t["prior_mean_control"], t["prior_n_control"]
        kind = "survival" if name in spec.survival else spec.binary[name].kind
        claim = plan.margins.claim(kind, plan.margins.of(kind, name))
        noun = "superiority" if claim == "superior" else "non-inferiority"
        info[name] = {**t.attrs, "arms": (treatment, control), "claim_noun": noun}
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


# --- reading a grid --------------------------------------------------------------------------


def standard_grid(
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


def grid_arrays(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(locations, strengths, probability[strength, location]) of a standard long table:
    sorted distinct locations and strengths, the mean probability of each pair (NaN where a
    pair is missing; as `pivot_table`, without its cost)."""
    x, ix = np.unique(d["location"].to_numpy(float), return_inverse=True)
    y, iy = np.unique(d["strength"].to_numpy(float), return_inverse=True)
    p = d["probability"].to_numpy(float)
    cell = iy.ravel() * len(x) + ix.ravel()
    ok = ~np.isnan(p)
    total = np.bincount(cell[ok], weights=p[ok], minlength=len(x) * len(y))
    count = np.bincount(cell[ok], minlength=len(x) * len(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (total / count).reshape(len(y), len(x))
    return x, y, z


# --- plain words -----------------------------------------------------------------------------


# --- figure ----------------------------------------------------------------------------------

# Axis coordinates in which the grid is (about) evenly spaced: log for the HR and its SD,
# log(1 + n0) for the pseudo-count (which starts at 0), plain for the control-rate mean.
AXIS_FORWARD = {"log": np.log, "log1p": np.log1p, "linear": np.asarray}
AXIS_BACK = {"log": np.exp, "log1p": np.expm1, "linear": np.asarray}


def axes_kind(info: dict) -> tuple[str, str]:
    return ("log", "log") if info["scale"] == "log_hr" else ("linear", "log1p")


def threshold_contour(
    table: pd.DataFrame, threshold: float | None = None, endpoint: str | None = None
) -> list[np.ndarray]:
    """The P(NI) = threshold line(s) through the grid, as (k, 2) arrays of (prior_location,
    prior_strength), interpolated linearly between grid points in the figure's axis
    coordinates (log HR and log SD; control-rate mean and log(1 + pseudo-count)). Empty if
    the probability never crosses the threshold."""
    d, info = standard_grid(table, endpoint)
    threshold = float(info["threshold"] if threshold is None else threshold)
    return contour_lines(*grid_arrays(d), threshold, info)


def contour_lines(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, threshold: float, info: dict
) -> list[np.ndarray]:
    """`threshold_contour` of grid arrays (`grid_arrays`) and the grid's inputs (`info`)."""
    if len(x) < 2 or len(y) < 2:
        return []
    kx, ky = axes_kind(info)
    lines = contourpy.contour_generator(AXIS_FORWARD[kx](x), AXIS_FORWARD[ky](y), z).lines(
        threshold
    )
    return [
        np.column_stack([AXIS_BACK[kx](seg[:, 0]), AXIS_BACK[ky](seg[:, 1])])
        for seg in lines
        if len(seg) > 1
    ]
