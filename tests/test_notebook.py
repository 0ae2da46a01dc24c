"""notebooks/reanalysis.ipynb: committed without outputs, and runs top to bottom.

The run uses the plan's quick sampler (BAYES_BTC_NOTEBOOK_QUICK=1) and compiles every model
family, so it takes about 1.5 minutes. Needs nbformat, nbclient and ipykernel (test extras).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.trial import load_trial

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "reanalysis.ipynb"
CELL_TIMEOUT_S = 600  # per cell; the fit cell takes ~60-90 s in quick mode
PREFIX_MARK = "KERNEL_PREFIX="


def read() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def tagged(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def text(cell: nbformat.NotebookNode) -> str:
    """What a code cell showed as text: streams, plain-text and markdown displays."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] in ("display_data", "execute_result"):
            parts += [out["data"].get(k, "") for k in ("text/markdown", "text/plain")]
    return "".join(parts)


def images(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def test_notebook_is_committed_clean() -> None:
    nb = read()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code), "clear the outputs"
    source = "\n".join(c.source for c in code)
    assert "run_analysis(" in source
    for forbidden in ("subprocess", "bayes_btc.cli", "!bayes-btc", "os.system"):
        assert forbidden not in source, f"the notebook must use the API, not {forbidden}"
    prose = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert "RECONSTRUCTED pseudo-patient data" in prose
    assert "The abstract gives only summary numbers" in prose
    params = tagged(nb, "parameters").source
    assert 'os.environ.get("BAYES_BTC_NOTEBOOK_QUICK", "0") == "1"' in params


@pytest.mark.slow
def test_notebook_runs_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAYES_BTC_NOTEBOOK_QUICK", "1")
    nb = read()
    # the kernel must run in this interpreter's environment (kernel "python3" -> sys.executable)
    nb.cells.append(nbformat.v4.new_code_cell(f"import sys\nprint({PREFIX_MARK!r} + sys.prefix)"))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        startup_timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},  # working directory of the kernel
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert text(nb.cells[-1]).strip() == PREFIX_MARK + sys.prefix
    assert "QUICK run" in text(tagged(nb, "setup"))
    quick = load_plan()[0].sampler_quick
    assert f"{quick.chains} chains x {quick.draws} draws" in text(tagged(nb, "fit"))
    assert "scipy closed form = library exact P(NI)" in text(tagged(nb, "exact-check"))

    decisions = text(tagged(nb, "decisions"))
    assert "non-inferiority" in decisions
    spec, _ = load_trial()
    for endpoint in [*spec.survival, *spec.binary]:
        assert f"{endpoint} (" in decisions, f"no decision printed for {endpoint}"
    assert "_reconstructed" in decisions
    assert "fits pass their diagnostics" in text(tagged(nb, "diagnostics"))

    for tag in ("spread", "km", "ni-curves"):
        assert images(tagged(nb, tag)) == 1, f"no inline figure in the {tag!r} cell"
    assert sum(images(c) for c in nb.cells) >= 6
