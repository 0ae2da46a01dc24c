"""The PWE models' log posterior in closed form, with its gradient and Hessian, for many cells.

The same model as the PyMC graph of `models/pwe.py` (a test checks the two log densities agree
to a constant at random points), written out in numpy so that thousands of cells (endpoint x
data set x prior, or simulated trials) are located and sampled at once without compiling:

    x = [a_1..a_K, b]          PH: a = baseline log hazard per month, b = log-HR
    x = [a_1..a_K, b_1..b_K]   non-PH: b_k = log-HR in interval k
    log p(x) = sum_{arm,k} d log h - E h        (Poisson, h = exp(a) control, exp(a + b) treatment)
             - (a_1 - mu0)^2 / 2 s0^2 - sum_k (a_k - a_{k-1})^2 / 2 sigma^2
             + log prior(b or b_1)  [normal mixture]  (- sum (b_k - b_{k-1})^2 / 2 sigma_b^2)
             + log prior(log median of the control arm)  [normal mixture, where given]

Arm 0 is the treatment arm, arm 1 the control arm (as in `models/pwe.py`). Time in months.
The Hessian returned is exact for the Poisson and Gaussian terms; the mixture and median-prior
terms enter by their negative-definite (Gauss-Newton) part, which is what a Newton step and a
Laplace proposal need: the sampler itself uses the exact log density only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from bayes_btc.models.components import mixture_arrays
from bayes_btc.models.pwe import PWEData, PWEPriors, control_median_prior
from bayes_btc.models.pwe_kernel import transition_kernel, value_and_gradient_kernel
from bayes_btc.priors.mixtures import NormalMixture

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class PWECells:
    """C independent cells of one PWE variant, padded to K intervals (padding: no exposure).

    events, exposure: (C, 2, K), arm 0 treatment, arm 1 control; hr_w/hr_mean/hr_sd: (C, J)
    normal-mixture prior of the log-HR (PH) or of the first interval's log-HR (non-PH);
    med_w/med_mean/med_sd: (C, M) normal-mixture prior of the control arm's log median
    (months) where `has_median` (C,); start, width: (C, K) interval bounds in months (the last
    real interval open, padding of width 0)."""

    variant: str
    events: np.ndarray
    exposure: np.ndarray
    hr_w: np.ndarray
    hr_mean: np.ndarray
    hr_sd: np.ndarray
    base_mean: float
    base_sd: float
    smoothing_sd: float
    hr_smoothing_sd: float
    med_w: np.ndarray
    med_mean: np.ndarray
    med_sd: np.ndarray
    has_median: np.ndarray
    start: np.ndarray
    width: np.ndarray

    @property
    def n_cells(self) -> int:
        return int(self.events.shape[0])

    @property
    def n_intervals(self) -> int:
        return int(self.events.shape[-1])

    @property
    def dim(self) -> int:
        k = self.n_intervals
        return k + 1 if self.variant == "ph" else 2 * k

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, b): baseline log hazards (..., K) and log-HRs per interval (..., K)."""
        k = self.n_intervals
        a = x[..., :k]
        b = np.broadcast_to(x[..., k:], a.shape) if self.variant == "ph" else x[..., k:]
        return a, b

    def take(self, idx: np.ndarray) -> PWECells:
        """The cells at `idx`."""
        arrays = {
            f: getattr(self, f)[idx]
            for f in self.__dataclass_fields__
            if isinstance(getattr(self, f), np.ndarray)
        }
        return PWECells(
            self.variant,
            base_mean=self.base_mean,
            base_sd=self.base_sd,
            smoothing_sd=self.smoothing_sd,
            hr_smoothing_sd=self.hr_smoothing_sd,
            **arrays,
        )


def mixture_logpdf(x: np.ndarray, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """log sum_j w_j N(x | m_j, s_j); x (..., C), w/m/s (C, J)."""
    z = (x[..., None] - m) / s
    terms = np.log(w) - 0.5 * z**2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    top = terms.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(terms - top).sum(axis=-1, keepdims=True)))[..., 0]


def mixture_derivatives(
    x: np.ndarray, w: np.ndarray, m: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivative of `mixture_logpdf` at x (..., C)."""
    z = (x[..., None] - m) / s
    with np.errstate(divide="ignore"):
        terms = np.log(w) - 0.5 * z**2 - np.log(s)
    r = np.exp(terms - terms.max(axis=-1, keepdims=True))
    r /= r.sum(axis=-1, keepdims=True)
    d1 = -(x[..., None] - m) / s**2
    g = (r * d1).sum(axis=-1)
    h = (r * (d1**2 - 1.0 / s**2)).sum(axis=-1) - g**2
    return g, h


def median_parts(
    a: np.ndarray, start: np.ndarray, width: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact median m (months) of piecewise-constant hazards exp(a) (..., K), the crossing
    interval index and the cumulative hazard at its start (as `models/pwe.py`'s log_median);
    start and width (interval bounds, months) have a's shape."""
    h = np.exp(a)
    h_end = np.cumsum(h * width, axis=-1)
    h_start = h_end - h * width
    inside = (h_start < LOG2) & (h_end >= LOG2)
    j = np.argmax(inside, axis=-1)[..., None]
    hs = np.take_along_axis(h_start, j, -1)[..., 0]
    hj = np.take_along_axis(h, j, -1)[..., 0]
    m = np.take_along_axis(start, j, -1)[..., 0] + (LOG2 - hs) / hj
    return np.where(inside.any(-1), m, np.nan), j[..., 0], hs


def log_density(cells: PWECells, x: np.ndarray) -> np.ndarray:
    """Log posterior (up to a constant per cell) at x (..., C, D) -> (..., C)."""
    a, b = cells.split(x)
    d, e = cells.events, cells.exposure
    with np.errstate(over="ignore", invalid="ignore"):
        eta_t = a + b
        out = (d[:, 0] * eta_t - e[:, 0] * np.exp(eta_t)).sum(-1)
        out += (d[:, 1] * a - e[:, 1] * np.exp(a)).sum(-1)
    out -= 0.5 * ((a[..., 0] - cells.base_mean) / cells.base_sd) ** 2
    out -= 0.5 * (np.diff(a, axis=-1) ** 2).sum(-1) / cells.smoothing_sd**2
    out += mixture_logpdf(b[..., 0], cells.hr_w, cells.hr_mean, cells.hr_sd)
    if cells.variant != "ph":
        out -= 0.5 * (np.diff(b, axis=-1) ** 2).sum(-1) / cells.hr_smoothing_sd**2
    if cells.has_median.any():
        start = np.broadcast_to(cells.start, a.shape)
        width = np.broadcast_to(cells.width, a.shape)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            m, _, _ = median_parts(a, start, width)
            lp = mixture_logpdf(np.log(m), cells.med_w, cells.med_mean, cells.med_sd)
        out += np.where(cells.has_median, lp, 0.0)
    return np.where(np.isfinite(out), out, -np.inf)


def rw_precision(k: int, first_sd: float, step_sd: float) -> np.ndarray:
    """Precision matrix (K, K) of a Gaussian random walk with N(., first_sd) start."""
    q = np.zeros((k, k))
    q[0, 0] = 1.0 / first_sd**2
    i = np.arange(k - 1)
    q[i, i] += 1.0 / step_sd**2
    q[i + 1, i + 1] += 1.0 / step_sd**2
    q[i, i + 1] -= 1.0 / step_sd**2
    q[i + 1, i] -= 1.0 / step_sd**2
    return q


def gradient_hessian(cells: PWECells, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (C, D) and negative-definite Hessian (C, D, D) of `log_density` at x (C, D)."""
    k, c = cells.n_intervals, cells.n_cells
    a, b = cells.split(x)
    d, e = cells.events, cells.exposure
    mu_t = e[:, 0] * np.exp(a + b)
    mu_c = e[:, 1] * np.exp(a)
    r_t, r_c = d[:, 0] - mu_t, d[:, 1] - mu_c
    qa = rw_precision(k, cells.base_sd, cells.smoothing_sd)
    g = np.zeros((c, cells.dim))
    h = np.zeros((c, cells.dim, cells.dim))
    ia = np.arange(k)
    g[:, :k] = r_t + r_c
    g[:, 0] += -(a[:, 0] - cells.base_mean) / cells.base_sd**2
    g[:, 1:k] -= np.diff(a, axis=-1) / cells.smoothing_sd**2
    g[:, : k - 1] += np.diff(a, axis=-1) / cells.smoothing_sd**2
    h[:, :k, :k] = -qa
    h[:, ia, ia] -= mu_t + mu_c
    mg, mh = mixture_derivatives(b[:, 0], cells.hr_w, cells.hr_mean, cells.hr_sd)
    if cells.variant == "ph":
        g[:, k] = r_t.sum(-1) + mg
        h[:, ia, k] = h[:, k, ia] = -mu_t
        h[:, k, k] = -mu_t.sum(-1) + np.minimum(mh, 0.0)
    else:
        ib = ia + k
        qb = rw_precision(k, np.inf, cells.hr_smoothing_sd)
        g[:, k:] = r_t
        g[:, k] += mg
        g[:, k + 1 :] -= np.diff(b, axis=-1) / cells.hr_smoothing_sd**2
        g[:, k : 2 * k - 1] += np.diff(b, axis=-1) / cells.hr_smoothing_sd**2
        h[:, k:, k:] = -qb
        h[:, ib, ib] -= mu_t
        h[:, ia, ib] = h[:, ib, ia] = -mu_t
        h[:, k, k] += np.minimum(mh, 0.0)
    if cells.has_median.any():
        gm, hm = median_terms(cells, a)
        g[:, :k] += gm
        h[:, :k, :k] += hm
    return g, h


def median_terms(cells: PWECells, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (C, K) and Gauss-Newton Hessian (C, K, K) of the control-median prior term."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        m, j, hs = median_parts(a, cells.start, cells.width)
        h = np.exp(a)
        hj = np.take_along_axis(h, j[:, None], -1)[:, 0]
        k = np.arange(a.shape[-1])
        dm = np.where(k < j[:, None], -h * cells.width / hj[:, None], 0.0)
        dm = np.where(k == j[:, None], -((LOG2 - hs) / hj)[:, None], dm)
        jac = dm / m[:, None]  # d log m / d a
        f1, f2 = mixture_derivatives(np.log(m), cells.med_w, cells.med_mean, cells.med_sd)
    on = cells.has_median & np.isfinite(m) & (m > 0)
    g = np.where(on[:, None], f1[:, None] * jac, 0.0)
    hess = np.minimum(f2, 0.0)[:, None, None] * jac[:, :, None] * jac[:, None, :]
    return g, np.where(on[:, None, None], hess, 0.0)


def pwe_cells(
    data: PWEData,
    priors: dict[str, NormalMixture],
    variant: str,
    pwe_priors: PWEPriors,
    control_median: dict[tuple[str, str], NormalMixture | None] | None = None,
) -> PWECells:
    """The cells (endpoint x prior, row-major) of `build_pwe_model(data, priors, ...)`."""
    start, width = data.interval_bounds()
    return array_cells(
        variant,
        data.padded("events"),
        data.padded("exposure"),
        start,
        width,
        priors,
        pwe_priors,
        control_median_prior(data, list(priors), control_median or {}),
    )


def array_cells(
    variant: str,
    events: np.ndarray,
    exposure: np.ndarray,
    start: np.ndarray,
    width: np.ndarray,
    priors: dict[str, NormalMixture],
    pwe_priors: PWEPriors,
    median: tuple[np.ndarray, ...] | None = None,
) -> PWECells:
    """The cells (data set x prior, row-major) of N data sets given as arrays: events and
    exposure (N, 2, K) (arm 0 treatment), interval start and width (N, K) or (K,) in months
    (the last real interval open, padding of width 0), the named log-HR priors, and the
    control-median prior as `control_median_prior` gives it ((N, P, M) weights, means and SDs
    and an (N, P) 0/1 mask; None: no cell has one)."""
    n, n_p = events.shape[0], len(priors)

    def per_cell(arr: np.ndarray) -> np.ndarray:  # (data set, ...) -> (data set * prior, ...)
        return np.repeat(arr, n_p, axis=0)

    w, m, s = (np.tile(x, (n, 1)) for x in mixture_arrays(priors))
    if median is None:
        mw, mm, ms, mask = np.ones((n, n_p, 1)), np.zeros((n, n_p, 1)), np.ones((n, n_p, 1)), None
    else:
        mw, mm, ms, mask = median
    k = events.shape[-1]
    start = np.broadcast_to(start, (n, k))
    width = np.broadcast_to(width, (n, k))
    return PWECells(
        variant,
        events=per_cell(events),
        exposure=per_cell(exposure),
        hr_w=w,
        hr_mean=m,
        hr_sd=s,
        base_mean=pwe_priors.baseline_mean,
        base_sd=pwe_priors.baseline_sd,
        smoothing_sd=pwe_priors.smoothing_sd,
        hr_smoothing_sd=pwe_priors.hr_smoothing_sd,
        med_w=mw.reshape(n * n_p, -1),
        med_mean=mm.reshape(n * n_p, -1),
        med_sd=ms.reshape(n * n_p, -1),
        has_median=np.zeros(n * n_p, bool) if mask is None else mask.reshape(-1) > 0,
        start=per_cell(start),
        width=per_cell(width),
    )


def start_point(cells: PWECells) -> np.ndarray:
    """A starting point per cell (C, D): pooled crude log hazards, log-HR 0."""
    d = cells.events.sum(1) + 0.5
    e = cells.exposure.sum(1) + 0.5 * np.exp(-cells.base_mean)
    x = np.zeros((cells.n_cells, cells.dim))
    x[:, : cells.n_intervals] = np.log(d / e)
    return x


def posterior_values(
    data: PWEData, n_priors: int, variant: str, x: np.ndarray
) -> dict[str, np.ndarray]:
    """Draws x (chain, draw, C, D) as the PyMC model's variables, dims (chain, draw, endpoint,
    prior[, interval]): log_h0, log_hr, hr (and log_hr_interval for non-PH)."""
    ch, dr = x.shape[:2]
    k = data.n_intervals
    shape = (ch, dr, len(data.endpoints), n_priors)
    out = {"log_h0": x[..., :k].reshape(*shape, k)}
    if variant == "ph":
        out["log_hr"] = x[..., k].reshape(shape)
    else:
        out["log_hr_interval"] = x[..., k:].reshape(*shape, k)
        ew = data.event_weights()[None, None, :, None, :]
        out["log_hr"] = (ew * out["log_hr_interval"]).sum(-1)
    out["hr"] = np.exp(out["log_hr"])
    return out


def log_weights(w: np.ndarray) -> np.ndarray:
    """log w, -inf where w is 0 (padding)."""
    with np.errstate(divide="ignore"):
        return np.log(w)


def kernel_arrays(cells: PWECells) -> tuple:
    """The cells' arrays in the argument order of `models/pwe_kernel.py`'s `cell_value_gradient`,
    handed to the compiled loops as one tuple."""
    return (
        cells.events.astype(float),
        cells.exposure,
        cells.variant == "ph",
        log_weights(cells.hr_w),
        cells.hr_mean,
        cells.hr_sd,
        cells.base_mean,
        cells.base_sd,
        cells.smoothing_sd,
        cells.hr_smoothing_sd,
        log_weights(cells.med_w),
        cells.med_mean,
        cells.med_sd,
        cells.has_median,
        cells.start,
        cells.width,
    )


def value_and_gradient(cells: PWECells, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`log_density` (..., C) and its gradient (..., C, D) at x (..., C, D), by the compiled
    loop of `models/pwe_kernel.py`."""
    flat = np.ascontiguousarray(x, dtype=float).reshape(-1, cells.n_cells, cells.dim)
    lp, grad = value_and_gradient_kernel(flat, kernel_arrays(cells))
    return lp.reshape(x.shape[:-1]), grad.reshape(x.shape)


def transition(cells: PWECells, threads: int = 1) -> Callable[..., tuple[np.ndarray, ...]]:
    """M successive HMC transitions of every (chain, cell) by the compiled parallel loop of
    `models/pwe_kernel.py`, as `inference/hmc.py` takes it (its scales `tril` are lower
    triangular: Cholesky factors and their products), on `threads` threads (at most numba's);
    each (chain, cell) is computed by one thread, so the result does not depend on their
    number."""
    arrays = kernel_arrays(cells)
    threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS))

    def run(u, lp, g, r, eps, n_steps, log_u, max_error, mode, tril) -> tuple[np.ndarray, ...]:
        u, lp, g = (np.array(a, dtype=float) for a in (u, lp, g))  # fresh copies, changed
        x = np.empty(np.shape(r))
        alpha = np.empty(np.shape(log_u))
        bad = np.empty(np.shape(log_u), dtype=np.bool_)
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            transition_kernel(
                u,
                lp,
                g,
                *(np.ascontiguousarray(a, dtype=float) for a in (r, eps)),
                np.ascontiguousarray(np.broadcast_to(n_steps, (cells.n_cells,)), dtype=np.int64),
                np.ascontiguousarray(log_u, dtype=float),
                float(max_error),
                *(np.ascontiguousarray(a, dtype=float) for a in (mode, tril)),
                np.ascontiguousarray(np.swapaxes(tril, -1, -2), dtype=float),
                x,
                alpha,
                bad,
                arrays,
            )
        finally:
            numba.set_num_threads(before)
        return u, lp, g, alpha, bad, x

    return run
