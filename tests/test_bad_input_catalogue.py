"""The catalogue of malformed inputs, tried as a user would: every one gives exit code 2, one
line naming the problem and where, no traceback, and leaves earlier results byte-for-byte."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from bayes_btc.cli import app
from bayes_btc.output.contract import MARKER
from bayes_btc.output.folder import marker_text
from tests.conftest import BUNDLED_TRIAL, DEFAULT_PLAN

TRIAL = BUNDLED_TRIAL.read_text()
PLAN = DEFAULT_PLAN.read_text()
IPD_OK = "arm,time,event\nA,3.5,1\nB,2.0,1\nA,4.0,0\nB,5.5,1\n"
ADAM_OK = (
    "USUBJID,PARAMCD,AVAL,AVALU,CNSR,TRT01P\n"
    "S1,OS,100,DAYS,0,A\nS2,OS,200,DAYS,1,B\nS3,OS,150,DAYS,0,B\nS4,OS,90,DAYS,1,A\n"
)
KM_OK = "arm,time,survival\nA,0,1\nA,2,0.8\nA,4,0.6\nB,0,1\nB,2,0.7\nB,4,0.5\n"
RISK_OK = "arm,time,n_at_risk\nA,0,20\nA,2,15\nB,0,20\nB,2,14\n"


def as_fractions(text: str) -> str:
    """Every percentage of the spec written as a fraction ("39.4" -> "0.394")."""

    def frac(m: re.Match) -> str:
        return f'{m[1]} = "{Decimal(m[2]) / 100}"'

    out = re.sub(r'(\b[A-Z]\w*) = "([0-9.]+)"', frac, text)
    assert out != text
    return out


def trial(old: str, new: str) -> tuple[str, str]:
    assert old in TRIAL, old
    return "trial.toml", TRIAL.replace(old, new, 1)


def plan(old: str, new: str) -> tuple[str, str]:
    assert old in PLAN, old
    return "plan.toml", PLAN.replace(old, new, 1)


FIT_IPD = ["fit", "--quick", "--ipd", "{f}", "--treatment", "A", "--control", "B"]
FIT_ADAM = ["fit", "--quick", "--adtte", "{f}", "--treatment", "A", "--control", "B"]
RECON = ["reconstruct", "--km", "{f}", "--at-risk", "{r}", "--out", "{o}"]

# (id, file written, CLI args with {f} = that file, expected words in the message)
CASES = [
    ("trial-missing-file", None, ["fit", "--trial", "{d}/nope.toml"], "trial spec not found"),
    ("trial-invalid-toml", trial("[trial]", "[trial"), ["fit", "--trial", "{f}"], "invalid TOML"),
    (
        "trial-missing-field",
        trial("hr = 1.33\n", ""),
        ["fit", "--trial", "{f}"],
        "field 'survival.PFS.hr': required",
    ),
    (
        "trial-wrong-type",
        trial("randomised = 33", 'randomised = "many"'),
        ["fit", "--trial", "{f}"],
        "field 'arms.TP.randomised'",
    ),
    (
        "trial-percent-over-100",
        trial('TP = "61"', 'TP = "161"'),
        ["fit", "--trial", "{f}"],
        "outside 0-100",
    ),
    (
        "trial-percent-not-number",
        trial('TP = "61"', 'TP = "sixty"'),
        ["fit", "--trial", "{f}"],
        "not a number",
    ),
    (
        "trial-ci-excludes-hr",
        trial("ci = [0.61, 2.91]", "ci = [1.4, 2.91]"),
        ["fit", "--trial", "{f}"],
        "does not contain the HR",
    ),
    (
        "trial-ci-reversed",
        trial("ci = [0.61, 2.91]", "ci = [2.91, 0.61]"),
        ["fit", "--trial", "{f}"],
        "not below the upper limit",
    ),
    (
        "trial-unknown-arm",
        trial("median_months = { TP = 7.7", "median_months = { XP = 7.7"),
        ["fit", "--trial", "{f}"],
        "needs exactly the arms",
    ),
    (
        "trial-unknown-field",
        trial("hr = 1.33", "hr = 1.33\nhazard = 2"),
        ["fit", "--trial", "{f}"],
        "unknown field",
    ),
    ("plan-invalid-toml", plan("[margins]", "[margins"), ["fit", "--plan", "{f}"], "invalid TOML"),
    (
        "plan-hr-margin-not-positive",
        plan("hr = 1.3  ", "hr = -0.8  "),
        ["fit", "--plan", "{f}"],
        "field 'margins.hr'",
    ),
    (
        "plan-orr-margin-out-of-range",
        plan("efficacy_rate_diff = -0.10", "efficacy_rate_diff = 1.5"),
        ["fit", "--plan", "{f}"],
        "margins.efficacy_rate_diff",
    ),
    (
        "plan-threshold-out-of-range",
        plan("decision_threshold = 0.975", "decision_threshold = 1.5"),
        ["fit", "--plan", "{f}"],
        "decision_threshold",
    ),
    (
        "plan-unsorted-cuts",
        plan("# cuts = [2, 4, 6, 9, 12]", "cuts = [4, 2, 6]"),
        ["fit", "--plan", "{f}"],
        "strictly increasing",
    ),
    (
        "plan-bad-prior",
        plan("tail_prob = 0.05\n", "tail_prob = 0.7\n"),
        ["fit", "--plan", "{f}"],
        "priors.log_hr.skeptical.tail_prob",
    ),
    (
        "plan-unknown-endpoint",
        plan('endpoints = "all"', 'endpoints = ["DFS"]'),
        ["fit", "--plan", "{f}"],
        "not reported by the trial",
    ),
    ("unknown-prior-name", None, ["fit", "--prior", "optimistic"], "unknown prior name"),
    ("output-not-writable", None, ["fit", "--out", "{d}/afile/results"], "cannot write"),
    ("ipd-missing-file", None, [*FIT_IPD[:3], "{d}/nope.csv", *FIT_IPD[4:]], "not found"),
    (
        "ipd-wrong-columns",
        ("ipd.csv", IPD_OK.replace("event", "status")),
        FIT_IPD,
        "missing column(s) event",
    ),
    (
        "ipd-non-numeric-time",
        ("ipd.csv", IPD_OK.replace("3.5", "abc")),
        FIT_IPD,
        "column 'time', line 2",
    ),
    ("ipd-nan-time", ("ipd.csv", IPD_OK.replace("3.5", "NA")), FIT_IPD, "line 2"),
    ("ipd-negative-time", ("ipd.csv", IPD_OK.replace("3.5", "-3.5")), FIT_IPD, "must be > 0"),
    ("ipd-zero-time", ("ipd.csv", IPD_OK.replace("3.5", "0")), FIT_IPD, "must be > 0"),
    ("ipd-bad-event-code", ("ipd.csv", IPD_OK.replace("3.5,1", "3.5,2")), FIT_IPD, "0 or 1"),
    ("ipd-unknown-arm", ("ipd.csv", IPD_OK + "C,1.0,1\n"), FIT_IPD, "'C'"),
    (
        "ipd-empty-arm",
        ("ipd.csv", "arm,time,event\nA,3.5,1\nA,2.0,1\n"),
        FIT_IPD,
        "control arm 'B'",
    ),
    (
        "ipd-no-events",
        ("ipd.csv", IPD_OK.replace("B,2.0,1", "B,2.0,0").replace("B,5.5,1", "B,5.5,0")),
        FIT_IPD,
        "no events",
    ),
    (
        "ipd-cut-beyond-follow-up",
        ("ipd.csv", IPD_OK),
        [*FIT_IPD, "--plan", "{d}/plan.toml"],
        "not below the end of follow-up",
    ),
    (
        "adam-duplicate-subject",
        ("adtte.csv", ADAM_OK.replace("S2,", "S1,")),
        FIT_ADAM,
        "USUBJID 'S1' appears more than once",
    ),
    (
        "adam-bad-cnsr",
        ("adtte.csv", ADAM_OK.replace("DAYS,1,B", "DAYS,3,B", 1)),
        FIT_ADAM,
        "column 'CNSR'",
    ),
    (
        "adam-unknown-unit",
        ("adtte.csv", ADAM_OK.replace("100,DAYS", "100,HOURS")),
        FIT_ADAM,
        "unknown unit 'HOURS'",
    ),
    (
        "adam-missing-trt",
        ("adtte.csv", ADAM_OK.replace("TRT01P", "TRT")),
        FIT_ADAM,
        "TRT01P (or ARM)",
    ),
    ("adam-wrong-suffix", ("adtte.txt", ADAM_OK), FIT_ADAM, "unsupported file type"),
    ("km-survival-over-1", ("km.csv", KM_OK.replace("0.8", "1.8")), RECON, "survival"),
    ("km-negative-time", ("km.csv", KM_OK.replace("A,2,0.8", "A,-2,0.8")), RECON, "time"),
    (
        "risk-not-monotone",
        ("km.csv", KM_OK),
        [*RECON, "--at-risk", "{d}/risk_bad.csv"],
        "n_at_risk",
    ),
    ("km-arms-not-matching", ("km.csv", KM_OK.replace("B,", "C,")), RECON, "arm"),
    # added with the second round of misuse tests
    (
        "plan-no-endpoints",
        plan('endpoints = "all"', "endpoints = []"),
        ["fit", "--plan", "{f}"],
        "name at least one endpoint",
    ),
    (
        "trial-randomised-10-to-12",
        trial("randomised = 33", "randomised = 1000000000000"),
        ["fit", "--trial", "{f}"],
        "less than or equal to 1000000",
    ),
    (
        "trial-evaluable-huge-denominator",
        trial('denominator = "randomised"', "denominator = { TP = 10000000000, GP = 34 }"),
        ["fit", "--trial", "{f}"],
        "less than or equal to 1000000",
    ),
    (
        "trial-percent-as-fractions",
        ("trial.toml", as_fractions(TRIAL)),
        ["fit", "--trial", "{f}"],
        "every percentage is below 1",
    ),
    (
        "trial-denominator-unknown-word",
        trial('denominator = "randomised"', 'denominator = "evaluable"'),
        ["fit", "--trial", "{f}"],
        "should be 'randomised' or a table of one number per arm",
    ),
    (
        "trial-arm-name-with-space",
        trial('treatment = "TP"', 'treatment = "T P"'),
        ["fit", "--trial", "{f}"],
        "letters, digits and _",
    ),
    (
        "trial-two-problems",
        trial("hr = 1.33", 'hr = "high"\nhazard = 2'),
        ["fit", "--trial", "{f}"],
        "(1 other problem in the file)",
    ),
    (
        "ipd-one-patient-per-arm",
        ("ipd.csv", "arm,time,event\nA,3.5,1\nB,2.0,1\n"),
        FIT_IPD,
        "needs at least 2 patients per arm",
    ),
    (
        "km-survival-rises",
        ("km.csv", KM_OK.replace("A,2,0.8\nA,4,0.6", "A,2,0.3\nA,4,0.9")),
        RECON,
        "survival rises from 0.3 at 2 months to 0.9",
    ),
    ("reconstruct-out-is-a-folder", ("km.csv", KM_OK), [*RECON[:-1], "{d}"], "it is a folder"),
]

JARGON = ("literal[", "(and ", "^[", "function-after", "Input should", "String should")


@pytest.mark.parametrize(
    ("file", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input(runner, tmp_path: Path, file, args, expected):
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "risk.csv").write_text(RISK_OK)
    (tmp_path / "risk_bad.csv").write_text(RISK_OK.replace("A,2,15", "A,2,25"))
    (tmp_path / "plan.toml").write_text(PLAN.replace("# cuts = [2, 4, 6, 9, 12]", "cuts = [2, 40]"))
    path = tmp_path / "given"
    if file is not None:
        path = tmp_path / file[0]
        path.write_text(file[1])
    results = tmp_path / "results"
    results.mkdir()
    (results / MARKER).write_text(marker_text())
    (results / "summary.csv").write_text("earlier results\n")
    (tmp_path / "out.csv").write_text("earlier output\n")
    subs = {
        "{f}": str(path),
        "{d}": str(tmp_path),
        "{r}": str(tmp_path / "risk.csv"),
        "{o}": str(tmp_path / "out.csv"),
    }
    argv = []
    for a in args:
        for k, v in subs.items():
            a = a.replace(k, v)
        argv.append(a)
    if argv[0] == "fit" and "--out" not in argv:
        argv += ["--out", str(results)]
    r = runner.invoke(app, argv)
    assert r.exit_code == 2, (r.output, r.exception)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert not [j for j in JARGON if j in lines[0]], lines[0]
    assert "Traceback" not in r.output
    assert sorted(p.name for p in results.iterdir()) == [MARKER, "summary.csv"]
    assert (results / "summary.csv").read_text() == "earlier results\n"
    assert (tmp_path / "out.csv").read_text() == "earlier output\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_catalogue_is_at_least_30_cases():
    assert len(CASES) >= 30
