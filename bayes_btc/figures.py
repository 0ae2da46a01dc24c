"""Figures for the results folder (PNG, labelled with units). Plotting only: the numbers come
from the tables the analysis produced, the fits' draws, or (for the conjugate models) the
closed forms in `exact`."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import ticker
from scipy import stats

from bayes_btc.decisions import CURVE
from bayes_btc.exact import normal_posterior, prob_hr_below, prob_rate_diff
from bayes_btc.posterior import Fit
from bayes_btc.pwe_data import PWETable

PRIOR_STYLES = ["-", "--", ":", "-."]


def ni_curves(
    ni: pd.DataFrame, endpoint: str, margin: float, threshold: float, xlabel: str, path: Path
) -> Path:
    """P(non-inferior) against the margin, one line per model x prior."""
    d = ni[(ni["endpoint"] == endpoint) & (ni["estimand"] == CURVE)]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for i, ((model, prior), g) in enumerate(d.groupby(["model", "prior"], sort=False)):
        ax.plot(
            g["margin"],
            g["probability"],
            PRIOR_STYLES[i % len(PRIOR_STYLES)],
            label=f"{model}, {prior}",
            color=f"C{i}",
        )
    ax.axhline(threshold, color="0.3", lw=0.8)
    ax.text(ax.get_xlim()[0], threshold, f" threshold {threshold:g}", va="bottom", fontsize=8)
    ax.axvline(margin, color="firebrick", lw=0.8, ls="--")
    ax.text(margin, 0.02, f" plan margin {margin:g}", color="firebrick", fontsize=8)
    ax.set(
        xlabel=xlabel,
        ylabel="posterior P(non-inferior)",
        ylim=(0, 1.02),
        title=f"{endpoint}: probability of non-inferiority by margin",
    )
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def forest(
    summary: pd.DataFrame,
    quantity: str,
    ref: float,
    margins: dict[str, float],
    xlabel: str,
    path: Path,
    log: bool = False,
) -> Path:
    """Posterior median and 95% interval of `quantity` for every endpoint x model x prior."""
    d = summary[summary["quantity"] == quantity].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.0, 0.32 * len(d) + 1.4), dpi=110)
    y = np.arange(len(d))[::-1]
    ax.hlines(y, d["q2.5"], d["q97.5"], color="0.25")
    ax.plot(d["q50"], y, "o", color="C0", ms=4)
    ax.axvline(ref, color="0.5", lw=0.8)
    for i, (endpoint, m) in enumerate(margins.items()):
        rows = y[d["endpoint"].to_numpy() == endpoint]
        if len(rows):
            ax.vlines(
                m,
                rows.min() - 0.4,
                rows.max() + 0.4,
                color="firebrick",
                ls="--",
                lw=0.9,
                label="NI margin" if i == 0 else None,
            )
    ax.set_yticks(y, [f"{r.endpoint} | {r.model} | {r.prior}" for r in d.itertuples()], fontsize=7)
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, title=f"Posterior medians and 95% intervals: {quantity}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def km_vs_posterior(
    time: np.ndarray,
    event: np.ndarray,
    arm: np.ndarray,
    arms: tuple[str, str],
    bands: dict[str, dict[str, np.ndarray]],
    times: np.ndarray,
    title: str,
    path: Path,
) -> Path:
    """Kaplan-Meier per arm (lifelines) against posterior survival, median and 95% band,
    one panel per model (`bands`: model -> {"treatment"|"control": 3 x len(times)})."""
    from lifelines import KaplanMeierFitter

    fig, axes = plt.subplots(
        1, len(bands), figsize=(5.2 * len(bands), 4.0), dpi=110, sharey=True, squeeze=False
    )
    for ax, (model, b) in zip(axes[0], bands.items(), strict=True):
        for i, (role, label) in enumerate(zip(("treatment", "control"), arms, strict=True)):
            m = arm == i
            KaplanMeierFitter().fit(
                time[m], event[m], label=f"{label} Kaplan-Meier"
            ).plot_survival_function(ax=ax, ci_show=False, color=f"C{i}", lw=1.2)
            lo, med, hi = b[role]
            ax.plot(times, med, "--", color=f"C{i}", lw=1.0, label=f"{label} posterior median")
            ax.fill_between(times, lo, hi, color=f"C{i}", alpha=0.2, label=f"{label} 95% band")
        ax.set(
            xlabel="time (months)",
            ylabel="survival probability",
            ylim=(0, 1.02),
            title=model,
        )
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}: Kaplan-Meier against posterior survival", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# --- prior, likelihood and posterior of the conjugate models -------------------------------

_NORMAL_KEYS = {"prior_mean", "prior_sd", "y", "se"}
_BETA_KEYS = {"prior_a", "prior_b", "events_0", "n_0", "events_1", "n_1"}


def has_simple_prior(f: Fit) -> bool:
    """One normal, or one Beta shared by both arms: the priors `prior_likelihood_posterior`
    draws a panel for."""
    return f.inputs.keys() >= _NORMAL_KEYS or f.inputs.keys() >= _BETA_KEYS


_HR_TICKS = [0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 10, 20]


def _log_hr_axis(axis: matplotlib.axis.Axis) -> None:
    """Plain-number ticks (0.5, 1, 2, ...) on a log-scaled HR axis, about 4-9 of them."""
    lo, hi = sorted(axis.get_view_interval())
    ticks = [t for t in _HR_TICKS if lo <= t <= hi]
    if len(ticks) > 9:
        ticks = [t for t in ticks if t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20)]
    if len(ticks) < 3:
        ticks = list(np.round(np.geomspace(lo, hi, 5), 2))
    axis.set_major_locator(ticker.FixedLocator(ticks))
    axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(ticker.NullFormatter())


def beta_difference_density(
    d: np.ndarray, a_t: float, b_t: float, a_c: float, b_c: float, n_grid: int = 1000
) -> np.ndarray:
    """Density of X - Y on the evenly spaced increasing grid `d`, X ~ Beta(a_t, b_t) and
    Y ~ Beta(a_c, b_c) independent: for each d_i, the mean density over the cell
    [d_i - h/2, d_i + h/2] (h the grid step), from the convolution
    P(X - Y <= t) = integral f_Y(y) F_X(y + t) dy with Y's mass per grid cell from its CDF.
    Cell means keep Beta parameters below 1 (unbounded densities) free of spikes."""
    d = np.asarray(d, dtype=float)
    if d.ndim != 1 or len(d) < 2 or np.any(np.diff(d) <= 0):
        raise ValueError("d must be an increasing 1-d grid of at least 2 points")
    h = d[1] - d[0]
    t = np.concatenate([d - h / 2, [d[-1] + h / 2]])  # cell boundaries
    edges = np.linspace(0.0, 1.0, n_grid + 1)
    mass = np.diff(stats.beta.cdf(edges, a_c, b_c))  # P(Y in grid cell)
    mid = 0.5 * (edges[:-1] + edges[1:])
    cdf = stats.beta.cdf(np.clip(mid[None, :] + t[:, None], 0.0, 1.0), a_t, b_t) @ mass
    return np.diff(cdf) / np.diff(t)


def _arm_names(fit: Fit, arms: tuple[str, str] | None) -> tuple[str, str]:
    if arms is not None:
        return arms
    names = [q.removeprefix("rate_") for q in fit.draws if q.startswith("rate_")]
    names = [n for n in names if n != "diff"]
    return (names[0], names[1]) if len(names) == 2 else ("treatment", "control")


def _draws_density(ax: plt.Axes, x: np.ndarray, lo: float, hi: float, transform=None) -> None:
    """Histogram density of draws `x` on [lo, hi] (bins in x's own scale), optionally drawn
    at transformed bin edges (e.g. exp for log-HR draws on an HR axis)."""
    x = x[np.isfinite(x)]
    counts, edges = np.histogram(x, bins=np.linspace(lo, hi, 61))
    dens = counts / (max(len(x), 1) * np.diff(edges))  # share of ALL draws per unit
    at = transform(edges) if transform is not None else edges
    ax.stairs(dens, at, fill=True, color="C2", alpha=0.3, label="posterior draws (MCMC histogram)")


def _curves(ax: plt.Axes, x: np.ndarray, prior, lik, post, labels: tuple[str, str, str]) -> None:
    """Prior, exact posterior, then the likelihood dashed on top (it can coincide with the
    posterior under a flat prior)."""
    ax.plot(x, prior, "-", color="C0", label=labels[0])
    ax.plot(x, post, "-", color="C2", lw=1.8, label=labels[2])
    ax.plot(x, lik, "--", color="C1", lw=1.2, label=labels[1])


def _shade_ni(ax: plt.Axes, margin: float, direction: str, label: str) -> None:
    lo, hi = ax.get_xlim()
    if direction == "<":
        ax.axvspan(lo, margin, color="C0", alpha=0.08, label=label)
    else:
        ax.axvspan(margin, hi, color="C0", alpha=0.08, label=label)
    ax.axvline(margin, color="firebrick", lw=0.9, ls="--")
    ax.set_xlim(lo, hi)


def _p_mcmc(x: np.ndarray, margin: float, direction: str) -> float:
    x = np.asarray(x).ravel()
    return float(np.mean(x < margin) if direction == "<" else np.mean(x > margin))


def _normal_panel(
    ax: plt.Axes, f: Fit, margin: float, direction: str, lim: tuple[float, float]
) -> tuple[float, float]:
    i = f.inputs
    m0, s0, y, se = i["prior_mean"], i["prior_sd"], i["y"], i["se"]
    mp, sp = normal_posterior(m0, s0, y, se)
    t = np.linspace(*lim, 600)
    hr = np.exp(t)
    _draws_density(ax, np.asarray(f.draws["log_hr"].values, float).ravel(), *lim, np.exp)
    _curves(
        ax,
        hr,
        stats.norm.pdf(t, m0, s0),
        stats.norm.pdf(t, y, se),
        stats.norm.pdf(t, mp, sp),
        (
            "prior (parameters in panel title)",
            f"likelihood: published log HR {y:.3g}, SE {se:.3g} (normalised)",
            "exact posterior (normal, closed form)",
        ),
    )
    ax.set_xscale("log")
    ax.set_xlim(hr[0], hr[-1])
    _shade_ni(ax, margin, direction, f"non-inferior: HR {direction} {margin:g}")
    _log_hr_axis(ax.xaxis)
    below = prob_hr_below((m0, s0), y, se, margin)
    p_exact = below if direction == "<" else 1.0 - below
    ax.set(
        xlabel="hazard ratio, treatment vs control (log scale)",
        ylabel="density per unit of log HR",
        title=f"{f.prior} prior: log HR ~ Normal({m0:.3g}, {s0:.3g})\n"
        f"posterior Normal({mp:.3g}, {sp:.3g}), HR median {math.exp(mp):.2f}",
    )
    return p_exact, _p_mcmc(f.draws["hr"].values, margin, direction)


def _beta_params(f: Fit) -> dict[str, tuple[float, float]]:
    i = f.inputs
    a, b = i["prior_a"], i["prior_b"]
    k0, n0, k1, n1 = i["events_0"], i["n_0"], i["events_1"], i["n_1"]
    return {
        "prior": (a, b),
        "lik_t": (1 + k0, 1 + n0 - k0),
        "lik_c": (1 + k1, 1 + n1 - k1),
        "post_t": (a + k0, b + n0 - k0),
        "post_c": (a + k1, b + n1 - k1),
    }


def _beta_diff_moments(t: tuple[float, float], c: tuple[float, float]) -> tuple[float, float]:
    bt, bc = stats.beta(*t), stats.beta(*c)
    return float(bt.mean() - bc.mean()), math.sqrt(bt.var() + bc.var())


def _beta_panel(
    ax: plt.Axes,
    f: Fit,
    margin: float,
    direction: str,
    lim: tuple[float, float],
    arms: tuple[str, str],
) -> tuple[float, float]:
    i, p = f.inputs, _beta_params(f)
    a, b = p["prior"]
    d = np.linspace(*lim, 400)
    _draws_density(ax, np.asarray(f.draws["rate_diff"].values, float).ravel(), *lim)
    _curves(
        ax,
        d,
        beta_difference_density(d, a, b, a, b),
        beta_difference_density(d, *p["lik_t"], *p["lik_c"]),
        beta_difference_density(d, *p["post_t"], *p["post_c"]),
        (
            "prior: difference of the two arms' Beta priors",
            "likelihood, shown as the flat-prior posterior:\n"
            "difference of Beta(1+k, 1+n-k) per arm",
            "exact posterior (numerical convolution of the two Betas)",
        ),
    )
    _shade_ni(ax, margin, direction, f"non-inferior: difference {direction} {margin:g}")
    k = (int(i["events_0"]), int(i["events_1"]))
    n = (int(i["n_0"]), int(i["n_1"]))
    p_exact = prob_rate_diff(k, n, (a, b), margin, direction)
    ax.set(
        xlabel=f"rate difference {arms[0]} - {arms[1]} (proportion of patients)",
        ylabel="density",
        title=f"{f.prior} prior: Beta({a:g}, {b:g}) per arm\n"
        f"data: {arms[0]} {k[0]}/{n[0]}, {arms[1]} {k[1]}/{n[1]}",
    )
    return p_exact, _p_mcmc(f.draws["rate_diff"].values, margin, direction)


def _normal_limits(fits: list[Fit], margin: float) -> tuple[float, float]:
    pts = [0.0, math.log(margin)]
    for f in fits:
        i = f.inputs
        mp, sp = normal_posterior(i["prior_mean"], i["prior_sd"], i["y"], i["se"])
        pts += [i["y"] - 4 * i["se"], i["y"] + 4 * i["se"], mp - 4 * sp, mp + 4 * sp]
        if i["prior_sd"] < 3 * i["se"]:  # an informative prior is shown whole
            pts += [i["prior_mean"] - 3 * i["prior_sd"], i["prior_mean"] + 3 * i["prior_sd"]]
    return min(pts), max(pts)


def _beta_limits(fits: list[Fit], margin: float) -> tuple[float, float]:
    pts = [0.0, margin]
    for f in fits:
        p = _beta_params(f)
        lik = _beta_diff_moments(p["lik_t"], p["lik_c"])
        for m, s in (lik, _beta_diff_moments(p["post_t"], p["post_c"])):
            pts += [m - 4.5 * s, m + 4.5 * s]
        m, s = _beta_diff_moments(p["prior"], p["prior"])
        if s < 3 * lik[1]:  # an informative prior is shown whole
            pts += [m - 3 * s, m + 3 * s]
    return max(-1.0, min(pts)), min(1.0, max(pts))


def prior_likelihood_posterior(
    fits: list[Fit],
    endpoint: str,
    model: str,
    margin: float,
    direction: str,
    path: Path,
    arms: tuple[str, str] | None = None,
) -> tuple[Path, dict[str, float]]:
    """Prior, likelihood and posterior of a conjugate model, one panel per prior.

    Summary log-HR models (`loghr_summary`, `loghr_summary_inverted`): densities of the log HR
    drawn against the HR on a log axis; the likelihood is Normal(y, se), normalised. For
    `beta_binomial`: densities of the rate difference treatment - control; the "likelihood"
    is the flat-prior posterior (difference of Beta(1+k, 1+n-k)), as the legend says. Each
    panel overlays a histogram of the MCMC draws on the exact posterior curve, shades the
    non-inferiority region (quantity `direction` `margin`, direction "<" or ">") and
    annotates the exact and MCMC P(NI). `arms` (treatment, control) names the arms in the
    rate labels; by default they come from the beta-binomial draws' names (`rate_<arm>`).

    Panels are drawn for the priors that are one Beta (the same for both arms) or one
    normal; mixture and historical priors are in the historical-prior figure instead.

    Returns (path, {prior: exact P(NI) annotated on that prior's panel})."""
    cell = [f for f in fits if f.endpoint == endpoint and f.model == model]
    simple = [f for f in cell if f.inputs.keys() >= _NORMAL_KEYS or f.inputs.keys() >= _BETA_KEYS]
    cell = simple or cell
    if not cell:
        raise ValueError(f"no fits for endpoint {endpoint!r} and model {model!r}")
    if direction not in ("<", ">"):
        raise ValueError(f"direction must be '<' or '>', not {direction!r}")
    if all(f.inputs.keys() >= _NORMAL_KEYS for f in cell):
        kind, lim = "normal", _normal_limits(cell, margin)
    elif all(f.inputs.keys() >= _BETA_KEYS for f in cell):
        kind, lim = "beta", _beta_limits(cell, margin)
    else:
        raise ValueError(f"{model!r} is not a conjugate model (no closed-form posterior)")
    names = _arm_names(cell[0], arms)
    fig, axes = plt.subplots(1, len(cell), figsize=(4.6 * len(cell) + 0.4, 4.6), dpi=110)
    axes = np.atleast_1d(axes)
    probs: dict[str, float] = {}
    for ax, f in zip(axes, cell, strict=True):
        if kind == "normal":
            p_exact, p_mcmc = _normal_panel(ax, f, margin, direction, lim)
        else:
            p_exact, p_mcmc = _beta_panel(ax, f, margin, direction, lim, names)
        probs[f.prior] = p_exact
        ax.text(
            0.97,
            0.97,
            f"P(NI) = {p_exact:.4f} exact\n(MCMC {p_mcmc:.4f})",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.6", "alpha": 0.9},
        )
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)  # room for the P(NI) box
        ax.title.set_fontsize(8.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7.5, frameon=False)
    what = "hazard ratio" if kind == "normal" else f"rate difference {names[0]} - {names[1]}"
    fig.suptitle(f"{endpoint} | {model}: prior, likelihood and posterior of the {what}")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path, probs


# --- non-proportional hazards: HR per interval ----------------------------------------------


def interval_hazard_ratios(
    tree: xr.DataTree, table: PWETable, endpoint: str, prior: str, path: Path
) -> Path:
    """Posterior median and 95% interval of the HR (treatment vs control) in each interval of
    a non-PH PWE fit, as a step function over months (edges `table.edges`), with HR = 1 and
    the reported event-weighted average HR; events per interval (both arms) along the top."""
    post = tree["posterior"].to_dataset()
    if "log_hr_interval" not in post:
        raise ValueError("not a non-PH PWE fit: the tree has no log_hr_interval")
    k = table.n_intervals
    cell = post.sel(endpoint=endpoint, prior=prior)
    log_hr = cell["log_hr_interval"].transpose("chain", "draw", "interval").values[..., :k]
    lo, med, hi = np.exp(np.quantile(log_hr.reshape(-1, k), [0.025, 0.5, 0.975], axis=0))
    avg = np.quantile(np.asarray(cell["hr"].values).ravel(), [0.025, 0.5, 0.975])
    edges = table.edges
    model = str(tree["posterior"].attrs.get("model_family", "pwe_nonph"))
    fig, ax = plt.subplots(figsize=(7.0, 4.4), dpi=110)
    ax.stairs(hi, edges, baseline=lo, fill=True, color="C0", alpha=0.25, label="95% interval")
    ax.stairs(med, edges, color="C0", lw=1.8, baseline=None, label="posterior median")
    ax.axhline(1.0, color="0.3", lw=0.8, label="HR = 1")
    ax.axhline(
        avg[1],
        color="C1",
        ls="--",
        lw=1.0,
        label=f"event-weighted average HR {avg[1]:.2f} (95% {avg[0]:.2f} to {avg[2]:.2f})",
    )
    ax.set_yscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(min(lo.min(), 1.0) / 1.15, max(hi.max(), 1.0) * 1.35)
    _log_hr_axis(ax.yaxis)
    xlabel = "time (months)"
    if k <= 15:
        for a, b, n in zip(edges[:-1], edges[1:], table.events.sum(axis=0), strict=True):
            ax.text(
                0.5 * (a + b),
                0.985,
                f"{n}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=7,
                color="0.35",
            )
        xlabel += "; grey numbers at the top: events per interval, both arms"
    ax.set(
        xlabel=xlabel,
        ylabel="hazard ratio, treatment vs control (log scale)",
        title=f"{endpoint} | {model}: hazard ratio by interval ({prior} prior)",
    )
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# --- rank plots ------------------------------------------------------------------------------


def rank_plots(fits: list[Fit], quantity: str, path: Path, max_fits: int = 12) -> Path:
    """Rank plots (Vehtari et al. 2021) of `quantity` for the first `max_fits` fits having it.

    All draws of a fit are ranked together; each chain's ranks are shown as a histogram on
    its own row, with the expected count under uniformity (dashed) and the central 95% range
    of a bin count if the chains agree (grey band); bars too tall for their row are cut and
    marked with a triangle. Uniform bars mean the chains agree."""
    chosen = [f for f in fits if quantity in f.draws][:max_fits]
    if not chosen:
        raise ValueError(f"no fit has a quantity {quantity!r}")
    ncol = min(4, len(chosen))
    nrow = math.ceil(len(chosen) / ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(3.6 * ncol, 2.6 * nrow + 0.6), dpi=110, squeeze=False
    )
    for ax, f in zip(axes.ravel(), chosen, strict=False):
        x = np.asarray(f.draws[quantity].transpose("chain", "draw").values, dtype=float)
        n_chain, n_draw = x.shape
        ranks = stats.rankdata(x, axis=None).reshape(x.shape)
        n_bins = int(np.clip(n_draw // 50, 5, 20))
        bins = np.linspace(0.5, x.size + 0.5, n_bins + 1)
        expected = n_draw / n_bins
        band = stats.binom.ppf([0.025, 0.975], n_draw, 1 / n_bins) / expected
        scale = 0.6  # each chain has a row 1 high; the expected count reaches 0.6 of it
        for c in range(n_chain):
            counts, _ = np.histogram(ranks[c], bins=bins)
            height = counts / expected * scale
            over = height > 0.95  # bars taller than the row are cut and marked
            ax.stairs(
                c + np.minimum(height, 0.95),
                bins,
                baseline=c,
                fill=True,
                color=f"C{c % 10}",
                alpha=0.75,
            )
            mids = 0.5 * (bins[:-1] + bins[1:])[over]
            ax.plot(mids, np.full(len(mids), c + 0.95), "^", color="k", ms=3)
            ax.axhspan(c + scale * band[0], c + scale * band[1], color="0.5", alpha=0.3, lw=0)
            ax.axhline(c + scale, color="0.2", ls="--", lw=0.7)
        ax.set_yticks(np.arange(n_chain) + scale / 2, [str(c) for c in range(n_chain)])
        ax.set_ylim(0, n_chain)
        ax.set_xlim(bins[0], bins[-1])
        ax.set_xlabel("rank among the pooled draws", fontsize=8)
        ax.set_ylabel("chain", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{f.endpoint} | {f.model} | {f.prior}", fontsize=8)
    for ax in axes.ravel()[len(chosen) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Rank plots of {quantity} (per-chain histograms of ranks): uniform bars, inside the "
        "grey 95% band, mean the chains agree",
        fontsize=9.5,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
