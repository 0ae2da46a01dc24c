"""The tipping-point grid read into arrays without pandas' pivot_table, against pivot_table
itself (shuffled rows, a repeated pair averaged, a missing pair left NaN)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_btc.decisions.tipping import grid_arrays


def test_grid_arrays_match_pivot_table():
    rng = np.random.default_rng(5)
    loc, strength = np.meshgrid([0.5, 0.8, 1.0, 2.0], [0.0, 0.5, 3.0], indexing="ij")
    d = pd.DataFrame(
        {"location": loc.ravel(), "strength": strength.ravel(), "probability": rng.random(12)}
    )
    d = pd.concat([d, d.iloc[[4]].assign(probability=0.25)]).drop(index=7)  # repeat, gap
    d = d.sample(frac=1.0, random_state=1)
    x, y, z = grid_arrays(d)
    ref = d.pivot_table(index="strength", columns="location", values="probability")
    np.testing.assert_array_equal(x, ref.columns.to_numpy(float))
    np.testing.assert_array_equal(y, ref.index.to_numpy(float))
    np.testing.assert_allclose(z, ref.to_numpy(float), rtol=1e-15)
    assert np.isnan(z).sum() == 1
