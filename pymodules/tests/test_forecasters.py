"""One contract for every forecaster: the baselines and the LSTM (nanoGPT-style shapes, Nixtla-style contract)."""

import numpy as np
import pytest
import torch

from stockagent.forecast import dataset
from stockagent.forecast.baselines import Drift, Naive
from stockagent.forecast.dataset import HORIZON, TARGETS, Scalers
from stockagent.forecast.model import LSTMConfig, LSTMForecaster, LSTMModel
from stockagent.forecast.registry import Registry
from stockagent.market import prices


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    from conftest import make_settings

    p = prices.load("JPM", make_settings(tmp_path_factory.mktemp("w")))
    return dataset.split(p, "2015-01-01").test


def _lstm(parent_settings):
    art = Registry.from_settings(parent_settings).load("parent")
    model = LSTMModel(LSTMConfig(**art.meta["config"]["model"]))
    model.load_state_dict(art.state_dict)
    return LSTMForecaster(model, Scalers.from_json(art.scalers))


@pytest.fixture(params=["naive", "drift", "lstm"])
def forecaster(request):
    if request.param == "lstm":
        return _lstm(request.getfixturevalue("parent_settings"))
    return {"naive": Naive(), "drift": Drift()}[request.param]


def test_forecaster_contract(forecaster, windows):
    out = forecaster.predict(windows)
    assert out.shape == (len(windows), HORIZON, len(TARGETS))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(forecaster.predict(windows.take(slice(3, 9))), out[3:9], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(forecaster.predict(windows), out)  # deterministic
    assert isinstance(forecaster.alias, str)
    assert forecaster.predict(windows.take(slice(0, 0))).shape == (0, HORIZON, len(TARGETS))


def test_baseline_formulas(windows):
    naive, drift = Naive().predict(windows), Drift().predict(windows)
    assert (naive[..., :4] == 0).all()  # every price = the last close
    h = np.arange(1, HORIZON + 1)
    np.testing.assert_allclose(drift[:, :, 3], windows.drift[:, None] * h)
    np.testing.assert_array_equal(naive[..., 4], drift[..., 4])


def test_model_shapes_and_asserts():
    cfg = LSTMConfig(hidden=16, layers=2)
    m = LSTMModel(cfg)
    x, y = torch.randn(4, cfg.context, cfg.n_inputs), torch.randn(4, cfg.horizon, cfg.n_targets)
    pred, loss = m(x, y)
    assert pred.shape == (4, 63, 5) and loss.ndim == 0
    assert m(x)[1] is None
    with pytest.raises(AssertionError, match="60 time steps"):
        m(torch.randn(4, 59, cfg.n_inputs))
    with pytest.raises(AssertionError, match="7 features"):
        m(torch.randn(4, 60, 6))
