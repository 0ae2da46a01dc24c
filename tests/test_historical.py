"""The bundled historical control data: every figure sourced, and the MAP model inputs."""

from __future__ import annotations

import math

import pytest

from bayes_btc.errors import InputError
from bayes_btc.inputs.historical import binomial_series, load_historical, log_median_series


@pytest.fixture(scope="module")
def data():
    return load_historical()[0]


def test_every_figure_has_a_basis_and_a_source(data):
    assert len(data.trial) >= 4
    for t in data.trial:
        assert t.reference and t.url.startswith("http")
        assert set(t.figures) <= set(data.endpoints)
        for fig in (t.n, *t.figures.values()):
            if fig is not None:
                assert fig.basis in ("published", "derived", "assumed")
                assert len(fig.source) > 20, (t.name, fig)
                if fig.basis != "published":
                    assert fig.note, (t.name, "a derived or assumed figure says how")
        orr = t.figure("ORR")
        if orr is not None:
            assert orr.denominator_basis == "assumed" and orr.denominator_note
    assert data.excluded, "figures that could not be confirmed are listed as excluded"


def test_response_counts_apply_the_printed_percent_to_the_denominator(data):
    s = binomial_series(data, "ORR")
    assert s is not None
    for name, k, n in zip(s.trials, s.events, s.n, strict=True):
        t = next(t for t in data.trial if t.name == name)
        assert n == t.figure("ORR").denominator
        assert abs(k / n - float(t.figure("ORR").percent) / 100) <= 0.5 / n + 1e-12


def test_log_median_se_from_the_ci_else_from_n(data):
    s = log_median_series(data, "OS")
    assert s is not None
    for name, y, se, basis in zip(s.trials, s.log_median, s.se, s.se_basis, strict=True):
        t = next(t for t in data.trial if t.name == name)
        os_ = t.figure("OS")
        assert y == pytest.approx(math.log(os_.median))
        if os_.ci is not None:
            lo, hi = os_.ci
            assert se == pytest.approx((math.log(hi) - math.log(lo)) / (2 * 1.959964), 1e-6)
        else:
            assert se == pytest.approx(t.n.value**-0.5) and "assumes" in basis
    assert binomial_series(data, "AE_rash_allergy") is None  # no historical data: no series


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "median = 13.6\nci = [9.7, 16.6]",
            "median = 13.6\nci = [9.7, 12.0]",
            "excludes the median",
        ),
        ('percent = "18.7"', 'percent = "187"', "within 0-100"),
        ('basis = "published"', 'basis = "remembered"', "field 'trial.0.n.basis'"),
        ('OS = "median"   ', 'DFS = "median"  ', "does not declare"),
        ('regimen = "gemcitabine + cisplatin"\n', "", "field 'regimen'"),
    ],
)
def test_bad_historical_file_is_one_line(tmp_path, old, new, expected):
    from importlib import resources

    text = (resources.files("bayes_btc.data") / "historical_gp.toml").read_text()
    assert old in text
    path = tmp_path / "hist.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        load_historical(path)
    assert expected in str(err.value) and "\n" not in str(err.value)
