"""Pseudo-patient data calibrated to a published summary (rejection ABC). Times in months.

When a trial publishes only arm sizes, KM medians and a hazard ratio with its CI, data sets
are simulated from a broad generating model and kept when they reproduce those numbers:
both KM medians within `median_tol` months, the Cox HR (treatment vs control) within
`hr_tol` (relative) and the CI width on the log scale within `width_tol` (relative); the CI
width fixes the information, i.e. roughly the number of events (about 4/SE^2 for 1:1).

Generating model (the prior depends only on the endpoint's published numbers):
- control: exponential, median = published x exp(U(-0.4, 0.4));
- treatment: two-piece hazard (so hazards may cross), median = published x exp(U(-0.4, 0.4)),
  change point = median x U(0.2, 2), late/early hazard ratio r with
  log r ~ U(2 log HR - 2, 2 log HR + 2) (HR = published);
- a median "not reached" is centred on the other arm's median divided (treatment) or
  multiplied (control) by the HR, and at least 1.3 x the follow-up it was not reached by;
- uniform accrual over A ~ U(accrual_months) months, data cut-off at A + U(extra_followup)
  months, administrative censoring at cut-off minus entry, exponential dropout with rate
  ~ U(dropout_per_month) (ranges: see `reconstruction.targets`).
Besides medians, HR and CI width, published event counts, landmark survival and p-value
bounds are targets too. The generated medians and survival curves therefore follow this
generating model wherever the publication is silent.
The statistics use a vectorised KM median (as lifelines) and a one-binary-covariate Cox
Newton solver (Breslow ties by default, Efron as lifelines on request).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from bayes_btc.errors import InputError
from bayes_btc.inputs.ipd import SurvivalIPD, from_frame
from bayes_btc.reconstruction.targets import SummaryTarget

__all__ = ["SummaryTarget", "cox_binary", "km_median", "km_survival_at"]

BATCH = 8192  # simulations per vectorised batch (fixed, so results depend only on the seed)
MEDIAN_SPREAD = 0.4  # half-width of the log-uniform prior on each generating median
CHANGE_POINT = (0.2, 2.0)  # treatment change point as a multiple of its generating median
LOG_R_HALF_WIDTH = 2.0  # log late/early hazard ratio ~ U(2 log HR -+ this)
DRAWS = ("gen_median_treatment", "gen_median_control", "gen_change_point", "gen_late_ratio")
DRAWS += ("accrual_months", "cutoff_months", "dropout_per_month")  # prior draws, in months


def _sorted(time: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """2-D float copies sorted by time within each row, then tie-group start/end positions."""
    t = np.atleast_2d(np.asarray(time, float))
    order = np.argsort(t, axis=1, kind="stable")
    out = [
        np.take_along_axis(np.broadcast_to(np.atleast_2d(np.asarray(a, float)), t.shape), order, 1)
        for a in (t, *others)
    ]
    n, pos = t.shape[1], np.arange(t.shape[1])
    new = np.ones(t.shape, bool)
    new[:, 1:] = out[0][:, 1:] != out[0][:, :-1]
    last = np.ones(t.shape, bool)
    last[:, :-1] = new[:, 1:]
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, n)[:, ::-1], axis=1)[:, ::-1]
    return [*out, start, end, last]


def _group_sum(a: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Sum of `a` over each position's tie group."""
    c = np.zeros((a.shape[0], a.shape[1] + 1))
    c[:, 1:] = np.cumsum(a, axis=1)
    return np.take_along_axis(c, end + 1, 1) - np.take_along_axis(c, start, 1)


def km_median(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Kaplan-Meier median (months) per row of (B, n) arrays, inf if not reached.

    The first time with S(t) <= 0.5, S computed as lifelines does (exp of summed logs), so the
    result equals `KaplanMeierFitter.median_survival_time_` exactly."""
    t, e, start, end, last = _sorted(time, event)
    d = _group_sum(e, start, end)
    at_risk = (t.shape[1] - start).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(last, np.log(at_risk - d) - np.log(at_risk), 0.0)
    hit = last & (np.exp(np.cumsum(term, axis=1)) <= 0.5)
    first = hit.argmax(axis=1)
    return np.where(hit.any(axis=1), t[np.arange(t.shape[0]), first], np.inf)


def km_survival_at(time: np.ndarray, event: np.ndarray, at: float) -> np.ndarray:
    """Kaplan-Meier S(at) per row of (B, n) arrays (as lifelines: right-continuous)."""
    t, e, start, end, last = _sorted(time, event)
    d = _group_sum(e, start, end)
    at_risk = (t.shape[1] - start).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(last & (t <= at), np.log(at_risk - d) - np.log(at_risk), 0.0)
    return np.exp(term.sum(axis=1))


def cox_binary(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str = "breslow", max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Cox log HR of a 0/1 covariate and its SE, per row of (B, n) arrays (NaN if no finite MLE).

    Safeguarded Newton on the partial likelihood (score is monotone: bracket + bisection)."""
    if ties not in ("breslow", "efron"):
        raise ValueError(f"ties must be 'breslow' or 'efron', not {ties!r}")
    _, e, x, start, end, _ = _sorted(time, event, x)
    rows = e.shape[0]
    frac = np.zeros_like(e)
    if ties == "efron":  # l/d for the l-th of d tied events
        prior = np.cumsum(e, axis=1) - e  # events before each position
        before = prior - np.take_along_axis(prior, start, 1)
        frac = np.where(e > 0, before / np.maximum(_group_sum(e, start, end), 1.0), 0.0)
    ex = (e * x).sum(axis=1)

    def score_info(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.exp(b[:, None] * x)
        s0 = np.take_along_axis(np.cumsum(w[:, ::-1], axis=1)[:, ::-1], start, 1)
        s1 = np.take_along_axis(np.cumsum((w * x)[:, ::-1], axis=1)[:, ::-1], start, 1)
        if ties == "efron":
            s0 = s0 - frac * _group_sum(e * w, start, end)
            s1 = s1 - frac * _group_sum(e * w * x, start, end)
        p = s1 / s0
        return ex - (e * p).sum(axis=1), (e * p * (1.0 - p)).sum(axis=1)

    b, lo, hi = np.zeros(rows), np.full(rows, -np.inf), np.full(rows, np.inf)
    done = np.zeros(rows, bool)
    for _ in range(max_iter):
        u, info = score_info(b)
        lo, hi = np.where(u > 0, b, lo), np.where(u < 0, b, hi)
        step = np.clip(u / np.maximum(info, 1e-300), -1.0, 1.0)
        new = b + step
        outside = (new <= lo) | (new >= hi)
        new = np.where(outside & np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), new)
        done = np.abs(new - b) < 1e-11
        b = new
        if done.all():
            break
    _, info = score_info(b)
    ok = done & (np.abs(b) < 20) & (info > 0)
    with np.errstate(divide="ignore"):
        return np.where(ok, b, np.nan), np.where(ok, 1.0 / np.sqrt(info), np.nan)


def _centres(tg: SummaryTarget) -> tuple[float, float]:
    """Generating median centres (months); a median not reached is placed past its follow-up."""
    m_t, m_c = tg.median_treatment, tg.median_control
    floor = 1.3 * (tg.not_reached_by or 0.0)
    if math.isinf(m_t) and math.isinf(m_c):
        return 2.0 * floor, 2.0 * floor * tg.hr
    if math.isinf(m_t):
        return max(m_c / tg.hr, floor), m_c
    if math.isinf(m_c):
        return m_t, max(m_t * tg.hr, floor)
    return m_t, m_c


def _simulate(rng: np.random.Generator, tg: SummaryTarget, size: int) -> tuple:
    """`size` trials from the prior: time, event (size, n_t + n_c; treatment first), draws."""
    nt, n = tg.n_treatment, tg.n_treatment + tg.n_control
    c_t, c_c = _centres(tg)
    u = rng.uniform(-MEDIAN_SPREAD, MEDIAN_SPREAD, (2, size))
    med_t, med_c = c_t * np.exp(u[0]), c_c * np.exp(u[1])
    tau = med_t * rng.uniform(*CHANGE_POINT, size)
    log_r = 2.0 * np.log(tg.hr) + rng.uniform(-LOG_R_HALF_WIDTH, LOG_R_HALF_WIDTH, size)
    r = np.exp(log_r)
    early = np.where(tau >= med_t, np.log(2) / med_t, np.log(2) / (tau + r * (med_t - tau)))
    accrual = rng.uniform(*tg.accrual_months, size)
    cutoff = accrual + rng.uniform(*tg.extra_followup_months, size)
    dropout = rng.uniform(*tg.dropout_per_month, size)
    h = rng.exponential(1.0, (size, n))  # unit-exponential cumulative hazards
    ht, h_tau, tau_, early_ = h[:, :nt], (early * tau)[:, None], tau[:, None], early[:, None]
    t_trt = np.where(ht < h_tau, ht / early_, tau_ + (ht - h_tau) / (r[:, None] * early_))
    t_all = np.concatenate([t_trt, h[:, nt:] * (med_c / np.log(2))[:, None]], axis=1)
    entry = rng.uniform(0.0, 1.0, (size, n)) * accrual[:, None]
    with np.errstate(divide="ignore"):
        lost = rng.exponential(1.0, (size, n)) / dropout[:, None]
    censor = np.minimum(cutoff[:, None] - entry, lost)
    draws = dict(zip(DRAWS, (med_t, med_c, tau, r, accrual, cutoff, dropout), strict=True))
    return np.minimum(t_all, censor), (t_all <= censor).astype(float), draws


def _cheap_checks(tg: SummaryTarget, t: np.ndarray, e: np.ndarray) -> tuple[dict, dict]:
    """Per-simulation pass flags of the targets that need no Cox fit, and the statistics."""
    nt = tg.n_treatment
    arms = ((tg.treatment, slice(None, nt)), (tg.control, slice(nt, None)))
    published = {tg.treatment: tg.median_treatment, tg.control: tg.median_control}
    flags, stats = {}, {}
    for arm, cols in arms:
        m = km_median(t[:, cols], e[:, cols])
        stats[f"median_{arm}"] = m
        if math.isinf(published[arm]):
            by = tg.not_reached_by or 0.0
            flags[f"median of {arm} (NR by {by:g} months)"] = m > by
        else:
            half = tg.median_half_width(published[arm])
            flags[f"median of {arm} ({published[arm]:g} months)"] = (
                np.abs(m - published[arm]) <= half
            )
    if tg.events is not None:
        for (arm, cols), target in zip(arms, tg.events, strict=True):
            d = e[:, cols].sum(axis=1)
            stats[f"events_{arm}"] = d
            ok = np.abs(d - target) <= max(1.0, tg.events_tol * target)
            flags[f"events of {arm} ({target})"] = ok
    if tg.events_total is not None:
        d, target = e.sum(axis=1), tg.events_total
        stats["events_total"] = d
        flags[f"total events ({target})"] = np.abs(d - target) <= max(1.0, tg.events_tol * target)
    for months, *surv in tg.landmarks:
        for (arm, cols), target in zip(arms, surv, strict=True):
            s_at = km_survival_at(t[:, cols], e[:, cols], months)
            stats[f"s{months:g}_{arm}"] = s_at
            flags[f"{months:g}-month survival of {arm} ({100 * target:g}%)"] = (
                np.abs(s_at - target) <= tg.landmark_tol
            )
    return flags, stats


def reconstruct_from_summary(
    target: SummaryTarget,
    n_sets: int = 20,
    seed: int = 2018,
    max_sims: int = 200_000,
    *,
    median_tol: float | None = None,
    hr_tol: float | None = None,
    width_tol: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rejection-ABC pseudo-patient data sets reproducing `target`; deterministic for a seed.

    Returns (ipd, calibration). ipd: dataset (1..n_sets), arm (label), time (months), event
    (1/0). calibration, one row per dataset: KM medians (months), Cox HR and CI, CI width (log
    scale), events, the prior draws, the targets and `accepted_of` (simulations drawn in all;
    acceptance rate = n_sets / accepted_of). Tolerances are the target's (relative median
    tolerance, `median_tol` here overrides it). InputError naming the target met least often
    if the budget `max_sims` is spent first."""
    if n_sets < 1 or max_sims < 1:
        raise InputError(f"n_sets and max_sims must be >= 1, got {n_sets} and {max_sims}")
    over = {"median_tol": median_tol, "hr_tol": hr_tol, "width_tol": width_tol}
    over = {k: v for k, v in over.items() if v is not None}
    if over:
        from dataclasses import replace

        target = replace(target, **over)
    rng = np.random.default_rng(seed)
    nt, z = target.n_treatment, norm.ppf(0.5 + target.ci_level / 2)
    x = np.r_[np.ones(nt), np.zeros(target.n_control)]
    keep: list[tuple] = []  # per batch: sim no., time, event, medians, log HR, SE, draws
    drawn, n_ok = 0, 0
    tested: dict[str, int] = {}  # simulations each target was checked on
    met: dict[str, int] = {}
    hr_name = f"HR {target.hr:g}"
    width_name = f"CI {target.ci[0]:g}-{target.ci[1]:g} width"
    p_name = "" if target.p_bound is None else "p {} {:g}".format(*target.p_bound)
    while n_ok < n_sets and drawn < max_sims:
        size = min(BATCH, max_sims - drawn)
        t, e, draws = _simulate(rng, target, size)
        flags, stats = _cheap_checks(target, t, e)
        for name, f in flags.items():
            tested[name] = tested.get(name, 0) + size
            met[name] = met.get(name, 0) + int(f.sum())
        idx = np.flatnonzero(np.logical_and.reduce(list(flags.values())))
        b, se = cox_binary(t[idx], e[idx], x)
        cox_flags = {hr_name: np.abs(np.exp(b) / target.hr - 1) <= target.hr_tol}
        cox_flags[width_name] = np.abs(2 * z * se / target.ci_width_log - 1) <= target.width_tol
        if target.p_bound is not None:
            p = 2 * norm.sf(np.abs(b) / se)
            op, bound = target.p_bound
            cox_flags[p_name] = p < bound if op == "<" else p > bound
        for name, f in cox_flags.items():
            tested[name] = tested.get(name, 0) + idx.size
            met[name] = met.get(name, 0) + int(f.sum())
        ok = np.logical_and.reduce(list(cox_flags.values()))
        j = np.flatnonzero(ok)[: n_sets - n_ok]
        i = idx[j]
        m_t, m_c = (stats[k][i] for k in list(stats)[:2])  # the two medians come first
        keep.append((drawn + i + 1, t[i], e[i], m_t, m_c, b[j], se[j]))
        keep[-1] += ({k: v[i] for k, v in draws.items()}, {k: v[i] for k, v in stats.items()})
        n_ok, drawn = n_ok + j.size, drawn + size
    if n_ok < n_sets:
        raise InputError(failure_message(target, n_ok, n_sets, drawn, tested, met))
    sim, t, e, m_t, m_c, b, se = (np.concatenate([k[c] for k in keep]) for c in range(7))
    dataset = np.arange(1, n_sets + 1)
    arm = np.tile(np.where(x == 1, target.treatment, target.control), n_sets)
    ipd = pd.DataFrame({"dataset": np.repeat(dataset, x.size), "arm": arm})
    ipd["time"], ipd["event"] = t.ravel(), e.ravel().astype(int)
    cal = pd.DataFrame({"dataset": dataset, "median_treatment": m_t, "median_control": m_c})
    cal["hr"], cal["ci_low"], cal["ci_high"] = np.exp(b), np.exp(b - z * se), np.exp(b + z * se)
    cal["ci_width_log"], cal["events"] = 2 * z * se, e.sum(axis=1).astype(int)
    cal["events_treatment"] = e[:, :nt].sum(axis=1).astype(int)
    cal["events_control"] = e[:, nt:].sum(axis=1).astype(int)
    for name in DRAWS:
        cal[name] = np.concatenate([k[7][name] for k in keep])
    for name in list(keep[0][8])[2:]:  # landmark survival (events are above)
        if name.startswith("s"):
            cal[name] = np.concatenate([k[8][name] for k in keep])
    for name in ("median_treatment", "median_control", "hr", "ci_width_log"):
        cal[f"target_{name}"] = getattr(target, name)
    cal["accepted_of"] = int(sim[-1])
    note = "pseudo-patient data from rejection ABC on the published summary, not observed data"
    note += f" (accepted: {target.tolerance_words()})"
    for df in (ipd, cal):
        df.attrs.update(note=f"{note}; {target.note}" if target.note else note, seed=seed)
    return ipd, cal


def failure_message(
    target: SummaryTarget, n_ok: int, n_sets: int, drawn: int, tested: dict, met: dict
) -> str:
    """One line: how many sets were accepted, and the target met least often."""
    rates = {k: met[k] / tested[k] for k in tested if tested[k]}
    worst = min(rates, key=lambda k: rates[k]) if rates else "medians"
    if worst.startswith("median"):
        tol = "median_tolerance"
    elif worst.startswith("HR"):
        tol = "hr_tolerance"
    elif worst.startswith("CI"):
        tol = "ci_width_tolerance"
    elif worst.startswith(("events", "total events")):
        tol = "events_tolerance"
    else:
        tol = "landmark_tolerance" if "survival" in worst else "the published p-value bound"
    rate = rates.get(worst, 0.0)
    return (
        f"{target.endpoint}: only {n_ok} of {n_sets} data sets accepted in {drawn} "
        f"simulations; the target met least often is the {worst}: {100 * rate:.2g}% of the "
        f"{tested.get(worst, 0)} simulations checked on it met it ({target.tolerance_words()}; "
        f"generating accrual {_rng(target.accrual_months)} months, cut-off "
        f"{_rng(target.extra_followup_months)} months after the last entry); raise "
        f"reconstruction.max_simulations (max_sims, now {drawn}), relax {tol} or set the "
        "trial's conduct (accrual, median follow-up)"
    )


def _rng(r: tuple[float, float] | None) -> str:
    return "?" if r is None else f"{r[0]:.3g}-{r[1]:.3g}"


def to_ipd(ipd: pd.DataFrame, target: SummaryTarget) -> list[SurvivalIPD]:
    """One `SurvivalIPD` (reconstructed=True) per dataset of `reconstruct_from_summary` output;
    each carries `target_note(target)`."""
    from dataclasses import replace

    roles = target.treatment, target.control, target.endpoint
    source = "reconstructed from published summary (dataset {})"
    note = target_note(target)
    return [
        replace(
            from_frame(g[["arm", "time", "event"]], *roles, source.format(k), reconstructed=True),
            note=note,
        )
        for k, g in ipd.groupby("dataset", sort=True)
    ]


def target_note(target: SummaryTarget) -> str:
    """What a reconstructed set reproduces and assumes, in one clause (no endpoint prefix)."""
    how = target.note.split(": ", 1)[-1]
    out = (
        f"{target.n_treatment} {target.treatment} and {target.n_control} {target.control} "
        f"patients ({how}); accepted when {target.tolerance_words()}"
    )
    if target.settings_note:
        out += f"; {target.settings_note}"
    return out
