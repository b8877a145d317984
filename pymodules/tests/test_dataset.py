"""No look-ahead: splits are chronological, targets never cross a split, scalers see training rows only."""

import dataclasses

import numpy as np
import pytest

from stockagent.forecast import dataset
from stockagent.forecast.dataset import CONTEXT, HORIZON, Scalers
from stockagent.market import prices


@pytest.fixture
def aapl(tmp_settings):
    return prices.load("AAPL", tmp_settings)


def test_windows_stay_inside_their_split(aapl):
    d = dataset.split(aapl, "2010-01-01", "2019-12-31")
    lo, hi = dataset.usable_rows(aapl, "2010-01-01", "2019-12-31")
    assert aapl.day_strings[lo] >= "2010-01-01" and aapl.day_strings[hi - 1] <= "2019-12-31"
    # contexts start at or after the first usable row; the last target is inside the data
    assert d.train.ends.min() - CONTEXT + 1 >= lo and d.test.ends.max() + HORIZON <= hi - 1
    # every target of a split lies before the next split's first cut-off
    assert d.train.ends.max() + HORIZON < d.val.ends.min()
    assert d.val.ends.max() + HORIZON < d.test.ends.min()
    assert (
        d.info["train"]["last_target"]
        < d.info["val"]["first_cutoff"]
        <= d.info["val"]["last_target"]
        < d.info["test"]["first_cutoff"]
    )
    n = hi - lo  # the cut by date is 70/15/15
    assert d.val.ends.min() - lo == round(0.70 * n) and d.test.ends.min() - lo == round(0.85 * n)


def test_targets_and_inputs_are_log_ratios(aapl):
    d = dataset.split(aapl, "2010-01-01", "2019-12-31")
    i, t = 7, int(d.train.ends[7])
    close = aapl.ohlcv[:, 3]
    np.testing.assert_allclose(d.train.targets[i, :, 3], np.log(close[t + 1 : t + 1 + HORIZON] / close[t]), rtol=1e-5)
    np.testing.assert_allclose(
        d.train.inputs[i, :, 3], np.log(close[t - CONTEXT + 1 : t + 1] / close[t]), rtol=1e-5, atol=1e-7
    )
    assert d.train.inputs[i, -1, 3] == 0.0


def _changed_after(p, row, factor):
    ohlcv = p.ohlcv.copy()
    ohlcv[row:, :4] *= factor
    ohlcv[row:, 4] *= 7
    return dataclasses.replace(p, ohlcv=ohlcv)


def test_scalers_see_training_rows_only(aapl):
    d = dataset.split(aapl, "2010-01-01", "2019-12-31")
    base = Scalers.fit(d.train).to_json()
    first_val_row = int(d.val.ends.min())
    changed = dataset.split(_changed_after(aapl, first_val_row, 3.0), "2010-01-01", "2019-12-31")
    assert Scalers.fit(changed.train).to_json() == base  # validation/test prices changed, scalers did not
    np.testing.assert_array_equal(changed.train.targets, d.train.targets)
    # ...and changing a training row does change them, so the check above can fail
    moved = dataset.split(_changed_after(aapl, int(d.train.ends[100]), 3.0), "2010-01-01", "2019-12-31")
    assert Scalers.fit(moved.train).to_json() != base


def test_scalers_round_trip_as_json(aapl):
    import json

    s = Scalers.fit(dataset.split(aapl, "2015-01-01").train)
    back = Scalers.from_json(json.loads(json.dumps(s.to_json())))
    np.testing.assert_array_equal(back.y_std, s.y_std)


def test_too_short_a_slice(aapl):
    with pytest.raises(ValueError, match="at least"):
        dataset.split(aapl, "2023-01-01")
