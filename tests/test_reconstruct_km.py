"""Guyot reconstruction: round trips from simulated trials, exact counts, clean_km, bad input.

The round trips simulate two arms (exponential event times, control median 8 months, HR 0.7,
n = 150 each, administrative censoring uniform on 12-36 months plus 1%/month dropout), take
each arm's Kaplan-Meier curve from lifelines, read it off as a digitiser would (about 90-105
points: a corner at every 1.5% drop in S, a 30-point time grid and each risk-table time; noise
N(0, 0.003) on S, N(0, 0.02) months on t, 5% of the points pushed up by 0.01 so the curve is
not monotone) and compare the reconstruction with the ORIGINAL patients using lifelines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter

from bayes_btc.errors import InputError
from bayes_btc.reconstruction.km import (
    clean_km,
    load_km_csv,
    load_risk_csv,
    reconstruct,
    reconstruct_arm,
)

SEEDS = range(5)
N = 150
ARMS = ("control", "treat")


def simulate(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for arm, hr in zip(ARMS, (1.0, 0.7), strict=True):
        event = rng.exponential(8.0 / np.log(2) / hr, N)
        cens = np.minimum(rng.uniform(12, 36, N), rng.exponential(100.0, N))
        t = np.minimum(event, cens)
        rows.append(pd.DataFrame({"arm": arm, "time": t, "event": (event <= cens).astype(int)}))
    return pd.concat(rows, ignore_index=True)


def km_step(g: pd.DataFrame) -> pd.Series:
    """lifelines KM of one arm as a step function indexed by time."""
    return KaplanMeierFitter().fit(g["time"], g["event"]).survival_function_.iloc[:, 0]


def at(sf: pd.Series, times: np.ndarray) -> np.ndarray:
    return sf.iloc[np.searchsorted(sf.index.to_numpy(), times, side="right") - 1].to_numpy()


def risk_table(ipd: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for arm, g in ipd.groupby("arm", sort=False):
        for t in np.arange(0, g["time"].max(), 3.0):
            rows.append({"arm": arm, "time": t, "n_at_risk": int((g["time"] >= t).sum())})
    return pd.DataFrame(rows)


def digitise(ipd: pd.DataFrame, seed: int, sd: float = 0.003) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1000)
    out = []
    for arm, g in ipd.groupby("arm", sort=False):
        sf, tmax = km_step(g), g["time"].max()
        ev_t = np.unique(g["time"][g["event"] == 1])
        s_ev = at(sf, ev_t)
        levels = np.arange(0.985, s_ev.min(), -0.015)
        corners = ev_t[np.unique(np.searchsorted(-s_ev, -levels))]
        t = np.unique(np.concatenate([corners, np.linspace(0.2, tmax, 30), np.arange(3, tmax, 3)]))
        s = at(sf, t) + rng.normal(0, sd, len(t)) + 0.01 * (rng.random(len(t)) < 0.05)
        t = np.clip(t + rng.normal(0, 0.02, len(t)), 0, None)
        out.append(pd.DataFrame({"arm": arm, "time": t, "survival": np.clip(s, 0, 1)}))
    return pd.concat(out, ignore_index=True)


def cox_hr(ipd: pd.DataFrame) -> float:
    df = ipd.assign(treat=(ipd["arm"] == "treat").astype(int))[["time", "event", "treat"]]
    return float(np.exp(CoxPHFitter().fit(df, "time", "event").params_["treat"]))


def km_median(g: pd.DataFrame) -> float:
    return float(KaplanMeierFitter().fit(g["time"], g["event"]).median_survival_time_)


def compare(ipd: pd.DataFrame, km: pd.DataFrame, rec: pd.DataFrame) -> dict[str, dict]:
    """Per arm: median gap (months), original KM at the reconstructed median, the largest
    |S_rec - S_digitised| at the digitised times (all, and while >= 10 were at risk)."""
    out = {}
    for arm in ARMS:
        o, r = ipd[ipd["arm"] == arm], rec[rec["arm"] == arm]
        pts = clean_km(km[km["arm"] == arm])
        t = pts["time"].to_numpy()
        many = np.array([(o["time"] >= x).sum() >= 10 for x in t])
        d_s = np.abs(at(km_step(r), t) - pts["survival"].to_numpy())
        m_rec = km_median(r)
        out[arm] = {
            "median_gap": m_rec - km_median(o),
            "s_orig_at_median": float(at(km_step(o), np.array([m_rec]))[0]),
            "dS": d_s.max(),
            "dS_10": d_s[many].max(),
            "events": int(o["event"].sum()),
        }
    return out


def median_ok(c: dict, months: float) -> bool:
    """Within `months`; or, where the original KM sits within digitisation noise of 0.5 over a
    flat stretch, the median may move one digitised point (<= 1 month) as long as the original
    KM at the reconstructed median is still within 0.03 of 0.5."""
    gap = abs(c["median_gap"])
    return gap <= months or (gap <= 1.0 and abs(c["s_orig_at_median"] - 0.5) <= 0.03)


@pytest.mark.parametrize("seed", SEEDS)
def test_round_trip_with_risk_table(seed):
    ipd = simulate(seed)
    km, risk = digitise(ipd, seed), risk_table(ipd)
    total = ipd.groupby("arm")["event"].sum().to_dict()
    rec, acc = reconstruct(km, risk, total_events=total)
    assert list(acc["arm"]) == list(ARMS) and (acc["n"] == N).all()
    assert abs(cox_hr(rec) / cox_hr(ipd) - 1) <= 0.05
    cmp = compare(ipd, km, rec)
    for arm, row in acc.set_index("arm").iterrows():
        c, r = cmp[arm], rec[rec["arm"] == arm]
        assert median_ok(c, 0.5), (arm, c)
        assert c["dS_10"] <= 0.02, (arm, c)
        assert row["max_abs_delta_S"] == pytest.approx(c["dS"])  # lifelines agrees
        assert row["max_abs_delta_S"] <= 0.2  # the tail, with 1-5 patients left, moves most
        published = risk[risk["arm"] == arm]
        gaps = [(r["time"] >= t).sum() - n for t, n in published[["time", "n_at_risk"]].values]
        assert row["max_abs_delta_at_risk"] == max(map(abs, gaps)) <= 2  # noise-free: 0
        assert abs(row["events"] - c["events"]) <= 2


@pytest.mark.parametrize("seed", SEEDS)
def test_round_trip_without_risk_table(seed):
    """Only n and the total events: censoring is spread evenly, so looser checks."""
    ipd = simulate(seed)
    km = digitise(ipd, seed)
    total = ipd.groupby("arm")["event"].sum().to_dict()
    rec, acc = reconstruct(km, None, total_n=dict.fromkeys(ARMS, N), total_events=total)
    assert abs(cox_hr(rec) / cox_hr(ipd) - 1) <= 0.10
    assert acc["max_abs_delta_at_risk"].isna().all()
    cmp = compare(ipd, km, rec)
    for arm, row in acc.set_index("arm").iterrows():
        c = cmp[arm]
        assert abs(c["median_gap"]) <= 1.5, (arm, c)
        assert c["dS_10"] <= 0.02, (arm, c)
        assert row["events"] == c["events"]
        assert row["max_abs_delta_S"] <= 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_noise_free_curve_matches_every_published_count(seed):
    ipd = simulate(seed)
    km = pd.concat(
        pd.DataFrame({"arm": arm, "time": sf.index, "survival": sf.to_numpy()})
        for arm, sf in ((a, km_step(g)) for a, g in ipd.groupby("arm", sort=False))
    )
    risk = risk_table(ipd)
    total = ipd.groupby("arm")["event"].sum().to_dict()
    _, acc = reconstruct(km, risk, total_events=total)
    assert (acc["max_abs_delta_at_risk"] == 0).all()
    # extra events before the last table time cannot be removed (Guyot): at most 2 here
    assert (acc.set_index("arm")["events"] - pd.Series(total)).abs().max() <= 2
    _, acc = reconstruct(km, None, total_n=dict.fromkeys(ARMS, N), total_events=total)
    assert acc.set_index("arm")["events"].to_dict() == total


def test_uncensored_curve_gives_back_the_event_times():
    km = pd.DataFrame({"time": np.arange(1.0, 11.0), "survival": np.arange(9, -1, -1) / 10})
    risk = pd.DataFrame({"time": [0.0, 5.0], "n_at_risk": [10, 6]})
    for r, n0 in ((risk, None), (None, 10)):
        ipd = reconstruct_arm(km, r, n0, None)
        assert ipd["time"].tolist() == list(np.arange(1.0, 11.0))
        assert ipd["event"].tolist() == [1] * 10


def test_censoring_is_placed_to_match_the_risk_table():
    # 20 patients; S drops by 1/20 at months 1 and 2; 5 censored before month 3;
    # then 13 at risk and one event at month 4 (S * 12/13)
    km = pd.DataFrame({"time": [1.0, 2.0, 4.0], "survival": [0.95, 0.90, 0.90 * 12 / 13]})
    risk = pd.DataFrame({"time": [0.0, 3.0], "n_at_risk": [20, 13]})
    ipd = reconstruct_arm(km, risk, None, total_events=3)
    assert len(ipd) == 20 and ipd["event"].sum() == 3
    assert (ipd["time"] >= 3).sum() == 13
    assert ipd.loc[ipd["event"] == 1, "time"].tolist() == [1.0, 2.0, 4.0]
    cens = ipd.loc[(ipd["event"] == 0) & (ipd["time"] < 3), "time"]
    assert len(cens) == 5 and cens.between(0, 3).all()


finite = st.floats(-1, 50, allow_nan=False)


@given(st.lists(st.tuples(finite, st.floats(-0.5, 1.5, allow_nan=False)), max_size=60))
def test_clean_km_always_gives_a_valid_curve(points):
    km = pd.DataFrame(points, columns=["time", "survival"], dtype=float)
    c = clean_km(km)
    t, s = c["time"].to_numpy(), c["survival"].to_numpy()
    assert t[0] == 0 and s[0] == 1
    assert np.all(np.diff(t) > 0) and np.all(np.diff(s) <= 0)
    assert np.all((s >= 0) & (s <= 1))
    assert set(t[1:]) == {x for x, _ in points if x > 0}
    for x, y in points:  # never above any reading at or before its time
        if x > 0:
            assert s[t >= x].max(initial=0) <= max(min(y, 1), 0)


def test_clean_km_keeps_the_lowest_reading_and_removes_bumps():
    km = pd.DataFrame({"time": [2, 1, 1, 3, 0], "survival": [0.85, 0.9, 0.8, 0.82, 0.99]})
    c = clean_km(km)
    assert c["time"].tolist() == [0, 1, 2, 3]
    assert c["survival"].tolist() == [1, 0.8, 0.8, 0.8]


# ----------------------------------------------------------------------------- bad input

GOOD_KM = "arm,time,survival\nA,0,1\nA,1,0.9\nB,0,1\nB,2,0.8\n"
GOOD_RISK = "arm,time,n_at_risk\nA,0,10\nA,2,9\nB,0,10\nB,1,10\n"


def one_line_error(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as err:
        fn(*args, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arm,time\nA,0\n", "missing column(s) survival"),
        ("arm,time,survival\n", "no data rows"),
        ("arm,time,survival\nA,0,1\nA,x,0.9\n", "line 3: column 'time': not a finite number"),
        ("arm,time,survival\nA,0,1\nA,1,\n", "line 3: column 'survival': missing value"),
        ("arm,time,survival\nA,0,1\n,1,0.5\n", "line 3: column 'arm': missing value"),
        ("arm,time,survival\nA,0,1\nA,1,nan\n", "line 3: column 'survival': not a finite"),
        ("arm,time,survival\nA,0,1\nA,-1,0.9\n", "line 3: column 'time': negative time"),
        ("arm,time,survival\nA,0,100\nA,1,85\n", "line 2: column 'survival': outside 0-1"),
        ("arm,time,survival\nA,0,1\nA,1,-0.1\n", "line 3: column 'survival': outside 0-1"),
    ],
)
def test_bad_km_file(tmp_path, text, expected):
    p = tmp_path / "km.csv"
    p.write_text(text)
    msg = one_line_error(load_km_csv, p)
    assert str(p) in msg and expected in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arm,time\nA,0\n", "missing column(s) n_at_risk"),
        ("arm,time,n_at_risk\nA,0,10\nA,3,x\n", "line 3: column 'n_at_risk': not a finite"),
        ("arm,time,n_at_risk\nA,0,10\nA,3,8.5\n", "line 3: column 'n_at_risk': not a count"),
        ("arm,time,n_at_risk\nA,0,10\nA,3,-1\n", "line 3: column 'n_at_risk': not a count"),
        ("arm,time,n_at_risk\nA,1,10\nA,3,8\n", "line 2: arm 'A': risk table must start at time 0"),
        ("arm,time,n_at_risk\nA,0,10\nA,3,8\nA,3,7\n", "line 4: arm 'A': risk-table time 3"),
        ("arm,time,n_at_risk\nA,0,10\nA,6,8\nA,3,7\n", "not after the previous time 6"),
        ("arm,time,n_at_risk\nB,0,5\nA,0,10\nA,3,11\n", "line 4: arm 'A': n_at_risk 11 exc"),
    ],
)
def test_bad_risk_file(tmp_path, text, expected):
    p = tmp_path / "risk.csv"
    p.write_text(text)
    msg = one_line_error(load_risk_csv, p)
    assert str(p) in msg and expected in msg


def test_missing_and_unreadable_files(tmp_path):
    assert "KM curve file not found" in one_line_error(load_km_csv, tmp_path / "none.csv")
    assert "risk table file not found" in one_line_error(load_risk_csv, tmp_path / "none.csv")
    p = tmp_path / "empty.csv"
    p.write_text("")
    assert "cannot read as CSV" in one_line_error(load_km_csv, p)
    p.write_text('arm,time,survival\nA,0,"1\n')
    assert "cannot read as CSV" in one_line_error(load_km_csv, p)


@pytest.fixture
def good(tmp_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    (tmp_path / "km.csv").write_text(GOOD_KM)
    (tmp_path / "risk.csv").write_text(GOOD_RISK)
    return load_km_csv(tmp_path / "km.csv"), load_risk_csv(tmp_path / "risk.csv")


def test_good_files_reconstruct(good):
    km, risk = good
    ipd, acc = reconstruct(km, risk, total_events={"A": 1})
    assert list(ipd.columns) == ["arm", "time", "event"]
    assert acc[["arm", "n", "events"]].to_dict("records") == [
        {"arm": "A", "n": 10, "events": 1},
        {"arm": "B", "n": 10, "events": 2},
    ]
    assert (acc["max_abs_delta_at_risk"] == 0).all()


def test_bad_arms_and_totals(good):
    km, risk = good
    msg = one_line_error(reconstruct, km, risk[risk["arm"] == "A"].assign(arm="C"))
    assert "KM data (A, B)" in msg and "risk table (C)" in msg
    msg = one_line_error(reconstruct, km, None, total_n={"A": 10})
    assert "arm 'B'" in msg and "no risk table and no total n" in msg
    msg = one_line_error(reconstruct, km, risk, total_n={"Z": 10})
    assert "total_n: unknown arm(s) Z" in msg
    msg = one_line_error(reconstruct, km, risk, total_events={"Q": 1})
    assert "total_events: unknown arm(s) Q" in msg
    msg = one_line_error(reconstruct, km, risk, total_events={"A": 11})
    assert "arm 'A'" in msg and "total events 11 exceed the number of patients 10" in msg
    msg = one_line_error(reconstruct, km, None, dict(A=10, B=10), total_events={"B": -1})
    assert "arm 'B': total events must be a whole number >= 0" in msg
    msg = one_line_error(reconstruct, km, risk, total_n={"A": 12})
    assert "total n 12 differs from n_at_risk 10 at time 0" in msg
    msg = one_line_error(reconstruct, km, None, total_n={"A": 0, "B": 5})
    assert "total n must be a whole number >= 1" in msg


def test_bad_frames_are_reported_by_row(good):
    km, risk = good
    msg = one_line_error(reconstruct, km.assign(survival=[1, 0.9, 1, 1.2]), risk)
    assert msg.startswith("KM data: row 4: column 'survival': outside 0-1")
    msg = one_line_error(reconstruct, km.drop(columns="arm"), risk)
    assert "KM data: missing column(s) arm" in msg
    msg = one_line_error(reconstruct_arm, km[["time", "survival"]], None, None, None)
    assert "KM curve: no risk table and no total n" in msg
