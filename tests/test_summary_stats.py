"""The fast summary paths against ArviZ and numpy (independent references): ESS from direct
autocovariances (incl. slowly mixing chains, where a lag-truncation error would show),
r_hat/ESS/quantiles from one sort per quantity (ties, odd draws, one chain), summary_table."""

from __future__ import annotations

from dataclasses import replace

import arviz as az
import numpy as np
import pytest
import xarray as xr

import bayes_btc.inference.summary as summary_module
from bayes_btc.inference.cell_stats import sorted_median, sorted_quantiles, summarise
from bayes_btc.inference.geyer import ess_cells
from bayes_btc.inference.mcmc_stats import ess, ess_fft, ess_mean, split_chains
from bayes_btc.inference.summary import SUMMARY_COLUMNS, summary_table
from bayes_btc.models.fit import Fit
from bayes_btc.threads import THREADS_ENV


def ar1(rng: np.random.Generator, chains: int, draws: int, phi: float) -> np.ndarray:
    """AR(1) chains started at stationarity (no burn-in), unit innovations."""
    x = np.empty((chains, draws))
    e = rng.standard_normal((chains, draws))
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


def da(x: np.ndarray) -> xr.DataArray:
    return xr.DataArray(x, dims=("chain", "draw"))


def arviz_mean_ess(x: np.ndarray) -> float:
    return float(az.ess(da(x), method="mean"))


PHIS = (-0.7, 0.0, 0.5, 0.9, 0.97, 0.99, 0.995)


@pytest.mark.parametrize(("chains", "draws"), [(4, 2000), (2, 501), (1, 3000)])
def test_direct_ess_matches_arviz_without_lag_limit(chains: int, draws: int) -> None:
    """The kernel summing autocovariances until Geyer's sequence stops (no FFT fallback),
    on chains whose autocorrelation lasts hundreds of lags."""
    rng = np.random.default_rng(draws)
    cells = [ar1(rng, chains, draws, phi) for phi in PHIS]
    cells.append((ar1(rng, chains, draws, 0.95) > 1.0).astype(float))  # a slow 0/1 indicator
    x = np.ascontiguousarray(split_chains(np.stack(cells)))
    got = ess_cells(x, x.shape[-1] + 16, guess=False)
    ref = [arviz_mean_ess(c) for c in cells]
    np.testing.assert_allclose(got, ref, rtol=1e-8)


def test_direct_ess_hands_long_sequences_to_the_fft() -> None:
    """A small lag limit: slowly mixing cells come back NaN, and `ess` completes them by FFT
    to the same values as ArviZ."""
    rng = np.random.default_rng(1)
    cells = [ar1(rng, 4, 1000, phi) for phi in PHIS]
    x = np.ascontiguousarray(split_chains(np.stack(cells)))
    limited = ess_cells(x, 16, guess=False)
    assert np.isnan(limited[-1]) and np.isfinite(limited[1])  # phi 0.995 / white noise
    ref = [arviz_mean_ess(c) for c in cells]
    np.testing.assert_allclose(ess(x), ref, rtol=1e-8)
    np.testing.assert_allclose(ess_mean(np.stack(cells)), ref, rtol=1e-8)


def test_fft_ess_over_the_first_lags_only() -> None:
    """Autocovariances for a quarter of the lags: cells whose sequence stops there get
    ArviZ's ESS, the others NaN (to be computed over every lag)."""
    rng = np.random.default_rng(3)
    cells = [ar1(rng, 4, 800, phi) for phi in PHIS]
    x = split_chains(np.stack(cells))
    ref = np.array([arviz_mean_ess(c) for c in cells])
    short = ess_fft(x, lags=40)
    assert np.isnan(short[-1]) and np.isfinite(short[:3]).all()
    done = np.isfinite(short)
    np.testing.assert_allclose(short[done], ref[done], rtol=1e-8)
    np.testing.assert_allclose(ess_fft(x), ref, rtol=1e-8)


def test_ess_of_pooled_looking_chains() -> None:
    """Chains made of blocks with different means (as draws pooled over data sets)."""
    rng = np.random.default_rng(2)
    shifts = np.repeat(rng.normal(0, 1, (3, 4, 10)), 400, axis=-1)
    cells = [ar1(rng, 4, 4000, 0.3) + shifts[k] for k in range(3)]
    ref = [arviz_mean_ess(c) for c in cells]
    np.testing.assert_allclose(ess_mean(np.stack(cells)), ref, rtol=1e-8)


def reference(x: np.ndarray) -> dict[str, float]:
    """ArviZ's diagnostics and numpy's moments and quantiles of one (chain, draw) array."""
    q = np.quantile(x, [0.025, 0.5, 0.975])
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "q0": float(q[0]),
        "q1": float(q[1]),
        "q2": float(q[2]),
        "r_hat": float(az.rhat(da(x))) if x.shape[0] > 1 else np.nan,
        "ess_bulk": float(az.ess(da(x))),
        "ess_tail": float(az.ess(da(x), method="tail")),
    }


def awkward_cells(rng: np.random.Generator, chains: int, draws: int) -> list[np.ndarray]:
    """Continuous, slowly mixing, repeated draws (rejections), rounded (many ties), values
    symmetric about the median (ties after folding), 0/1, heavy-tailed."""
    sticky = ar1(rng, chains, draws, 0.6)
    stay = rng.random((chains, draws)) < 0.3
    for t in range(1, draws):
        sticky[:, t] = np.where(stay[:, t], sticky[:, t - 1], sticky[:, t])
    symmetric = rng.integers(-3, 4, (chains, draws)).astype(float)
    return [
        ar1(rng, chains, draws, 0.2) + rng.normal(0, 0.2, (chains, 1)),
        ar1(rng, chains, draws, 0.99),
        sticky,
        np.round(ar1(rng, chains, draws, 0.5), 1),
        symmetric,
        (rng.random((chains, draws)) < 0.2).astype(float),
        rng.standard_t(2, (chains, draws)) * 1e3,
    ]


@pytest.mark.parametrize(("chains", "draws"), [(4, 400), (3, 251), (1, 300), (2, 17)])
def test_one_sort_summary_matches_arviz(chains: int, draws: int) -> None:
    rng = np.random.default_rng(chains * draws)
    cells = awkward_cells(rng, chains, draws)
    got = summarise(np.stack(cells))
    for k, c in enumerate(cells):
        ref = reference(c)
        for name, value in ref.items():
            assert got[name][k] == pytest.approx(value, rel=1e-8, abs=1e-12, nan_ok=True), (
                k,
                name,
            )
        for name in ("mean", "sd", "q0", "q1", "q2"):  # the same arithmetic: bit for bit
            assert got[name][k] == ref[name]


def test_sorted_quantiles_are_numpys() -> None:
    rng = np.random.default_rng(3)
    probs = (0.0, 0.025, 0.11, 0.5, 0.89, 0.975, 1.0, 0.3333)
    for n in (1, 2, 3, 10, 999, 4000):
        x = np.round(rng.standard_normal((3, n)) * 10, int(rng.integers(0, 3)))
        v = np.sort(x, axis=1)
        assert np.array_equal(sorted_quantiles(v, probs), np.quantile(x, probs, axis=1))
        assert np.array_equal(sorted_median(v), np.median(x, axis=1))


def fake_fit(rng: np.random.Generator, prior: str, shape: tuple[int, int], pooled: bool) -> Fit:
    draws = {f"q{k}": da(c) for k, c in enumerate(awkward_cells(rng, *shape))}
    inf = ar1(rng, *shape, 0.3)
    inf[0, : shape[1] // 3] = np.inf  # a median not reached in some draws
    draws["median_not_reached"] = da(inf)
    inputs = {"n_sets": 3.0} if pooled else {}
    return Fit("PFS", "pwe_ph", prior, "pwe_ph", draws, inputs)


def test_summary_table_matches_arviz_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "2")
    rng = np.random.default_rng(4)
    fits = [fake_fit(rng, "a", (4, 300), False), fake_fit(rng, "b", (2, 151), False)]
    fits.append(fake_fit(rng, "c", (4, 300), True))
    table = summary_table(fits)
    assert list(table.columns) == SUMMARY_COLUMNS and len(table) == 3 * 8
    names = {"q0": "q2.5", "q1": "q50", "q2": "q97.5"}
    for f in fits:
        for q, d in f.draws.items():
            row = table[(table["prior"] == f.prior) & (table["quantity"] == q)].iloc[0]
            x = np.asarray(d.values)
            if not np.isfinite(x).all():
                assert row["q97.5"] == np.inf and np.isnan(row["r_hat"])
                continue
            ref = reference(x)
            if f.pooled:  # diagnostics come per set, not from pooled draws
                assert np.isnan(row[["r_hat", "ess_bulk", "ess_tail"]].astype(float)).all()
                ref = {k: v for k, v in ref.items() if k not in ("r_hat", "ess_bulk", "ess_tail")}
            for name, value in ref.items():
                got = row[names.get(name, name)]
                assert got == pytest.approx(value, rel=1e-8, abs=1e-12, nan_ok=True)
    # batches and threads change nothing, bit for bit
    monkeypatch.setenv(THREADS_ENV, "1")
    monkeypatch.setattr(summary_module, "CHUNK_VALUES", 700)
    again = summary_table(fits)
    assert again.equals(table)


@pytest.mark.parametrize("n_sets", [1, 3])
def test_pooled_probability_mcse_matches_arviz_per_set_and_threads(
    n_sets: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P(HR < m) of a fit pooled over S sets (one set included): MCSE sqrt(sum_s se_s^2) / S
    with each se_s from ArviZ's mean ESS of that set's indicator; the same for 1 or 2
    threads."""
    monkeypatch.setenv(THREADS_ENV, "2")
    from bayes_btc.decisions.rules import EndpointRules, Rule
    from bayes_btc.decisions.tables import noninferiority_table

    rng = np.random.default_rng(5)
    sets = [np.exp(0.1 * ar1(rng, 4, 600, 0.8) + 0.1 * s) for s in range(n_sets)]
    hr = np.concatenate(sets, axis=1)
    inputs = {"n_sets": float(n_sets)}
    fit = Fit("OS", "pwe_ph_reconstructed", "vague", "pwe", {"hr": da(hr)}, inputs)
    ni = Rule("hr", "<", 1.3)
    rules = {
        "OS": EndpointRules(
            "survival", ni, ni.at(1.0, "treatment_better"), (ni.at(1.1), ni.at(1.2)), (ni, ni)
        )
    }
    fits = [fit, replace(fit, prior="other"), replace(fit, prior="third")]
    table = noninferiority_table(fits, rules)
    assert len(table) == 3 * 4  # NI, two curve margins, better (no RMST here)
    for row in table.itertuples():
        se = []
        for x in sets:
            below = (x < row.margin).astype(float)
            p = np.clip(below.mean(), 1 / below.size, 1 - 1 / below.size)
            se.append(np.sqrt(p * (1 - p) / arviz_mean_ess(below)))
        assert row.probability == (hr < row.margin).mean()
        assert row.mcse == pytest.approx(np.sqrt(np.sum(np.square(se))) / n_sets, rel=1e-8)
    monkeypatch.setenv(THREADS_ENV, "1")
    assert noninferiority_table(fits, rules).equals(table)
