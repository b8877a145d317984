"""RSI14 (Wilder) and MACD (EMA12 - EMA26, pandas adjust=False) against numbers worked out by hand."""

from fractions import Fraction

import numpy as np
import pytest

from stockagent.market import features


def test_rsi_wilder_by_hand_period_3():
    # closes 10, 11, 10.5, 11.5, 11, 12 -> changes +1, -0.5, +1, -0.5, +1
    # first averages (simple, 3 changes): gain 2/3, loss 1/6 -> RS 4 -> RSI 80
    # then Wilder: gain (2/3*2 + 0)/3 = 4/9, loss (1/6*2 + 0.5)/3 = 5/18 -> RS 8/5 -> 100 - 100/2.6
    # then gain (4/9*2 + 1)/3 = 17/27, loss (5/18*2 + 0)/3 = 5/27 -> RS 17/5 -> 100 - 100/4.4
    got = features.rsi(np.array([10, 11, 10.5, 11.5, 11, 12.0]), period=3)
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got[3:], [80.0, 100 - 100 / 2.6, 100 - 100 / 4.4], rtol=1e-12)


def test_rsi14_matches_wilders_worked_example():
    # The 14-day example of StockCharts ChartSchool's RSI article (Wilder's method). Its table
    # rounds the intermediate averages, hence the 0.1 tolerance.
    closes = [
        44.34,
        44.09,
        44.15,
        43.61,
        44.33,
        44.83,
        45.10,
        45.42,
        45.84,
        46.08,
        45.89,
        46.03,
        45.61,
        46.28,
        46.28,
        46.00,
        46.03,
        46.41,
        46.22,
        45.64,
        46.21,
        46.25,
        45.71,
        46.45,
        45.78,
        45.35,
        44.03,
        44.18,
        44.22,
        44.57,
        43.42,
        42.66,
        43.13,
    ]
    published = [
        70.53,
        66.32,
        66.55,
        69.41,
        66.36,
        57.97,
        62.93,
        63.26,
        56.06,
        62.38,
        54.71,
        50.42,
        39.99,
        41.46,
        41.87,
        45.46,
        37.30,
        33.08,
        37.77,
    ]
    got = features.rsi(np.array(closes))
    assert np.isnan(got[:14]).all()
    np.testing.assert_allclose(got[14:], published, atol=0.1)


def test_rsi_flat_and_rising_series():
    assert features.rsi(np.full(20, 5.0))[-1] == 50.0
    assert features.rsi(np.arange(1.0, 21.0))[-1] == 100.0


def test_macd_by_hand():
    # EMA(span n, adjust=False): alpha = 2/(n+1), ema_0 = x_0, ema_t = alpha x_t + (1 - alpha) ema_{t-1}
    # x = 1, 2, 3:  EMA12 = 1, 15/13, 243/169;  EMA26 = 1, 29/27, 887/729
    expected = [Fraction(0), Fraction(15, 13) - Fraction(29, 27), Fraction(243, 169) - Fraction(887, 729)]
    assert expected[1] == Fraction(28, 351) and expected[2] == Fraction(27244, 123201)
    np.testing.assert_allclose(features.macd(np.array([1.0, 2.0, 3.0])), [float(f) for f in expected], rtol=1e-12)


def test_compute_columns_and_zero_volume():
    ohlcv = np.column_stack([np.linspace(10, 20, 40)] * 4 + [np.r_[np.full(10, 100.0), 0.0, np.full(29, 200.0)]])
    out = features.compute(ohlcv)
    assert out.shape == (40, len(features.COLUMNS))
    assert out[10, 4] == 100.0  # a zero volume takes the previous day's
    np.testing.assert_array_equal(out[:, :4], ohlcv[:, :4])
    with pytest.raises(AssertionError, match="expected"):
        features.compute(ohlcv[:, :4])
