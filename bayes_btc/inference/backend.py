"""Bit-reproducible compiled models: PyTensor's numba backend without fast-math.

With fast-math (PyTensor's default), LLVM may reassociate floating-point sums and use
approximate functions; the code it emits differs between a fresh compile and a cached one and
with the vector width chosen at compile time, so the same seed gave different piecewise-
exponential draws from run to run (most often when other processes were running). Exact IEEE
arithmetic makes the same inputs and seed give byte-identical draws. PyTensor's compile-cache
key includes this flag (`_fastmath0`), so code cached with fast-math is never reused."""

from __future__ import annotations

import pytensor


def use_exact_math() -> None:
    """Turn fast-math off for every model compiled after this call (idempotent)."""
    pytensor.config.numba__fastmath = False


use_exact_math()  # on import; `compile_model` calls it again before each compile
