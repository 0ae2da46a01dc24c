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
- uniform accrual over A ~ U(accrual_months) months, data cut-off at A + U(extra_followup)
  months, administrative censoring at cut-off minus entry, exponential dropout with rate
  ~ U(dropout_per_month).
The statistics use a vectorised KM median (as lifelines) and a one-binary-covariate Cox
Newton solver (Breslow ties by default, Efron as lifelines on request).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from bayes_btc.errors import InputError
from bayes_btc.inputs.ipd import SurvivalIPD, from_frame

BATCH = 8192  # simulations per vectorised batch (fixed, so results depend only on the seed)
MEDIAN_SPREAD = 0.4  # half-width of the log-uniform prior on each generating median
CHANGE_POINT = (0.2, 2.0)  # treatment change point as a multiple of its generating median
LOG_R_HALF_WIDTH = 2.0  # log late/early hazard ratio ~ U(2 log HR -+ this)
DRAWS = ("gen_median_treatment", "gen_median_control", "gen_change_point", "gen_late_ratio")
DRAWS += ("accrual_months", "cutoff_months", "dropout_per_month")  # prior draws, in months


@dataclass(frozen=True)
class SummaryTarget:
    """What one endpoint's reconstruction must reproduce; times in months, HR treatment/control."""

    endpoint: str
    n_treatment: int
    n_control: int
    median_treatment: float
    median_control: float
    hr: float
    ci: tuple[float, float]
    ci_level: float = 0.95
    accrual_months: tuple[float, float] = (36.0, 48.0)  # range of the accrual-length prior
    treatment: str = "TP"
    control: str = "GP"
    extra_followup_months: tuple[float, float] = (0.0, 3.0)  # cut-off after the last entry
    dropout_per_month: tuple[float, float] = (0.0, 0.05)  # range of the dropout-rate prior
    note: str = ""  # assumptions made in building the target, carried into the output

    def __post_init__(self) -> None:
        lo, hi = self.ci
        ranges = (self.accrual_months, self.extra_followup_months, self.dropout_per_month)
        for bad, why in (
            (min(self.n_treatment, self.n_control) < 2, "each arm needs at least 2 patients"),
            (min(self.median_treatment, self.median_control) <= 0, "medians must be > 0 months"),
            (not 0 < lo < self.hr < hi, f"need 0 < CI low < HR < CI high, got {self.hr} {self.ci}"),
            (not 0 < self.ci_level < 1, f"ci_level must be in (0, 1), got {self.ci_level}"),
            (self.accrual_months[0] <= 0, "accrual_months must be > 0"),
            (not all(0 <= a <= b for a, b in ranges), "prior ranges need 0 <= low <= high"),
            (self.treatment == self.control, "treatment and control labels are the same"),
        ):
            if bad:
                raise InputError(f"summary target {self.endpoint}: {why}")

    @property
    def ci_width_log(self) -> float:
        """log(upper) - log(lower) of the published CI."""
        return float(np.log(self.ci[1] / self.ci[0]))

    @classmethod
    def from_trial(
        cls, spec, endpoint: str, n_per_arm: tuple[int, int] = (24, 24)
    ) -> SummaryTarget:
        """Target for `spec.survival[endpoint]`; `n_per_arm` is (treatment, control)."""
        if endpoint not in spec.survival:
            have = ", ".join(spec.survival) or "none"
            raise InputError(f"trial has no survival endpoint '{endpoint}'; endpoints: {have}")
        s, (trt, ctl) = spec.survival[endpoint], spec.arm_order
        nt, nc = (int(n) for n in n_per_arm)
        if s.population == "evaluable" and spec.evaluable is not None:
            pop = spec.evaluable.n
        else:
            pop = spec.arms[trt].randomised + spec.arms[ctl].randomised
        if nt + nc != pop:
            raise InputError(
                f"{endpoint}: n_per_arm {nt}/{nc} does not add up to the {pop} "
                f"{s.population} patients"
            )
        note = f"{endpoint}: {pop} {s.population} patients assumed split {nt}/{nc} ({trt}/{ctl})"
        meds = s.median_months[trt], s.median_months[ctl]
        args = endpoint, nt, nc, *meds, s.hr, tuple(s.ci), s.ci_level
        return cls(*args, treatment=trt, control=ctl, note=f"{note}; the split is not published")


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


def _simulate(rng: np.random.Generator, tg: SummaryTarget, size: int) -> tuple:
    """`size` trials from the prior: time, event (size, n_t + n_c; treatment first), draws."""
    nt, n = tg.n_treatment, tg.n_treatment + tg.n_control
    u = rng.uniform(-MEDIAN_SPREAD, MEDIAN_SPREAD, (2, size))
    med_t, med_c = tg.median_treatment * np.exp(u[0]), tg.median_control * np.exp(u[1])
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


def reconstruct_from_summary(
    target: SummaryTarget,
    n_sets: int = 20,
    seed: int = 2018,
    max_sims: int = 200_000,
    *,
    median_tol: float = 0.5,
    hr_tol: float = 0.05,
    width_tol: float = 0.15,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rejection-ABC pseudo-patient data sets reproducing `target`; deterministic for a seed.

    Returns (ipd, calibration). ipd: dataset (1..n_sets), arm (label), time (months), event
    (1/0). calibration, one row per dataset: KM medians (months), Cox HR and CI, CI width (log
    scale), events, the prior draws, the targets and `accepted_of` (simulations drawn in all;
    acceptance rate = n_sets / accepted_of). Accepted: medians within median_tol months, HR
    and CI width within hr_tol and width_tol (relative). InputError if max_sims is reached."""
    if n_sets < 1 or max_sims < 1:
        raise InputError(f"n_sets and max_sims must be >= 1, got {n_sets} and {max_sims}")
    rng = np.random.default_rng(seed)
    nt, z = target.n_treatment, norm.ppf(0.5 + target.ci_level / 2)
    x = np.r_[np.ones(nt), np.zeros(target.n_control)]
    keep: list[tuple] = []  # per batch: sim no., time, event, medians, log HR, SE, draws
    drawn, n_ok, passed = 0, 0, np.zeros(3, int)  # sims passing medians, then HR, then width
    while n_ok < n_sets and drawn < max_sims:
        size = min(BATCH, max_sims - drawn)
        t, e, draws = _simulate(rng, target, size)
        m_t, m_c = km_median(t[:, :nt], e[:, :nt]), km_median(t[:, nt:], e[:, nt:])
        near = np.abs(m_t - target.median_treatment) <= median_tol
        idx = np.flatnonzero(near & (np.abs(m_c - target.median_control) <= median_tol))
        b, se = cox_binary(t[idx], e[idx], x)
        hr_ok = np.abs(np.exp(b) / target.hr - 1) <= hr_tol
        ok = hr_ok & (np.abs(2 * z * se / target.ci_width_log - 1) <= width_tol)
        passed += [idx.size, hr_ok.sum(), ok.sum()]
        j = np.flatnonzero(ok)[: n_sets - n_ok]
        i = idx[j]
        keep.append((drawn + i + 1, t[i], e[i], m_t[i], m_c[i], b[j], se[j]))
        keep[-1] += ({k: v[i] for k, v in draws.items()},)
        n_ok, drawn = n_ok + j.size, drawn + size
    if n_ok < n_sets:
        rates = passed / np.maximum([drawn, *passed[:2]], 1)  # pass rate of each step
        worst = ("median_tol", "hr_tol", "width_tol")[int(np.argmin(rates))]
        raise InputError(
            f"{target.endpoint}: only {n_ok} of {n_sets} data sets accepted in {drawn} "
            f"simulations; raise max_sims or relax {worst} (most rejections; now "
            f"median_tol={median_tol:g} months, hr_tol={hr_tol:g}, width_tol={width_tol:g})"
        )
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
    for name in ("median_treatment", "median_control", "hr", "ci_width_log"):
        cal[f"target_{name}"] = getattr(target, name)
    cal["accepted_of"] = int(sim[-1])
    note = "pseudo-patient data from rejection ABC on the published summary, not observed data"
    for df in (ipd, cal):
        df.attrs.update(note=f"{note}; {target.note}" if target.note else note, seed=seed)
    return ipd, cal


def to_ipd(ipd: pd.DataFrame, target: SummaryTarget) -> list[SurvivalIPD]:
    """One `SurvivalIPD` (reconstructed=True) per dataset of `reconstruct_from_summary` output."""
    roles = target.treatment, target.control, target.endpoint
    source = "reconstructed from published summary (dataset {})"
    return [
        from_frame(g[["arm", "time", "event"]], *roles, source.format(k), reconstructed=True)
        for k, g in ipd.groupby("dataset", sort=True)
    ]
