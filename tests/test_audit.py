from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from bayes_btc.inputs.audit import (
    audit_trial,
    counts_matching,
    denominators_matching,
    nearest_count,
)


def test_known_percentages_on_the_trial_denominators():
    assert list(counts_matching("39.4", 33)) == [13]  # 13/33 = 39.39%
    assert list(counts_matching("35.3", 34)) == [12]  # 12/34 = 35.29%
    assert list(counts_matching("61", 33)) == [20]  # 60.6%
    assert list(counts_matching("56", 33)) == []  # 18/33 = 54.5%, 19/33 = 57.6%
    assert list(counts_matching("67", 34)) == []  # 22/34 = 64.7%, 23/34 = 67.6%
    assert list(counts_matching("50", 4)) == [2]
    assert list(counts_matching("37.5", 8)) == [3]
    assert nearest_count("56", 33) == 18
    assert 25 in denominators_matching("56", 17, 33)  # 14/25 = 56%


def test_audit_flags_every_ae_percentage_no_count_reproduces(spec):
    a = audit_trial(spec)
    t = a.table[a.table["check"] == "percent_vs_denominator"]
    flagged = {(r.endpoint, r.arm) for r in t.itertuples() if not r.consistent}
    # 56%, 46%, 44% of 33 and 67%, 43%, 37% of 34 have no integer count (checked by hand)
    assert flagged == {
        ("AE_liver_kidney", "TP"),
        ("AE_liver_kidney", "GP"),
        ("AE_gastrointestinal", "TP"),
        ("AE_gastrointestinal", "GP"),
        ("AE_rash_allergy", "TP"),
        ("AE_rash_allergy", "GP"),
    }
    assert a.counts["AE_liver_kidney"]["TP"] == (18, 33)
    assert a.counts["ORR"] == {"TP": (13, 33), "GP": (12, 34)}
    row = t[(t.endpoint == "AE_liver_kidney") & (t.arm == "TP")].iloc[0]
    assert "nearest count" in row.used_in_fit and "25" in row.finding


def test_survival_checks(spec):
    t = audit_trial(spec).table
    t = t[t["endpoint"].isin(["PFS", "OS"])].set_index(["endpoint", "check"]).sort_index()
    # PFS: sqrt(0.61 * 2.91) = 1.332 -> symmetric; medians 7.7 vs 7.5 but HR 1.33 > 1
    assert t.loc[("PFS", "ci_symmetric_log_scale"), "consistent"]
    assert t.loc[("PFS", "p_value_vs_ci"), "consistent"]
    assert not t.loc[("PFS", "hr_direction_vs_medians"), "consistent"]
    # OS: sqrt(0.67 * 4.17) = 1.671, not 1.62; p = 0.271 follows from 1.671, not from 1.62
    assert not t.loc[("OS", "ci_symmetric_log_scale"), "consistent"]
    assert not t.loc[("OS", "p_value_vs_ci"), "consistent"]
    assert "0.271" in t.loc[("OS", "p_value_vs_ci"), "finding"]
    assert t.loc[("OS", "hr_direction_vs_medians"), "consistent"]


@given(n=st.integers(1, 400), data=st.data(), decimals=st.integers(0, 2))
def test_any_rounded_percentage_is_reproduced_by_its_count(n, data, decimals):
    """Whatever the rounding convention, the true count is among the matches."""
    k = data.draw(st.integers(0, n))
    exact = Decimal(100 * k) / Decimal(n)
    unit = Decimal(1).scaleb(-decimals)
    for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
        text = str(exact.quantize(unit, rounding=mode))
        assert k in counts_matching(text, n)
        assert n in denominators_matching(text, n, n)
