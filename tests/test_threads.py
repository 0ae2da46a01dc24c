"""Work split across threads gives exactly what it gives in one thread."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_btc.priors.mixdiff import BLOCK, BetaDiff, prob_beta_diff_above
from bayes_btc.threads import THREADS_ENV, cores, threaded_map


def test_threaded_map_keeps_the_order(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    assert cores() == 3
    assert threaded_map(lambda i: np.full(100_000, i).sum(), range(7)) == [
        100_000 * i for i in range(7)
    ]
    assert threaded_map(str, []) == []


def test_a_grid_in_blocks_matches_one_block_and_quadrature(monkeypatch):
    m0, n0 = np.meshgrid(np.linspace(0.1, 0.9, 40), np.linspace(0.5, 80, 2 * BLOCK // 40 + 1))
    a_c, b_c = m0 * n0 + 12, (1 - m0) * n0 + 40  # control posteriors: 12 of 52
    monkeypatch.setenv(THREADS_ENV, "1")
    one = BetaDiff(a_c, b_c, -0.1).above(20.0, 35.0)
    monkeypatch.setenv(THREADS_ENV, "2")
    two = BetaDiff(a_c, b_c, -0.1).above(20.0, 35.0)
    np.testing.assert_array_equal(one, two)
    for i, j in [(0, 0), (5, 17), (-1, -1)]:
        ref = prob_beta_diff_above(20.0, 35.0, a_c[i, j], b_c[i, j], -0.1)
        assert two[i, j] == pytest.approx(ref, abs=1e-9)


def test_background_gives_the_value_and_raises_the_exception(monkeypatch):
    """A value computed on a thread of its own equals the serial one (BAYES_BTC_THREADS=1);
    its exception is raised by result()."""
    import threading

    from bayes_btc.threads import Background

    def where(x: int) -> tuple[int, str]:
        return x * x, threading.current_thread().name

    def fail() -> None:
        raise ValueError("bad")

    own_thread = "where" if cores() >= 2 else threading.current_thread().name
    assert Background(where, 7).result() == (49, own_thread)
    with pytest.raises(ValueError, match="bad"):
        Background(fail).result()
    monkeypatch.setenv("BAYES_BTC_THREADS", "1")
    assert Background(where, 7).result() == (49, threading.current_thread().name)
