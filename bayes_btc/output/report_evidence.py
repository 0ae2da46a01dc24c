"""The evidence after the answer, figure-led, one section per endpoint: prior, likelihood and
posterior; P(NI) over margins; survival curves against the Kaplan-Meier of the data they were
fitted to; the tipping point. Figures the main part does not show go to the appendix."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bayes_btc.inputs.datakey import RECONSTRUCTED_SUFFIX
from bayes_btc.output.blocks import Block
from bayes_btc.output.report_answer import SUMMARY_FIGURE, figures_by_stem, robustness
from bayes_btc.output.saved import SavedResults


def endpoint_figures(r: SavedResults, endpoint: str) -> list[str]:
    """Stems of the main-part figures of one endpoint, in reading order."""
    return endpoint_stems(figures_by_stem(r), endpoint)


def endpoint_stems(stems: Iterable[str], endpoint: str) -> list[str]:
    """Of the figure file `stems`, those of the main part for one endpoint, in reading
    order."""
    have = set(stems)
    wanted = [
        f"ni_curve_{endpoint}",
        f"tipping_{endpoint}",
        f"density_{endpoint}",
        f"km_{endpoint}",
        f"km_{endpoint}{RECONSTRUCTED_SUFFIX}",
    ]
    return [s for s in wanted if s in have]


def appendix_stems(stems: list[str], endpoints: list[str]) -> list[str]:
    """Of the figure file `stems` (in saved order), those the main part does not show."""
    main = {SUMMARY_FIGURE} | {s for e in endpoints for s in endpoint_stems(stems, e)}
    return [s for s in stems if s not in main]


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
    figs = figures_by_stem(r)
    return [figs[s] for s in appendix_stems(list(figs), r.endpoints)]
