"""The evidence after the answer, figure-led, one section per endpoint: prior, likelihood and
posterior; P(NI) over margins; survival curves against the Kaplan-Meier of the data they were
fitted to; the tipping point. Figures the main part does not show go to the appendix."""

from __future__ import annotations

from pathlib import Path

from bayes_btc.inputs.datakey import RECONSTRUCTED_SUFFIX
from bayes_btc.output.blocks import Block
from bayes_btc.output.report_answer import SUMMARY_FIGURE, figures_by_stem, robustness
from bayes_btc.output.saved import SavedResults


def endpoint_figures(r: SavedResults, endpoint: str) -> list[str]:
    """Stems of the main-part figures of one endpoint, in reading order."""
    figs = figures_by_stem(r)
    stems = [
        f"ni_curve_{endpoint}",
        f"tipping_{endpoint}",
        f"density_{endpoint}",
        f"km_{endpoint}",
        f"km_{endpoint}{RECONSTRUCTED_SUFFIX}",
    ]
    return [s for s in stems if s in figs]


def evidence_blocks(r: SavedResults) -> list[Block]:
    """One section per endpoint: a line saying what the figures show, then the figures."""
    figs = figures_by_stem(r)
    treatment, control = r.study.arms
    blocks = [
        Block("h2", "The evidence, endpoint by endpoint"),
        Block(
            "p",
            "Per endpoint, where they apply: P(NI) as the margin moves (the plan's margin "
            "dashed, the threshold as a line); the tipping point (how strong a prior on "
            f"{treatment} vs {control} would have to be to reverse the conclusion); prior, "
            "likelihood and posterior with the non-inferiority region shaded; and for "
            "survival, the posterior survival curves over the Kaplan-Meier of the data they "
            "were fitted to. The full tables are in the appendix.",
        ),
    ]
    for e in r.endpoints:
        stems = endpoint_figures(r, e)
        if not stems:
            continue
        blocks.append(Block("h3", f"{e}: {r.study.label(e)}"))
        words = robustness(r, e)
        if words:
            blocks.append(Block("p", words))
        blocks.append(Block("figures", [figs[s] for s in stems]))
    return blocks


def appendix_figures(r: SavedResults) -> list[tuple[Path, str]]:
    """Every saved figure the main part does not show (forest plots, interval HRs,
    historical priors, rank plots), in the saved order."""
    main = {SUMMARY_FIGURE} | {s for e in r.endpoints for s in endpoint_figures(r, e)}
    return [v for stem, v in figures_by_stem(r).items() if stem not in main]
