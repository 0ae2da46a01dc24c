"""Prior, likelihood and posterior of the conjugate models, one panel per prior: the exact
posterior curve (closed form) over a histogram of the MCMC draws, with the NI region shaded
and the exact P(NI) the analysis computed."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import special, stats

from bayes_btc.decisions.rules import Rule
from bayes_btc.models.fit import BETA_PRIOR_KEYS, NORMAL_PRIOR_KEYS, Fit, has_simple_prior
from bayes_btc.output.figures.layout import save
from bayes_btc.output.figures.style import log_hr_axis
from bayes_btc.output.numbers import fmt
from bayes_btc.priors.mixtures import NormalMixture


def beta_difference_density(
    d: np.ndarray, a_t: float, b_t: float, a_c: float, b_c: float, n_grid: int = 4096
) -> np.ndarray:
    """Density of X - Y on the evenly spaced increasing grid `d`, X ~ Beta(a_t, b_t) and
    Y ~ Beta(a_c, b_c) independent: for each d_i, the mean density over the cell
    [d_i - h/2, d_i + h/2] (h the grid step), i.e. (F(d_i + h/2) - F(d_i - h/2)) / h with F
    the CDF of X - Y. Each Beta is spread uniformly within `n_grid` equal cells covering its
    mass (all but 1e-13 in each tail; the same cell width for both), with each cell's exact
    mass (from the Beta CDF, so parameters below 1 leave no spikes); the difference of two
    such cells is a triangle, whose masses come from one FFT correlation and whose CDF is
    exact between knots. The error in F is of the order of the squared cell width times
    the density's slope."""
    d = np.asarray(d, dtype=float)
    if d.ndim != 1 or len(d) < 2 or np.any(np.diff(d) <= 0):
        raise ValueError("d must be an increasing 1-d grid of at least 2 points")
    h = d[1] - d[0]
    t = np.concatenate([d - h / 2, [d[-1] + h / 2]])  # cell boundaries
    lo = special.betaincinv([a_t, a_c], [b_t, b_c], 1e-13)
    hi = special.betainccinv([a_t, a_c], [b_t, b_c], 1e-13)
    width = float(np.max(hi - lo))
    start = np.minimum(lo, 1.0 - width) if width < 0.5 else np.zeros(2)
    width = width if width < 0.5 else 1.0
    grid = np.linspace(0.0, width, n_grid + 1)
    mass_t = np.diff(special.betainc(a_t, b_t, np.clip(start[0] + grid, 0.0, 1.0)))
    mass_c = np.diff(special.betainc(a_c, b_c, np.clip(start[1] + grid, 0.0, 1.0)))
    # c[j]: P(X in cell i, Y in cell i - k) summed over i, k = j - (n_grid - 1): the mass of
    # a triangle centred at start_t - start_c + k * delta, half-width delta
    n = 2 * n_grid - 1
    size = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(mass_t, size) * np.fft.rfft(mass_c[::-1], size), size)[:n]
    c = np.concatenate([[0.0], np.clip(c, 0.0, None), [0.0]])  # FFT round-off below 0
    before = np.concatenate([[0.0], np.cumsum(c)])  # mass of the triangles left of each
    delta = width / n_grid
    s = np.clip((t - (start[0] - start[1])) / delta + n_grid, 0.0, n + 1.0)  # in knots of c
    k = np.minimum(np.floor(s).astype(int), n + 1)
    u = s - k
    k1 = np.minimum(k + 1, n + 1)
    cdf = before[k] + c[k] * (0.5 + u - u * u / 2) + c[k1] * u * u / 2
    return np.diff(cdf) / np.diff(t)


@functools.lru_cache(maxsize=16)
def _difference_density(
    lim: tuple[float, float], t: tuple[float, float], c: tuple[float, float]
) -> np.ndarray:
    """`beta_difference_density` on 400 points over `lim`, cached: the likelihood curve is
    the same in every prior's panel."""
    out = beta_difference_density(np.linspace(*lim, 400), *t, *c)
    out.flags.writeable = False
    return out


def _arm_names(fit: Fit, arms: tuple[str, str] | None) -> tuple[str, str]:
    if arms is not None:
        return arms
    names = [q.removeprefix("rate_") for q in fit.draws if q.startswith("rate_")]
    names = [n for n in names if n != "diff"]
    return (names[0], names[1]) if len(names) == 2 else ("treatment", "control")


def _draws_density(
    ax: plt.Axes, x: np.ndarray, lo: float, hi: float, transform=None, source: str = "MCMC"
) -> None:
    """Histogram density of draws `x` on [lo, hi] (bins in x's own scale), optionally drawn
    at transformed bin edges (e.g. exp for log-HR draws on an HR axis)."""
    x = x[np.isfinite(x)]
    counts, edges = np.histogram(x, bins=np.linspace(lo, hi, 61))
    dens = counts / (max(len(x), 1) * np.diff(edges))  # share of ALL draws per unit
    at = transform(edges) if transform is not None else edges
    ax.stairs(
        dens, at, fill=True, color="C2", alpha=0.3, label=f"posterior draws ({source} histogram)"
    )


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


def _normal_update(m0: float, s0: float, y: float, se: float) -> tuple[float, float]:
    """(mean, sd) of the normal posterior, for drawing its density."""
    post = NormalMixture.single(m0, s0).posterior(y, se)
    return post.means[0], post.sds[0]


def _exact(f: Fit, quantity: str, direction: str, margin: float) -> float:
    """The exact P(NI) of a conjugate cell, from its model's closed form."""
    if f.exact is None:
        raise ValueError(f"{f.model!r} is not a conjugate model (no closed-form posterior)")
    return f.exact(f, Rule(quantity, "<" if direction == "<" else ">", margin))


def _probabilities(
    f: Fit, quantity: str, margin: float, direction: str, known: tuple[float, float] | None
) -> tuple[float, float]:
    """(exact P(NI), P(NI) from the draws): as the analysis computed them when `known`,
    else from the model's closed form and the draws."""
    if known is not None:
        return known
    p_draws = _p_mcmc(f.draws[quantity].values, margin, direction)
    return _exact(f, quantity, direction, margin), p_draws


def _normal_panel(
    ax: plt.Axes,
    f: Fit,
    margin: float,
    direction: str,
    lim: tuple[float, float],
    known: tuple[float, float] | None = None,
) -> tuple[float, float]:
    i = f.inputs
    m0, s0, y, se = i["prior_mean"], i["prior_sd"], i["y"], i["se"]
    mp, sp = _normal_update(m0, s0, y, se)
    t = np.linspace(*lim, 600)
    hr = np.exp(t)
    x = np.asarray(f.draws["log_hr"].values, float).ravel()
    _draws_density(ax, x, *lim, np.exp, source=f.draws_from)
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
    log_hr_axis(ax.xaxis)
    ax.set(
        xlabel="hazard ratio, treatment vs control (log scale)",
        ylabel="density per unit of log HR",
        title=f"{f.prior} prior: log HR ~ Normal({m0:.3g}, {s0:.3g})\n"
        f"posterior Normal({mp:.3g}, {sp:.3g}), HR median {math.exp(mp):.2f}",
    )
    return _probabilities(f, "hr", margin, direction, known)


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
    known: tuple[float, float] | None = None,
) -> tuple[float, float]:
    i, p = f.inputs, _beta_params(f)
    a, b = p["prior"]
    d = np.linspace(*lim, 400)
    x = np.asarray(f.draws["rate_diff"].values, float).ravel()
    _draws_density(ax, x, *lim, source=f.draws_from)
    _curves(
        ax,
        d,
        _difference_density(lim, (a, b), (a, b)),
        _difference_density(lim, p["lik_t"], p["lik_c"]),
        _difference_density(lim, p["post_t"], p["post_c"]),
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
    ax.set(
        xlabel=f"rate difference {arms[0]} - {arms[1]} (proportion of patients)",
        ylabel="density",
        title=f"{f.prior} prior: Beta({a:g}, {b:g}) per arm\n"
        f"data: {arms[0]} {k[0]}/{n[0]}, {arms[1]} {k[1]}/{n[1]}",
    )
    return _probabilities(f, "rate_diff", margin, direction, known)


def _normal_limits(fits: list[Fit], margin: float) -> tuple[float, float]:
    pts = [0.0, math.log(margin)]
    for f in fits:
        i = f.inputs
        mp, sp = _normal_update(i["prior_mean"], i["prior_sd"], i["y"], i["se"])
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
    probabilities: dict[str, tuple[float, float]] | None = None,
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
    `probabilities` ({prior: (exact P(NI), P(NI) from the draws)}, at this margin and
    direction) are the analysis's own; a prior not in it is computed here.

    Panels are drawn for the priors that are one Beta (the same for both arms) or one
    normal; mixture and historical priors are in the historical-prior figure instead.

    Returns (path, {prior: exact P(NI) annotated on that prior's panel})."""
    cell = [f for f in fits if f.endpoint == endpoint and f.model == model]
    simple = [f for f in cell if has_simple_prior(f)]
    cell = simple or cell
    if not cell:
        raise ValueError(f"no fits for endpoint {endpoint!r} and model {model!r}")
    if direction not in ("<", ">"):
        raise ValueError(f"direction must be '<' or '>', not {direction!r}")
    if all(f.inputs.keys() >= NORMAL_PRIOR_KEYS for f in cell):
        kind, lim = "normal", _normal_limits(cell, margin)
    elif all(f.inputs.keys() >= BETA_PRIOR_KEYS for f in cell):
        kind, lim = "beta", _beta_limits(cell, margin)
    else:
        raise ValueError(f"{model!r} is not a conjugate model (no closed-form posterior)")
    names = _arm_names(cell[0], arms)
    fig, axes = plt.subplots(
        1, len(cell), figsize=(4.6 * len(cell) + 0.4, 4.6), dpi=110, layout="constrained"
    )
    axes = np.atleast_1d(axes)
    probs: dict[str, float] = {}
    for ax, f in zip(axes, cell, strict=True):
        known = (probabilities or {}).get(f.prior)
        if kind == "normal":
            p_exact, p_mcmc = _normal_panel(ax, f, margin, direction, lim, known)
        else:
            p_exact, p_mcmc = _beta_panel(ax, f, margin, direction, lim, names, known)
        probs[f.prior] = p_exact
        ax.text(
            0.97,
            0.97,
            f"P(NI) = {fmt(p_exact, probability=True)} exact\n"
            f"({f.draws_from} {fmt(p_mcmc, probability=True)})",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.6", "alpha": 0.9},
        )
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)  # room for the P(NI) box
        ax.title.set_fontsize(8.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7.5, frameon=False)
    what = "hazard ratio" if kind == "normal" else f"rate difference {names[0]} - {names[1]}"
    fig.suptitle(f"{endpoint} | {model}: prior, likelihood and posterior of the {what}")
    save(fig, path)
    return path, probs


# --- non-proportional hazards: HR per interval ----------------------------------------------


# --- rank plots ------------------------------------------------------------------------------
