"""The report's first screen: the question in one line, one short paragraph per endpoint in
plain words (is the treatment non-inferior, under which priors and models, how robust, what the
audit says about the input) and the summary figure. Everything comes from the saved folder:
arm names, labels, margins and the threshold are the data's and the plan's."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from bayes_btc.analysis.result import Analysis
from bayes_btc.analysis.table_figures import decision_probabilities
from bayes_btc.decisions.rules import NI, endpoint_rules
from bayes_btc.output.blocks import Block
from bayes_btc.output.numbers import fmt
from bayes_btc.output.saved import SavedResults

SUMMARY_FIGURE = "summary_ni"
POSTERIOR_ASIDE = re.compile(r" \(posterior [^()]*(\([^()]*\)[^()]*)*\)")  # "(posterior P(..) = x)"


def figures_by_stem(r: SavedResults) -> dict[str, tuple[Path, str]]:
    """File stem -> (PNG path, caption) of every saved figure."""
    return {path.stem: (path, caption) for caption, path in r.figures.items()}


def _p(x: float) -> str:
    return fmt(float(x), probability=True)


def top_level_clauses(sentence: str) -> list[str]:
    """A sentence split at '; ' outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            out.append(sentence[start:i].strip())
            start = i + 1
    out.append(sentence[start:].strip().rstrip("."))
    return [c for c in out if c]


def verdict(r: SavedResults | Analysis, endpoint: str) -> tuple[str, str]:
    """(headline, sentence): is the treatment non-inferior on this endpoint, under which
    model x prior, with the reference analysis (first model, first prior) beside it."""
    t = r.plan.decision_threshold
    d = r.decisions[(r.decisions["endpoint"] == endpoint) & (r.decisions["estimand"] == NI)]
    d = d.assign(p=decision_probabilities(d))
    if not len(d):
        return "no decision", "No decision at the plan's margin was made."
    claim = str(d["claim"].iloc[0]) if "claim" in d else "non-inferior"
    first = d.iloc[0]
    ref = f"reference analysis {first['model']}, {first['prior']} prior: {_p(first['p'])}"
    shown = d[d["non_inferior"]]
    lo, hi = _p(d["p"].min()), _p(d["p"].max())
    span = f"all {lo}" if lo == hi else f"{lo} to {hi}"
    if len(shown) == len(d):
        return (
            claim,
            f"P(NI) reaches {t:g} under each of the {len(d)} model x prior combinations "
            f"({span}; {ref}).",
        )
    if not len(shown):
        return (
            f"{claim.removesuffix('ior')}iority not shown",  # non-inferiority, superiority
            f"P(NI) stays below {t:g} under each of the {len(d)} model x prior combinations "
            f"({span}; {ref}).",
        )
    rest = d.loc[~d["non_inferior"], "p"]
    cells = "; ".join(f"{s.model}, {s.prior} prior ({_p(s.p)})" for s in shown.itertuples())
    return (
        f"{claim} in {len(shown)} of {len(d)} analyses only",
        f"P(NI) reaches {t:g} only under {cells}; {_p(rest.min())} to {_p(rest.max())} "
        f"otherwise ({ref}).",
    )


def tipping_sentences(r: SavedResults | Analysis) -> list[str]:
    """The tipping-point sentences of a saved folder or of a run."""
    if isinstance(r, SavedResults):
        return list(r.provenance.get("tipping_point") or [])
    return list(r.tipping.sentences) if r.tipping is not None else []


def robustness(r: SavedResults | Analysis, endpoint: str) -> str:
    """The tipping point in one clause: the weakest prior that reverses the conclusion (from
    the tipping-point sentence), and whether that prior would be plausible."""
    for sentence in tipping_sentences(r):
        if sentence.startswith(f"{endpoint}:"):
            clauses = top_level_clauses(sentence)
            keep = [POSTERIOR_ASIDE.sub("", c) for c in clauses[1:3]]
            if keep:
                return "Tipping point: " + "; ".join(keep) + "."
    return ""


def audit_words(r: SavedResults | Analysis, endpoint: str) -> str:
    """What the audit says about this endpoint's printed numbers, in one sentence."""
    a = r.audit.table
    mine = a[a["endpoint"] == endpoint]
    if not len(mine):
        return ""
    bad = mine[~mine["consistent"].astype(bool)]
    if not len(bad):
        return f"Audit: the input passes all {len(mine)} checks."
    findings = []
    for b in bad.itertuples():
        text = str(b.finding).split(" (")[0].split(": ")[0].split("; ")[0]
        used = "" if pd.isna(b.used_in_fit) else f", fitted as {str(b.used_in_fit).split(' (')[0]}"
        findings.append(f"{b.arm}: {text}{used}")
    return f"Audit: {len(bad)} of {len(mine)} checks failed: " + "; ".join(findings) + "."


def answer_paragraphs(r: SavedResults | Analysis) -> list[tuple[str, str]]:
    """(lead, paragraph) per endpoint: verdict, tipping point and audit in plain words; from
    a saved folder or straight from `run_analysis()` (the notebook)."""
    out = []
    for e in r.endpoints:
        headline, words = verdict(r, e)
        text = " ".join(s for s in (words, robustness(r, e), audit_words(r, e)) if s)
        out.append((f"{e} ({r.study.label(e)}): {headline}", text))
    return out


def margin_phrases(r: SavedResults | Analysis) -> list[str]:
    """The plan's margin rule of each endpoint, endpoints sharing a rule named together:
    'HR (A vs B) < 1.3 for OS, PFS'; arm names from the data, margins per endpoint."""
    treatment, control = r.study.arms
    groups: dict[str, list[str]] = {}
    for e, rules in endpoint_rules(r.plan, r.kinds).items():
        q = (
            f"HR ({treatment} vs {control})"
            if rules.ni.quantity == "hr"
            else f"rate difference ({treatment} - {control})"
        )
        claim = "" if rules.ni.claim == "non-inferior" else f" ({rules.ni.claim})"
        groups.setdefault(f"{q} {rules.ni.direction} {rules.ni.margin:g}{claim}", []).append(e)
    return [f"{rule} for {', '.join(es)}" for rule, es in groups.items()]


def answer_blocks(r: SavedResults) -> list[Block]:
    """The answer first: question, one paragraph per endpoint, the summary figure."""
    treatment, control = r.study.arms
    t = r.plan.decision_threshold
    blocks = [
        Block("h2", "The answer"),
        Block(
            "p",
            f"Is {treatment} non-inferior (or, where the plan's margin asks it, superior) to "
            f"{control}? The claim is declared when the posterior probability of the margin "
            f"rule, P(NI), reaches {t:g} at the plan's margin. " + margins_sentence(r),
        ),
    ]
    blocks += [Block("answer", text, lead) for lead, text in answer_paragraphs(r)]
    figs = figures_by_stem(r)
    if SUMMARY_FIGURE in figs:
        path, caption = figs[SUMMARY_FIGURE]
        blocks.append(Block("figures", [(path, caption)], "wide"))
    return blocks


def margins_sentence(a: SavedResults) -> str:
    """The margin each endpoint is judged at, resolved from the plan, with its claim."""
    return "Margins: " + "; ".join(margin_phrases(a)) + "."
