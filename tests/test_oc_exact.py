"""Exact operating characteristics against independent references: RBesT's published
Schmidli et al. (2014) table, closed forms for Beta differences, brute-force quadrature, and
the normal closed form of the summary log-HR model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from bayes_btc.analysis.oc import loghr_oc
from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.trial import load_trial
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
from bayes_btc.simulation.binary_exact import BinaryDesign, oc2s
from bayes_btc.simulation.loghr_exact import critical_estimate, p_declare_hr

UNIFORM = BetaMixture.single(1, 1)


def miller_p_greater(a1: int, b1: int, a2: int, b2: int) -> float:
    """P(X > Y), X ~ Beta(a1, b1), Y ~ Beta(a2, b2), integer a1: closed form (E. Miller)."""
    i = np.arange(a1)
    terms = (
        special.betaln(a2 + i, b1 + b2)
        - np.log(b1 + i)
        - special.betaln(1 + i, b1)
        - special.betaln(a2, b2)
    )
    return float(np.exp(terms).sum())


def brute_force_oc(n_t, n_c, prob, threshold, p_t, p_c) -> float:
    """Enumerate outcomes with a posterior-probability function prob(y_t, y_c)."""
    total = 0.0
    for yt in range(n_t + 1):
        for yc in range(n_c + 1):
            if prob(yt, yc) >= threshold:
                total += stats.binom.pmf(yt, n_t, p_t) * stats.binom.pmf(yc, n_c, p_c)
    return total


# Schmidli et al. (2014), Table 2, as RBesT's tests quote it: N = 40 treated; control 40 under
# the uniform prior and 40 - ESS = 20 under Beta(4, 16); success if P(p_t - p_c > 0) > 0.975.
PC = np.arange(1, 7) / 10
SCHMIDLI = {
    ("uniform", 0.0): [1.8, 2.3, 2.4, 2.6, 2.8, 2.6],
    ("uniform", 0.3): [89.7, 82.1, 79.5, 79.5, 81.9, 89.8],
    ("beta", 0.0): [0.0, 1.6, 6.1, 13.7, 26.0, 44.4],
    ("beta", 0.3): [81.6, 87.8, 93.4, 97.9, 99.6, 100.0],
}


@pytest.mark.parametrize("key", list(SCHMIDLI))
def test_schmidli_table2(key):
    """Published figures were simulated (RBesT's own test allows 2.5 points); the exact
    enumeration is within 0.75 percentage points of every one."""
    prior_c, n_c = (UNIFORM, 40) if key[0] == "uniform" else (BetaMixture.single(4, 16), 20)
    design = BinaryDesign(40, n_c, UNIFORM, prior_c, ">", 0.0, 0.975)
    got = 100 * oc2s(design, PC + key[1], PC)
    assert np.max(np.abs(got - SCHMIDLI[key])) < 0.75


@pytest.mark.parametrize("key", list(SCHMIDLI))
def test_exact_against_closed_form_enumeration(key):
    """The same designs enumerated with Miller's closed form for P(X > Y): to 0.001 points."""
    a_c, b_c, n_c = (1, 1, 40) if key[0] == "uniform" else (4, 16, 20)
    design = BinaryDesign(40, n_c, UNIFORM, BetaMixture.single(a_c, b_c), ">", 0.0, 0.975)
    cache = {}

    def prob(yt, yc):
        if (yt, yc) not in cache:
            cache[(yt, yc)] = miller_p_greater(1 + yt, 1 + 40 - yt, a_c + yc, b_c + n_c - yc)
        return cache[(yt, yc)]

    for pc in (0.2, 0.5):
        ref = brute_force_oc(40, n_c, prob, 0.975, pc + key[1], pc)
        got = float(oc2s(design, pc + key[1], pc)[0])
        assert abs(got - ref) < 1e-5


@pytest.mark.parametrize("direction", [">", "<"])
def test_mixture_prior_against_quadrature(direction):
    """A Beta-mixture control prior, a non-zero margin, both directions: brute force with
    scipy quadrature of the posterior mixtures."""
    prior_c = BetaMixture((0.6, 0.4), (4.0, 1.0), (16.0, 1.0))
    n_t, n_c, margin = 10, 12, -0.1 if direction == ">" else 0.1
    design = BinaryDesign(n_t, n_c, UNIFORM, prior_c, direction, margin, 0.9)

    def prob(yt, yc):
        post_t, post_c = UNIFORM.posterior(yt, n_t), prior_c.posterior(yc, n_c)
        above = 0.0
        for wt, at, bt in zip(post_t.weights, post_t.a, post_t.b, strict=True):
            for wc, ac, bc in zip(post_c.weights, post_c.a, post_c.b, strict=True):
                f = integrate.quad(
                    lambda x, at=at, bt=bt, ac=ac, bc=bc: (
                        stats.beta.pdf(x, at, bt) * stats.beta.cdf(x - margin, ac, bc)
                    ),
                    max(0, margin),
                    min(1, 1 + margin),
                    epsabs=1e-12,
                )[0]
                above += wt * wc * (f + stats.beta.sf(min(1, 1 + margin), at, bt))
        return above if direction == ">" else 1 - above

    for p_t, p_c in ((0.3, 0.35), (0.5, 0.3)):
        ref = brute_force_oc(n_t, n_c, prob, 0.9, p_t, p_c)
        assert abs(float(oc2s(design, p_t, p_c)[0]) - ref) < 1e-6


def test_rbest_binary_type_one_error():
    """RBesT test-oc2S: uniform priors, 100 per arm, P(p1 - p2 < 0) > 0.95: type I error at
    p1 = p2 within 1 point of 0.05."""
    design = BinaryDesign(100, 100, UNIFORM, UNIFORM, "<", 0.0, 0.95)
    p = np.arange(1, 10) / 10
    assert np.all(np.abs(oc2s(design, p, p) - 0.05) < 0.01)


def test_loghr_vague_type_one_error_is_nominal():
    """Bundled trial and plan: the vague prior's type I error at the HR margin is 0.025."""
    spec, _ = load_trial()
    plan, _ = load_plan()
    endpoints = list(spec.survival)
    rules = endpoint_rules(plan, {e: "survival" for e in endpoints})
    rows, _ = loghr_oc(spec, plan, endpoints, rules)
    at_margin = [r for r in rows if r["prior"] == "vague" and r["effect"] == plan.margins.hr]
    assert len(at_margin) == len(endpoints)
    for r in at_margin:
        assert abs(r["p_declare"] - 0.025) < 5e-4


@pytest.mark.parametrize("setting", ["auto", "always", "never"])
def test_loghr_inverted_reading_rows(setting: str):
    """The inverted reading has OC rows where the fit fits it (auto: the endpoints the audit
    flags, here PFS; always; never), and each equals a Monte Carlo of the design read that way:
    printed estimate ~ N(-log true HR, SE), inverted, posterior by the conjugate update."""
    from bayes_btc.inputs.audit import audit_trial, se_from_ci

    spec, _ = load_trial()
    plan, _ = load_plan()
    plan = plan.model_copy(update={"inverted_hr": setting})
    endpoints = list(spec.survival)
    rules = endpoint_rules(plan, {e: "survival" for e in endpoints})
    rows, design = loghr_oc(spec, plan, endpoints, rules, audit_trial(spec, endpoints))
    inv = [r for r in rows if r["model"] == "loghr_summary_inverted"]
    want = {"auto": {"PFS"}, "always": set(endpoints), "never": set()}[setting]
    assert {r["endpoint"] for r in inv} == want
    assert {r["endpoint"] for r in design if r["model"].endswith("_inverted")} == want
    rng = np.random.default_rng(4)
    for r in inv:
        if r["prior"] not in ("vague", "skeptical"):
            continue
        s = spec.survival[r["endpoint"]]
        se = se_from_ci(*s.ci, s.ci_level)
        prior = plan.priors.log_hr[r["prior"]].mixture
        printed = rng.normal(-math.log(r["effect"]), se, 2000)
        p_ni = np.array(
            [
                float(prior.posterior(-y, se).cdf(math.log(rules[r["endpoint"]].ni.margin)))
                for y in printed
            ]
        )
        mc = float(np.mean(p_ni >= plan.decision_threshold))
        assert abs(mc - r["p_declare"]) <= 4 * math.sqrt(max(mc * (1 - mc), 1e-4) / 2000)


def test_loghr_flat_limit_and_closed_form():
    """As the prior flattens the type I error tends to 1 - threshold exactly; for a mixture
    prior the critical estimate is where the quadrature posterior crosses the threshold, and
    P(declare) matches simulated estimates."""
    se, margin = 0.4, 1.3
    flat = NormalMixture.single(0.0, 1e6)
    assert abs(float(p_declare_hr(flat, se, margin, 0.975, np.array([margin]))[0]) - 0.025) < 1e-9
    prior = NormalMixture((0.7, 0.3), (0.0, 0.3), (0.2, 2.0))
    c = critical_estimate(prior, se, margin, 0.975)

    def post_below(y: float) -> float:
        def dens(t: float) -> float:
            return float(prior.pdf(t)) * stats.norm.pdf(y, t, se)

        num = integrate.quad(dens, -10, math.log(margin), epsabs=1e-13)[0]
        return num / (num + integrate.quad(dens, math.log(margin), 10, epsabs=1e-13)[0])

    assert post_below(c - 1e-4) > 0.975 > post_below(c + 1e-4)
    rng = np.random.default_rng(1)
    y = rng.normal(math.log(1.1), se, 20000)
    mc = float(np.mean(y <= c))
    exact = float(p_declare_hr(prior, se, margin, 0.975, np.array([1.1]))[0])
    assert abs(mc - exact) < 4 * math.sqrt(exact * (1 - exact) / len(y))


def test_design_prior_probability_of_correct_decision_against_monte_carlo():
    """Bayesian OC of the summary log-HR model: P(correct decision) with the true log-HR from
    the design prior, against drawing (truth, estimate) pairs and deciding by the posterior."""
    spec, _ = load_trial()
    plan, _ = load_plan()
    endpoints = list(spec.survival)[:1]
    rules = endpoint_rules(plan, {e: "survival" for e in endpoints})
    _, design = loghr_oc(spec, plan, endpoints, rules)
    row = next(d for d in design if d["prior"] == "vague")
    s = spec.survival[endpoints[0]]
    se = math.log(s.ci[1] / s.ci[0]) / (2 * stats.norm.ppf(0.5 + s.ci_level / 2))
    dp = plan.operating_characteristics.design_prior
    rng = np.random.default_rng(7)
    theta = rng.normal(dp.log_hr_mean, dp.log_hr_sd, 100_000)
    y = rng.normal(theta, se)
    prior = plan.priors.log_hr["vague"].mixture
    m0, s0 = prior.means[0], prior.sds[0]
    prec = 1 / se**2 + 1 / s0**2
    post_mean, post_sd = (y / se**2 + m0 / s0**2) / prec, prec**-0.5
    declare = stats.norm.cdf((math.log(plan.margins.hr) - post_mean) / post_sd) >= 0.975
    correct = np.where(theta < math.log(plan.margins.hr), declare, ~declare)
    p = float(correct.mean())
    assert abs(row["p_correct"] - p) < 4 * math.sqrt(p * (1 - p) / len(y))


# Reference values computed by RBesT's own oc2S(): RBesT 1.9-0 (github.com/Novartis/RBesT,
# commit 30cf4cde1e2a744b3550d10b33b4e7bcd78e7b69), its R sources (mix*.R, decision2S.R,
# decision2S_boundary.R, oc2S.R) under R 4.2.2, printed with sprintf("%.8f").
# dec = decision2S(0.975, 0, lower.tail = FALSE); prior_uni = mixbeta(c(1, 1, 1));
# prior_inf = mixbeta(c(1, 4, 16)); prior_rob = robustify(prior_inf, weight = 0.2, mean = 0.5)
# (= 0.8 Beta(4, 16) + 0.2 Beta(1, 1)); N = 40.
#
# (1) Schmidli et al. (2014) as RBesT's tests/testthat/test-oc2S.R sets it up: control size
# N - round(ess(prior, method = "morita")), i.e. 38 (uniform) and 20 (Beta(4, 16));
# design(pc + delta, pc) over expand.grid(pc = seq(0.1, 0.6, by = 0.1), delta = c(0, 0.3)).
# (The published Table 2 itself is simulated and its uniform design has 40 controls: see
# test_schmidli_table2; RBesT's own test compares its oc2S() with it to 2.5 points.)
RBEST_SCHMIDLI = {
    "uniform": (
        38,
        UNIFORM,
        [
            0.01805262,
            0.02404415,
            0.02335917,
            0.02322824,
            0.02678961,
            0.02715685,
            0.88905121,
            0.79791190,
            0.77271773,
            0.78602974,
            0.81182203,
            0.88419919,
        ],
    ),
    "beta": (
        20,
        BetaMixture.single(4, 16),
        [
            0.00074438,
            0.01650682,
            0.06057186,
            0.13351731,
            0.26098226,
            0.44880171,
            0.81516688,
            0.87205913,
            0.93190921,
            0.97869987,
            0.99684025,
            0.99993421,
        ],
    ),
}
# (2) The example of RBesT's oc2S documentation: oc2S(prior_uni, prior, N, N_ctl = 20, dec) for
# prior in uni, inf, rob; type I error design(x, x), x = seq(0.1, 0.9, by = 0.1), and power
# design(0.2 + x, 0.2), x = seq(0, 0.5, by = 0.1).
RBEST_DOC = {
    "uni": (
        UNIFORM,
        [
            0.00549666,
            0.01863703,
            0.02069450,
            0.02412257,
            0.02728483,
            0.02664297,
            0.02672151,
            0.02636323,
            0.02284261,
        ],
        [0.01863703, 0.10804812, 0.32463304, 0.63446224, 0.87561015, 0.97608626],
    ),
    "inf": (
        BetaMixture.single(4, 16),
        [
            0.00074438,
            0.01650682,
            0.06057186,
            0.13351731,
            0.26098226,
            0.44880171,
            0.66569811,
            0.87105363,
            0.98895884,
        ],
        [0.01650682, 0.17713897, 0.55378013, 0.87205913, 0.98390440, 0.99940011],
    ),
    "rob": (
        BetaMixture((0.8, 0.2), (4.0, 1.0), (16.0, 1.0)),
        [
            0.00074438,
            0.01638595,
            0.05399987,
            0.09447218,
            0.09785591,
            0.07281859,
            0.04884211,
            0.03114485,
            0.02286369,
        ],
        [0.01638595, 0.17139659, 0.52795689, 0.84186412, 0.96729081, 0.99508213],
    ),
}
# (3) test-oc2S.R's type I error design: prior_uni both arms, 100 per arm,
# decision2S(0.95, 0, lower.tail = TRUE) and lower.tail = FALSE give the same values by symmetry;
# design(x, x), x = seq(0.1, 0.9, by = 0.1).
RBEST_100 = [
    0.04874077,
    0.04885940,
    0.04999994,
    0.04864882,
    0.05181954,
    0.04864882,
    0.04999994,
    0.04885940,
    0.04874077,
]
# (4) Mixture priors and non-zero margins (priors of test-oc2S.R's link tests, difference
# scale): prior_trt = mixbeta(c(1, 1/3, 1/3)), prior_pbo = mixbeta(c(0.6, 19, 29),
# c(0.3, 4, 5), c(0.1, 1, 1)), oc2S(prior_trt, prior_pbo, 50, 20, rule); upper rule
# decision2S(0.9, -0.1, lower.tail = FALSE) at design(x, x) and design(pmin(x + 0.15, 1), x);
# lower rule decision2S(0.8, 0.1, lower.tail = TRUE) at design(x, x), design(pmax(x - 0.15, 0), x).
RBEST_MIX = {
    (">", -0.1, 0.9, 0.0): [
        0.09786118,
        0.06936219,
        0.16496663,
        0.35534355,
        0.53728346,
        0.59874158,
        0.60720593,
        0.63322170,
        0.76535113,
    ],
    (">", -0.1, 0.9, 0.15): [
        0.49270134,
        0.60039813,
        0.78013438,
        0.89124103,
        0.91966855,
        0.93072685,
        0.95627343,
        0.99458988,
        1.00000000,
    ],
    ("<", 0.1, 0.8, 0.0): [
        0.91760722,
        0.85805286,
        0.79006925,
        0.55520532,
        0.33389522,
        0.22868230,
        0.21953722,
        0.25348733,
        0.35957714,
    ],
    ("<", 0.1, 0.8, -0.15): [
        1.00000000,
        0.99937659,
        0.99166599,
        0.97762705,
        0.89595754,
        0.75885233,
        0.66827559,
        0.69247833,
        0.80588693,
    ],
}
TENTH_POINT = 1e-3  # 0.1 percentage point
GRID = np.arange(1, 10) / 10


@pytest.mark.parametrize("key", list(RBEST_SCHMIDLI))
def test_rbest_oc2s_schmidli_design(key):
    n_c, prior_c, ref = RBEST_SCHMIDLI[key]
    design = BinaryDesign(40, n_c, UNIFORM, prior_c, ">", 0.0, 0.975)
    pc, delta = np.tile(PC, 2), np.repeat([0.0, 0.3], len(PC))
    assert np.max(np.abs(oc2s(design, pc + delta, pc) - ref)) < TENTH_POINT


@pytest.mark.parametrize("key", list(RBEST_DOC))
def test_rbest_oc2s_documentation_example(key):
    prior_c, type_one, power = RBEST_DOC[key]
    design = BinaryDesign(40, 20, UNIFORM, prior_c, ">", 0.0, 0.975)
    assert np.max(np.abs(oc2s(design, GRID, GRID) - type_one)) < TENTH_POINT
    lift = np.arange(6) / 10
    assert np.max(np.abs(oc2s(design, 0.2 + lift, 0.2) - power)) < TENTH_POINT


@pytest.mark.parametrize("direction", ["<", ">"])
def test_rbest_oc2s_type_one_error_100_per_arm(direction):
    design = BinaryDesign(100, 100, UNIFORM, UNIFORM, direction, 0.0, 0.95)
    assert np.max(np.abs(oc2s(design, GRID, GRID) - RBEST_100)) < TENTH_POINT


@pytest.mark.parametrize("key", list(RBEST_MIX))
def test_rbest_oc2s_mixture_priors_and_margins(key):
    direction, margin, threshold, shift = key
    prior_c = BetaMixture((0.6, 0.3, 0.1), (19.0, 4.0, 1.0), (29.0, 5.0, 1.0))
    design = BinaryDesign(
        50, 20, BetaMixture.single(1 / 3, 1 / 3), prior_c, direction, margin, threshold
    )
    p_t = np.clip(GRID + shift, 0.0, 1.0)
    assert np.max(np.abs(oc2s(design, p_t, GRID) - RBEST_MIX[key])) < TENTH_POINT
