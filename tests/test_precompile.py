"""The background compile at the start of a run compiles the very loops a run then uses: in a
fresh process, the made-up problem's compiles are the only ones; a real PWE fit (with a
control-median prior), a posterior summary and mixture fits afterwards compile nothing new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]

SCRIPT = """
import json, math
import numba
import numpy as np
from bayes_btc.inference import precompile
from bayes_btc.inference.cell_stats import summarise
from bayes_btc.inference.pwe_sampling import sample_cells
from bayes_btc.models import pwe_kernel
from bayes_btc.inference import cell_stats, geyer
from bayes_btc.priors import em_kernels
from bayes_btc.priors.mixture_fit import fit_beta_mixture, fit_normal_mixture
from bayes_btc.models.pwe import PWEData, PWEPriors
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.models.pwe_density import pwe_cells
from bayes_btc.priors.mixtures import NormalMixture

def signatures():
    out = {}
    for mod in (pwe_kernel, geyer, cell_stats, em_kernels):
        for name in dir(mod):
            f = getattr(mod, name)
            if isinstance(f, numba.core.dispatcher.Dispatcher) and f.signatures:
                out[name] = sorted(str(s) for s in f.signatures)
    return out

precompile.start(pwe=True, mixtures=True).join()
ready = signatures()
rng = np.random.default_rng(3)
tables = [PWETable(np.arange(1, k) * 3.0, 3.0 * k + 5, rng.integers(1, 9, (2, k)),
                   rng.uniform(40, 120, (2, k))) for k in (4, 6)]
data = PWEData(["PFS", "OS"], tables)
priors = {"vague": NormalMixture.single(0.0, 10.0), "historical": NormalMixture.single(0.0, 10.0)}
median = NormalMixture((0.8, 0.2), (math.log(6.0), math.log(6.0)), (0.15, 1.0))
medians = {(e, p): (median if p == "historical" else None) for e in data.endpoints for p in priors}
for variant in ("ph", "nonph"):
    cells = pwe_cells(data, priors, variant, PWEPriors(-2.5, 2.5, 0.3, 0.15), medians)
    run, _ = sample_cells(cells, 2, 60, 100, 1, 2)
    summarise(np.moveaxis(run.draws, (0, 1), (-2, -1)).reshape(-1, 2, 100))
fit_beta_mixture(rng.beta(20.0, 30.0, 3000))
fit_normal_mixture(np.concatenate([rng.normal(1.0, 0.2, 2000), rng.normal(2.0, 0.5, 1000)]))
print(json.dumps({"ready": ready, "after": signatures()}))
"""


def test_background_compile_is_what_a_run_uses():
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    got = json.loads(p.stdout.strip().splitlines()[-1])
    loops = ("transition_kernel", "value_and_gradient_kernel", "ess_cells", "rank_scores")
    for loop in (*loops, "beta_log_weights", "normal_log_weights"):
        assert len(got["ready"].get(loop, [])) == 1, (loop, got["ready"])
    assert got["after"] == got["ready"]
