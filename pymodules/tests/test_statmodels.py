"""The statistical baselines: each origin sees only its past, and training scores them beside the LSTM."""

import time

import numpy as np
from conftest import make_settings
from test_train import SLICE

from stockagent.forecast import statmodels, train


def test_a_shock_after_an_origin_changes_no_forecast_made_at_it():
    rng = np.random.default_rng(3)
    calm = np.log(100) + np.cumsum(rng.normal(0.0003, 0.01, 700))
    shocked = calm.copy()
    shocked[641:] += 0.5  # a 65% jump the day after origin 640
    origins = np.arange(600, 680, 10)
    # refit every 2nd origin: both the fresh fits and the forwarded ones are checked
    a = statmodels.log_returns(calm, origins, 21, context=300, refit_every=2)
    b = statmodels.log_returns(shocked, origins, 21, context=300, refit_every=2)
    assert set(a) == set(statmodels.ALIASES)
    for alias in statmodels.ALIASES:
        assert a[alias].shape == (len(origins), 21) and np.isfinite(a[alias]).all()
        before = origins <= 640
        np.testing.assert_array_equal(a[alias][before], b[alias][before], err_msg=alias)
        # the models do see the shock from the next origin on (else the check above proves nothing)
        assert not np.array_equal(a[alias][~before], b[alias][~before]), alias


def test_training_scores_them_on_the_test_windows(tmp_path):
    s = make_settings(tmp_path / "data", stat_baselines=True, refit=False)
    started = time.monotonic()
    out = train.train_and_save(s, "parent", epochs=1, **SLICE)
    mae = out["metrics"]["mae"]
    assert set(mae) == {"lstm", "naive", "drift", "served", *statmodels.ALIASES}
    for alias in statmodels.ALIASES:
        assert all(v is not None and v > 0 for v in mae[alias].values()), alias
        # a random-walk-like index: no statistical model is far from "no change" at one day
        assert mae[alias]["1"] < 1.5 * mae["naive"]["1"], alias
    print(f"training with the statistical baselines took {time.monotonic() - started:.1f} s")


def test_the_process_of_their_own_answers_the_same():
    rng = np.random.default_rng(5)
    log_close = np.log(100) + np.cumsum(rng.normal(0.0002, 0.01, 400))
    origins = np.arange(320, 400, 8)
    here = statmodels.log_returns(log_close, origins, 5)
    apart = statmodels.log_returns_apart(log_close, origins, 5)
    assert set(apart) == set(here)
    for alias in statmodels.ALIASES:
        np.testing.assert_array_equal(apart[alias], here[alias], err_msg=alias)
