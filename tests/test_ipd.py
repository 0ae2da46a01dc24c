from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines.datasets import load_leukemia

from bayes_btc.errors import InputError
from bayes_btc.inputs.ipd import DAYS_PER_MONTH, from_frame, load_adtte, load_ipd_csv

PLAIN = "arm,time,event\nA,1.5,1\nA,2,0\nA,3,1\nB,4,1\nB,5,0\nB,6,0\n"
ADAM = (
    "USUBJID,PARAMCD,AVAL,AVALU,CNSR,TRT01P\n"
    "S1,OS,30.4375,DAYS,0,A\n"
    "S2,OS,60.875,DAYS,1,A\n"
    "S3,OS,91.3125,DAYS,0,B\n"
    "S4,OS,121.75,DAYS,1,B\n"
    "S1,PFS,1,MONTHS,0,A\n"
    "S2,PFS,2,MONTHS,0,A\n"
    "S3,PFS,3,MONTHS,0,B\n"
    "S4,PFS,4,MONTHS,1,B\n"
)


def _write(tmp_path: Path, text: str, name: str = "ipd.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _one_line_error(call, *expected: str) -> str:
    with pytest.raises(InputError) as err:
        call()
    msg = str(err.value)
    assert "\n" not in msg and "\r" not in msg
    for part in expected:
        assert part in msg, f"{part!r} not in {msg!r}"
    return msg


# --- real data: GBSG-2 trial (lifelines), hormonal therapy yes/no, survival in days -------------


def test_real_trial_identical_through_all_three_loaders(gbsg2_files):
    d, files = gbsg2_files
    plain = load_ipd_csv(files["plain"], "HORM", "NOHORM", endpoint="OS")
    by_csv = load_adtte(files["csv"], "HORM", "NOHORM")
    by_xpt = load_adtte(files["xpt"], "HORM", "NOHORM", endpoints=["OS"])
    assert list(by_csv) == list(by_xpt) == ["OS"]
    for ipd in (by_csv["OS"], by_xpt["OS"]):
        np.testing.assert_array_equal(ipd.arm, plain.arm)
        np.testing.assert_array_equal(ipd.event, plain.event)
        np.testing.assert_allclose(ipd.time, plain.time, rtol=0, atol=1e-9)
    # against the source data, not only against each other
    assert len(plain.time) == 686
    assert (plain.arm == "HORM").sum() == 246 and (plain.arm == "NOHORM").sum() == 440
    assert plain.event.sum() == 299  # deaths/recurrences
    assert by_xpt["OS"].event.sum() == 299  # XPORT zeros must not read as 5.4e-79
    np.testing.assert_allclose(by_xpt["OS"].time * DAYS_PER_MONTH, d["time"], atol=1e-9)
    assert by_xpt["OS"].source == f"{files['xpt']} [PARAMCD=OS]"
    assert plain.source == str(files["plain"]) and not plain.reconstructed


def test_real_trial_in_weeks(tmp_path):
    """Freireich's 6-MP leukaemia trial: remission times in weeks."""
    d = load_leukemia()
    adam = pd.DataFrame(
        {
            "USUBJID": [f"L{i}" for i in range(len(d))],
            "PARAMCD": "RFS",
            "AVAL": d["t"],
            "AVALU": "weeks",
            "CNSR": 1 - d["status"],
            "ARM": np.where(d["Rx"] == 1, "CTRL", "MP6"),
        }
    )
    adam.to_csv(tmp_path / "leuk.csv", index=False)
    ipd = load_adtte(tmp_path / "leuk.csv", "MP6", "CTRL")["RFS"]
    np.testing.assert_allclose(ipd.time, d["t"] * 7 / DAYS_PER_MONTH, atol=1e-12)
    assert ipd.event.tolist() == d["status"].tolist()
    assert (ipd.arm_index() == d["Rx"].to_numpy()).all()


# --- plain CSV -----------------------------------------------------------------------------------


def test_plain_csv_values_and_api(tmp_path):
    path = _write(tmp_path, "site,Arm,TIME,Event\n1,A,1.5,1\n2,A,2,0\n\n3,B,4,1\n4,B,5,0\n")
    ipd = load_ipd_csv(path, "A", "B")
    assert ipd.endpoint == "PFS"
    assert ipd.arm.tolist() == ["A", "A", "B", "B"]
    assert ipd.time.tolist() == [1.5, 2.0, 4.0, 5.0]
    assert ipd.event.tolist() == [1, 0, 1, 0] and ipd.event.dtype.kind == "i"
    assert ipd.arm_index().tolist() == [0, 0, 1, 1]
    assert list(ipd.to_frame().columns) == ["arm", "time", "event"]
    with pytest.raises(ValueError):
        ipd.time[0] = 99.0  # read-only


def test_plain_csv_strips_and_accepts_float_codes(tmp_path):
    path = _write(tmp_path, "arm,time,event\n A , 1 ,1.0\nB,2,1\n")
    ipd = load_ipd_csv(path, "A", "B")
    assert ipd.arm.tolist() == ["A", "B"] and ipd.event.tolist() == [1, 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arm,time,status\nA,1,1\nB,2,1\n", ["missing column(s) event", "columns: arm, time"]),
        (
            "arm,time,event\nA,1,1\nB,abc,1\n",
            ["column 'time', line 3", "not a finite number: 'abc'"],
        ),
        ("arm,time,event\nA,1,1\nB,,1\n", ["column 'time', line 3: is empty"]),
        ("arm,time,event\nA,1,1\nB,NA,1\n", ["column 'time', line 3: is missing ('NA')"]),
        ("arm,time,event\nA,1,1\nB,inf,1\n", ["column 'time', line 3", "'inf'"]),
        ("arm,time,event\nA,1,1\nB,-2,1\nB,0,1\n", ["'time', line 3: must be > 0, got -2 (and 1"]),
        ("arm,time,event\nA,1,2\nB,2,1\n", ["'event', line 2: must be 0 or 1", "got 2"]),
        ("arm,time,event\nA,1,yes\nB,2,1\n", ["'event', line 2", "not a finite number: 'yes'"]),
        ("arm,time,event\nA,1,1\n,2,1\nB,2,1\n", ["column 'arm', line 3: is empty"]),
        ("arm,time,event\nA,1,1\n\nB,2,x\n", ["column 'event', line 4"]),  # blank line counted
        (
            "arm,time,event\nA,1,1\nB,2,1\nC,3,1\nD,3,1\n",
            ["column 'arm', line 4: arm label(s) 'C', 'D' are neither", "present: A, B, C, D"],
        ),
        ("arm,time,event\nA,1,1\nA,2,1\n", ["control arm 'B' has no patients", "present: A"]),
        ("arm,time,event\nA,1,1\nB,2,0\nB,3,0\n", ["control arm 'B' has no events among its 2"]),
        ("arm,time,event\nA,1,0\nB,2,1\n", ["treatment arm 'A' has no events among its 1"]),
        ("arm,time,event\n", ["no data rows"]),
        ("", ["empty file"]),
        ("arm,time,event\nA,1,1\nB,2,1,4,5\n", ["cannot read CSV", "line 3"]),
    ],
)
def test_plain_csv_bad_input_is_one_line(tmp_path, text, expected):
    path = _write(tmp_path, text)
    msg = _one_line_error(lambda: load_ipd_csv(path, "A", "B"), *expected)
    assert msg.startswith(str(path))


def test_plain_csv_file_problems(tmp_path):
    _one_line_error(lambda: load_ipd_csv(tmp_path / "nope.csv", "A", "B"), "not found", "nope.csv")
    _one_line_error(lambda: load_ipd_csv(tmp_path, "A", "B"), "is not a file")
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"arm,time,event\n\xff\xfe\x00A,1,1\n")
    _one_line_error(lambda: load_ipd_csv(bad, "A", "B"), str(bad), "not UTF-8")
    path = _write(tmp_path, PLAIN)
    _one_line_error(lambda: load_ipd_csv(path, "A", "Z"), "control arm 'Z'", "present: A, B")
    _one_line_error(lambda: load_ipd_csv(path, "A", "A"), "same arm label 'A'")


# --- ADaM ADTTE ----------------------------------------------------------------------------------


def test_adtte_all_endpoints_and_units(tmp_path):
    out = load_adtte(_write(tmp_path, ADAM), "A", "B")
    assert list(out) == ["OS", "PFS"]  # file order
    os_ = out["OS"]
    assert os_.time.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert os_.event.tolist() == [1, 0, 1, 0]  # event = 1 - CNSR
    assert out["PFS"].event.tolist() == [1, 1, 1, 0]
    asked = load_adtte(tmp_path / "ipd.csv", "A", "B", endpoints=["PFS", "OS"])
    assert list(asked) == ["PFS", "OS"]
    assert list(load_adtte(tmp_path / "ipd.csv", "A", "B", endpoints=["PFS"])) == ["PFS"]
    assert list(load_adtte(tmp_path / "ipd.csv", "A", "B", endpoints="OS")) == ["OS"]


@pytest.mark.parametrize(
    ("unit", "aval", "months"),
    [
        ("DAYS", 365.25, 12.0),
        ("days", 30.4375, 1.0),
        ("Day", 60.875, 2.0),
        ("WEEKS", 30.4375, 7.0),
        ("MONTHS", 7.5, 7.5),
        ("years", 2.0, 24.0),
    ],
)
def test_adtte_units_to_months(tmp_path, unit, aval, months):
    text = f"USUBJID,PARAMCD,AVAL,AVALU,CNSR,ARM\n1,OS,{aval},{unit},0,A\n2,OS,1,MONTHS,0,B\n"
    ipd = load_adtte(_write(tmp_path, text), "A", "B")["OS"]
    assert ipd.time[0] == pytest.approx(months, rel=1e-15)


def _adam(old: str, new: str) -> str:
    assert old in ADAM
    return ADAM.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "USUBJID,PARAMCD,AVAL,CNSR\n1,OS,1,0\n",
            ["missing ADTTE column(s) AVALU, TRT01P (or ARM)", "columns: USUBJID"],
        ),
        (
            _adam("S3,OS,91.3125,DAYS,0,B", "S3,OS,91.3125,DAYS,2,B"),
            ["[PARAMCD=OS]: column 'CNSR', line 4 (USUBJID S3)", "1 = censored", "got 2"],
        ),
        (
            _adam("S3,OS,91.3125,DAYS,0,B", "S3,OS,91.3125,DAYS,,B"),
            ["column 'CNSR', line 4 (USUBJID S3): is empty"],
        ),
        (
            _adam("S2,PFS,2,MONTHS", "S2,PFS,two,MONTHS"),
            ["[PARAMCD=PFS]: column 'AVAL', line 7 (USUBJID S2)", "'two'"],
        ),
        (
            _adam("S2,PFS,2,MONTHS", "S2,PFS,0,MONTHS"),
            ["column 'AVAL', line 7 (USUBJID S2): must be > 0, got 0"],
        ),
        (
            _adam("S4,OS,121.75,DAYS", "S4,OS,121.75,HOURS"),
            ["column 'AVALU', line 5 (USUBJID S4): unknown unit 'HOURS'", "DAYS, WEEKS"],
        ),
        (
            _adam("S4,PFS,4,MONTHS,1,B", "S3,PFS,4,MONTHS,1,B"),
            ["[PARAMCD=PFS]: USUBJID 'S3' appears more than once (line 8 and line 9)"],
        ),
        (_adam("S1,OS,30.4375,DAYS,0,A", ",OS,30.4375,DAYS,0,A"), ["'USUBJID', line 2: is empty"]),
        (_adam("S4,PFS,4,MONTHS,1,B", "S4,,4,MONTHS,1,B"), ["column 'PARAMCD', line 9: is empty"]),
        (
            _adam("S3,PFS,3,MONTHS,0,B", "S3,PFS,3,MONTHS,0,A").replace(
                "S4,PFS,4,MONTHS,1,B", "S4,PFS,4,MONTHS,1,A"
            ),
            ["[PARAMCD=PFS]: control arm 'B' has no patients in column 'TRT01P'"],
        ),
        (
            _adam("S1,PFS,1,MONTHS,0,A", "S1,PFS,1,MONTHS,1,A").replace(
                "S2,PFS,2,MONTHS,0,A", "S2,PFS,2,MONTHS,1,A"
            ),
            ["[PARAMCD=PFS]: treatment arm 'A' has no events among its 2 patients"],
        ),
        (
            _adam("S4,OS,121.75,DAYS,1,B", "S4,OS,121.75,DAYS,1,C"),
            ["[PARAMCD=OS]: column 'TRT01P', line 5 (USUBJID S4): arm label(s) 'C' are neither"],
        ),
    ],
)
def test_adtte_bad_input_is_one_line(tmp_path, text, expected):
    path = _write(tmp_path, text)
    msg = _one_line_error(lambda: load_adtte(path, "A", "B"), *expected)
    assert msg.startswith(str(path))


def test_adtte_endpoint_and_arm_and_file_problems(tmp_path):
    path = _write(tmp_path, ADAM)
    _one_line_error(
        lambda: load_adtte(path, "A", "B", endpoints=["OS", "DFS"]),
        "PARAMCD DFS not in the file",
        "PARAMCD values present: OS, PFS",
    )
    _one_line_error(lambda: load_adtte(path, "A", "B", endpoints=[]), "(none asked)")
    _one_line_error(
        lambda: load_adtte(path, "EXP", "B"),
        "treatment arm 'EXP' is not in column 'TRT01P' of the file",
        "arm labels present: A, B",
    )
    txt = _write(tmp_path, ADAM, "adtte.txt")
    _one_line_error(lambda: load_adtte(txt, "A", "B"), "unsupported file type '.txt'", ".xpt")
    junk = tmp_path / "junk.xpt"
    junk.write_bytes(b"this is not a SAS transport file\n" * 10)
    _one_line_error(lambda: load_adtte(junk, "A", "B"), str(junk), "cannot read SAS XPORT")
    _one_line_error(lambda: load_adtte(tmp_path / "none.xpt", "A", "B"), "not found")


def test_adtte_xpt_errors_name_the_record(tmp_path):
    df = pd.read_csv(_write(tmp_path, ADAM))
    df.loc[2, "CNSR"] = 3
    path = tmp_path / "bad.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    _one_line_error(
        lambda: load_adtte(path, "A", "B"),
        "[PARAMCD=OS]: column 'CNSR', record 3 (USUBJID S3)",
        "got 3",
    )


def test_same_usubjid_in_two_endpoints_is_fine(tmp_path):
    out = load_adtte(_write(tmp_path, ADAM), "A", "B")
    assert len(out["OS"].time) == len(out["PFS"].time) == 4


# --- from_frame ----------------------------------------------------------------------------------


def test_from_frame_names_rows_and_columns():
    df = pd.DataFrame({"arm": ["T", "C"], "time": [1.0, -1.0], "event": [1, 1]})
    _one_line_error(
        lambda: from_frame(df, "T", "C", "OS", "src"), "src: column 'time', row 2: must be > 0"
    )
    _one_line_error(
        lambda: from_frame(
            df, "T", "C", "OS", "km.png", rows=["pt 7", "pt 9"], columns={"time": "t"}
        ),
        "km.png: column 't', pt 9",
    )
    ok = from_frame(df.assign(time=[1.0, 2.0]), "T", "C", "OS", "src", reconstructed=True)
    assert ok.reconstructed and ok.source == "src"
    df.loc[0, "time"] = 5.0
    assert ok.time[0] == 1.0  # a copy, not a view of the caller's frame


labels = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=6)


@st.composite
def valid_frames(draw):
    treatment, control = draw(st.lists(labels, min_size=2, max_size=2, unique=True))
    n = draw(st.integers(2, 40))
    arm = draw(st.lists(st.sampled_from([treatment, control]), min_size=n, max_size=n))
    arm[:2] = [treatment, control]
    time = draw(st.lists(st.floats(1e-6, 1e3, allow_nan=False), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    event[:2] = [1, 1]  # one event in each arm
    order = draw(st.permutations(range(n)))
    df = pd.DataFrame({"arm": arm, "time": time, "event": event}).iloc[order]
    return df.reset_index(drop=True), treatment, control


@settings(max_examples=60, deadline=None)
@given(valid_frames())
def test_from_frame_round_trips(case):
    df, treatment, control = case
    ipd = from_frame(df, treatment, control, "PFS", "prop")
    back = ipd.to_frame()
    assert back["arm"].tolist() == df["arm"].tolist()
    assert back["time"].tolist() == df["time"].tolist()
    assert back["event"].tolist() == df["event"].tolist()
    for k, label in enumerate((treatment, control)):
        assert ipd.event[ipd.arm == label].sum() == df.loc[df["arm"] == label, "event"].sum()
        assert (ipd.arm_index() == k).sum() == (df["arm"] == label).sum()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_frames())
def test_csv_and_adtte_days_round_trip(case):
    df, treatment, control = case
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.csv"
        df.to_csv(plain, index=False)
        adam = pd.DataFrame(
            {
                "USUBJID": [f"P{i}" for i in range(len(df))],
                "PARAMCD": "PFS",
                "AVAL": df["time"] * DAYS_PER_MONTH,
                "AVALU": "DAYS",
                "CNSR": 1 - df["event"],
                "TRT01P": df["arm"],
            }
        )
        adam.to_csv(Path(tmp) / "adtte.csv", index=False)
        a = load_ipd_csv(plain, treatment, control)
        b = load_adtte(Path(tmp) / "adtte.csv", treatment, control)["PFS"]
    np.testing.assert_array_equal(a.time, df["time"])  # CSV text round-trips floats exactly
    np.testing.assert_allclose(b.time, df["time"], rtol=1e-12)
    np.testing.assert_array_equal(a.event, b.event)
    np.testing.assert_array_equal(a.arm, b.arm)
