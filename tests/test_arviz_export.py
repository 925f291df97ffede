"""ArviZ export of kept draws (optional extra): the netCDF file holds exactly the draws, and ArviZ's own
diagnostics agree with copyhead's rank-normalised ones on them."""
import numpy as np
import pytest

az = pytest.importorskip("arviz", reason="the arviz extra is not installed (pip install 'copyhead[arviz]')")

from copyhead.errors import InvalidParameterError  # noqa: E402
from copyhead.numerics.arviz_export import from_points, from_replica_run, write_netcdf  # noqa: E402
from copyhead.numerics.diagnostics import ess_bulk, rhat  # noqa: E402
from copyhead.numerics.replica import replica_exchange  # noqa: E402
from copyhead.numerics.sampling import m_of_alpha  # noqa: E402
from copyhead.spec import ModelSpec  # noqa: E402


def gaussian(thetas):
    return (-0.5 * np.sum(thetas ** 2, axis=1))[:, None], -thetas[:, None, :], thetas[:, 0].copy()


def test_replica_run_round_trips_through_netcdf(tmp_path):
    run = replica_exchange(gaussian, np.array([[1.0], [0.5]]), np.zeros((3, 2, 2)), n_steps=800, seed=1, step=0.5)
    idata = from_replica_run(run, attrs={"what": "test"})
    path = write_netcdf(idata, tmp_path / "rx.nc")
    back = az.from_netcdf(path)
    m = back.posterior["m"].values                                        # (chain, draw, rung)
    assert m.shape == (3, run.m.shape[2], 2)
    assert np.array_equal(m, np.transpose(run.m, (0, 2, 1)))
    assert np.allclose(back.posterior["weight_0"].values, [1.0, 0.5])
    # ArviZ's rank-normalised R-hat and bulk ESS on the exported draws = copyhead's on the originals
    for k in range(2):
        ref_r, ref_e = rhat(run.m[:, k]), ess_bulk(run.m[:, k])
        assert float(az.rhat(back, var_names=["m"]).m.values[k]) == pytest.approx(ref_r, rel=1e-3)
        assert float(az.ess(back, var_names=["m"], method="bulk").m.values[k]) == pytest.approx(ref_e, rel=0.05)
    assert "round_trips_per_ladder" in back.posterior.attrs
    other = tmp_path / "again.nc"
    other.write_text("user file")
    with pytest.raises(InvalidParameterError, match="path"):
        write_netcdf(idata, other)
    assert other.read_text() == "user file"
    assert write_netcdf(idata, other, force=True) == str(other) and az.from_netcdf(other).posterior["m"].shape == m.shape


def test_points_export_keeps_alpha_and_init(tmp_path):
    pts = m_of_alpha(ModelSpec(T=4, V=4), [6], [1.0, 2.0], chains=2, steps=60, seed=0)
    idata = from_points(pts)
    back = az.from_netcdf(write_netcdf(idata, tmp_path / "pts.nc"))
    assert list(back.posterior["alpha"].values) == [p.alpha for p in pts]
    assert list(back.posterior["init"].values) == [p.init for p in pts]
    for i, p in enumerate(pts):
        assert np.array_equal(back.posterior["m"].values[:, :, i], p.kept)
