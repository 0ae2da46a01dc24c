"""Writing a posterior NetCDF: the file reads back as written, and xarray's scheduler check
does not import dask.distributed (0.3-0.6 s in each writing process) unless it already is."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import xarray as xr

from bayes_btc.output.write import write_posterior

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np, xarray as xr
    {pre}
    from bayes_btc.output.write import write_posterior
    x = np.random.default_rng(1).standard_normal((2, 50))
    tree = xr.DataTree.from_dict({{"posterior": xr.Dataset({{"a": (("chain", "draw"), x)}})}})
    write_posterior(tree, sys.argv[1])
    back = xr.open_datatree(sys.argv[1], engine="h5netcdf")["posterior"]["a"].values
    assert np.array_equal(back, x)
    print("distributed" in sys.modules, sys.modules.get("distributed", 0) is None)
    """
)


def _run(tmp_path, pre: str) -> str:
    code = SCRIPT.format(pre=pre)
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "p.nc")],
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout.split()


def test_writing_a_posterior_does_not_import_distributed(tmp_path):
    assert _run(tmp_path, "") == ["False", "False"]


def test_an_imported_distributed_is_left_as_it_is(tmp_path):
    assert _run(tmp_path, "import distributed") == ["True", "False"]


def test_the_file_reads_back_in_this_process(tmp_path):
    x = np.arange(12.0).reshape(3, 4)
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({"a": (("chain", "draw"), x)})})
    write_posterior(tree, tmp_path / "p.nc")
    back = xr.open_datatree(tmp_path / "p.nc", engine="h5netcdf")
    assert np.array_equal(back["posterior"]["a"].values, x)
    assert "distributed" not in sys.modules or sys.modules["distributed"] is not None
