"""Audit of the published numbers, before anything is fitted.

GRIM-style checks (which integer counts on the arm's denominator round to each reported
percentage), the CI against the HR (symmetric on the log scale) and against the p-value, and
the HR's direction against the ratio of medians. Each printed number is taken as exact up to
its printed precision (1.33 means [1.325, 1.335]), so a finding is a real inconsistency, not
rounding. The audit also records which count each binary fit uses (the nearest one).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from scipy import stats

from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.inputs.trial import SurvivalSummary, TrialSpec

COLUMNS = [
    "endpoint",
    "arm",
    "check",
    "reported",
    "expected",
    "consistent",
    "finding",
    "used_in_fit",
]


@dataclass(frozen=True)
class AuditResult:
    """The audit table (one row per check) and the counts the binary models will use."""

    table: pd.DataFrame
    counts: dict[str, dict[str, tuple[int, int]]]  # endpoint -> arm -> (events, denominator)

    @property
    def n_findings(self) -> int:
        return int((~self.table["consistent"]).sum())


def half_unit(text: str) -> Fraction:
    """Half a unit in the last printed digit: '61' -> 1/2, '39.4' -> 1/20, '0.469' -> 1/2000."""
    exponent = Decimal(text).as_tuple().exponent
    assert isinstance(exponent, int)
    return Fraction(1, 2) * Fraction(10) ** exponent


def printed(x: float) -> str:
    """The shortest decimal text of a float as it was written in the spec (1.33 -> '1.33')."""
    return repr(float(x))


MAX_DENOMINATORS = 10_000  # denominators searched for a percentage no count reproduces


def counts_matching(percent: str, n: int) -> range:
    """Integer counts k in 0..n with 100*k/n equal to `percent` at its printed precision
    (in closed form: the work does not grow with n)."""
    p, h = Fraction(percent), half_unit(percent)
    lo, hi = math.ceil((p - h) * n / 100), math.floor((p + h) * n / 100)
    return range(max(lo, 0), min(hi, n) + 1)


def denominators_matching(percent: str, lo: int, hi: int) -> list[int]:
    """Denominators m in lo..hi for which some count rounds to `percent` (the first
    `MAX_DENOMINATORS` of the range only)."""
    start = max(lo, 1)
    return [
        m
        for m in range(start, min(hi, start + MAX_DENOMINATORS) + 1)
        if counts_matching(percent, m)
    ]


def nearest_count(percent: str, n: int) -> int:
    """The count whose percentage on n is closest to the reported one (ties go down)."""
    p = Fraction(percent)
    k0 = math.floor(p * n / 100)
    near = [k for k in (k0, k0 + 1) if 0 <= k <= n] or [0 if p <= 0 else n]
    return min(near, key=lambda k: (abs(Fraction(100 * k, n) - p), k))


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} = {100 * k / n:.1f}%"


def audit_percent(endpoint: str, arm: str, percent: str, n: int) -> tuple[dict, int]:
    """One GRIM row for a reported percentage on denominator n, and the count to fit."""
    matches = counts_matching(percent, n)
    used = matches[0] if len(matches) == 1 else nearest_count(percent, n)
    if matches:
        shown = ", ".join(_pct(k, n) for k in matches[:3])
        finding = (
            "reproduced by " + shown + (f" ... ({len(matches)} counts)" if len(matches) > 3 else "")
        )
    else:
        k0 = math.floor(Fraction(percent) * n / 100)
        near = " or ".join(_pct(k, n) for k in (k0, k0 + 1) if 0 <= k <= n)
        fits = denominators_matching(percent, (n + 1) // 2, n)
        finding = (
            f"no integer count on {n} rounds to {percent}% (nearest: {near}); "
            f"denominators {(n + 1) // 2}-{n} that fit: {', '.join(map(str, fits)) or 'none'}"
        )
    row = {
        "endpoint": endpoint,
        "arm": arm,
        "check": "percent_vs_denominator",
        "reported": f"{percent}%",
        "expected": f"k/{n}",
        "consistent": bool(matches),
        "finding": finding,
        "used_in_fit": f"{_pct(used, n)}" + ("" if matches else " (nearest count)"),
    }
    return row, used


def _box(s: SurvivalSummary) -> dict[str, tuple[float, float]]:
    """Each printed survival number as the interval its rounding allows."""
    out = {}
    for key, x in (("hr", s.hr), ("lo", s.ci[0]), ("hi", s.ci[1])):
        h = float(half_unit(printed(x)))
        out[key] = (x - h, x + h)
    return out


def se_from_ci(lo: float, hi: float, level: float = 0.95) -> float:
    """Standard error of the log-HR implied by a CI symmetric on the log scale."""
    return (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf(0.5 + level / 2))


def audit_survival(endpoint: str, s: SurvivalSummary, treatment: str, control: str) -> list[dict]:
    """CI symmetry, p-value and HR direction checks for one published hazard ratio."""
    box = _box(s)
    rows = []
    base = {"endpoint": endpoint, "arm": f"{treatment} vs {control}", "used_in_fit": ""}

    mids = [math.sqrt(lo * hi) for lo, hi in itertools.product(box["lo"], box["hi"])]
    ok = min(mids) <= box["hr"][1] and max(mids) >= box["hr"][0]
    rows.append(
        {
            **base,
            "check": "ci_symmetric_log_scale",
            "reported": f"HR {s.hr} ({s.ci[0]}-{s.ci[1]})",
            "expected": f"HR {min(mids):.3f}-{max(mids):.3f} (geometric mean of the CI limits)",
            "consistent": ok,
            "finding": "CI centred on the HR on the log scale"
            if ok
            else "the CI is not centred on the printed HR on the log scale: its centre is "
            f"{math.sqrt(s.ci[0] * s.ci[1]):.3f}",
            "used_in_fit": f"log-HR {math.log(s.hr):.4f}, SE {se_from_ci(*s.ci, s.ci_level):.4f}",
        }
    )

    if s.p_parsed is not None:
        op, p_val = s.p_parsed
        ps = []
        for hr, lo, hi in itertools.product(box["hr"], box["lo"], box["hi"]):
            z = abs(math.log(hr)) / se_from_ci(lo, hi, s.ci_level)
            ps.append(2 * stats.norm.sf(z))
        centre = 0.5 * abs(math.log(s.ci[0] * s.ci[1]))  # |log-HR| at the CI's centre
        p_mid = 2 * stats.norm.sf(centre / se_from_ci(*s.ci, s.ci_level))
        if op == "<":
            ok = min(ps) < p_val
        elif op == ">":
            ok = max(ps) > p_val
        else:
            hp = float(half_unit(printed(p_val)))
            ok = min(ps) <= p_val + hp and max(ps) >= p_val - hp
        shown = f"p = {p_val}" if op == "=" else f"p {op} {p_val}"
        rows.append(
            {
                **base,
                "check": "p_value_vs_ci",
                "reported": shown,
                "expected": f"p = {min(ps):.3g}-{max(ps):.3g} (Wald, from the HR and CI)",
                "consistent": ok,
                "finding": "p-value agrees with the HR and CI"
                if ok
                else "p-value does not follow from the printed HR and CI; from the CI's centre "
                f"it is {p_mid:.3f}",
            }
        )

    if s.not_reached:
        return rows
    m_t, m_c = s.median_months[treatment], s.median_months[control]
    implied = m_c / m_t  # exponential survival: HR = lambda_T / lambda_C = median_C / median_T
    same_side = (implied - 1) * (s.hr - 1) >= 0
    rows.append(
        {
            **base,
            "check": "hr_direction_vs_medians",
            "reported": f"HR {s.hr}; medians {m_t} vs {m_c} months",
            "expected": f"HR {implied:.3f} under exponential survival (median ratio)",
            "consistent": bool(same_side),
            "finding": direction_finding(s.hr, implied, m_t, m_c, treatment),
        }
    )

    se = se_from_ci(*s.ci, s.ci_level)
    events = 4 / se**2
    rows.append(
        {
            **base,
            "check": "implied_events",
            "reported": f"CI {s.ci[0]}-{s.ci[1]}",
            "expected": "events ~ 4 / SE^2 (1:1 allocation)",
            "consistent": True,
            "finding": f"about {events:.0f} events implied (SE of log-HR {se:.3f})",
        }
    )
    return rows


def direction_finding(hr: float, implied: float, m_t: float, m_c: float, treatment: str) -> str:
    """Words for the HR-versus-medians check (implied = HR the median ratio gives)."""
    if (implied - 1) * (hr - 1) < 0:
        worse = "worse" if hr > 1 else "better"
        longer = "longer" if hr > 1 else "shorter"
        return (
            f"HR {hr} says {treatment} is {worse} but its median is {longer} ({m_t} vs {m_c} "
            "months): the direction is doubtful (the inverted reading is fitted as a "
            "sensitivity analysis), or the hazards are not proportional"
        )
    if abs(math.log(hr / implied)) >= math.log(1.25):
        return (
            f"HR and medians point the same way, but the HR is far from the {implied:.2f} the "
            "medians imply under proportional hazards"
        )
    return "HR and medians point the same way"


def audit_trial(spec: TrialSpec, endpoints: list[str] | None = None) -> AuditResult:
    """Run every check on a trial spec; `endpoints` restricts to those analysed."""
    treatment, control = spec.arm_order
    rows: list[dict] = []
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for name, s in spec.survival.items():
        if endpoints is None or name in endpoints:
            rows.extend(audit_survival(name, s, treatment, control))
    for name, b in spec.binary.items():
        if endpoints is not None and name not in endpoints:
            continue
        counts[name] = {}
        for arm in (treatment, control):
            n = spec.denominator(name, arm)
            if b.percent is not None:
                row, k = audit_percent(name, arm, b.percent[arm], n)
                rows.append(row)
            else:
                assert b.count is not None
                k = b.count[arm]
                rows.append(
                    {
                        "endpoint": name,
                        "arm": arm,
                        "check": "count_reported",
                        "reported": f"{k}/{n}",
                        "expected": "",
                        "consistent": True,
                        "finding": "count reported directly",
                        "used_in_fit": _pct(k, n),
                    }
                )
            counts[name][arm] = (k, n)
    table = pd.DataFrame(rows, columns=COLUMNS)
    return AuditResult(table=table, counts=counts)


def audit_ipd(ipd: dict[str, SurvivalIPD]) -> AuditResult:
    """Patient-level data: what went into each fit (patients, events, follow-up per arm)."""
    rows = []
    for name, d in ipd.items():
        for arm in (d.treatment, d.control):
            m = d.arm == arm
            n, ev, fu = int(m.sum()), int(d.event[m].sum()), float(d.time[m].max())
            rows.append(
                {
                    "endpoint": name,
                    "arm": arm,
                    "check": "patient_data",
                    "reported": f"{n} patients, {ev} events",
                    "expected": "",
                    "consistent": True,
                    "finding": f"longest follow-up {fu:.1f} months"
                    + (" (reconstructed, not observed data)" if d.reconstructed else ""),
                    "used_in_fit": d.source,
                }
            )
    return AuditResult(table=pd.DataFrame(rows, columns=COLUMNS), counts={})
