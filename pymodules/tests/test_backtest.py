"""Walk-forward backtest: hand-worked scores and strategy, the no-look-ahead rule, and one real run."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import statistics
import time

import numpy as np
import pytest
from conftest import make_settings

from stockagent import errors, runtime
from stockagent.forecast import backtest, intervals, metrics, shrinkage, strategy
from stockagent.market import prices as market_prices

TINY = {"lstm_epochs": 1, "lstm_hidden": 8, "lstm_layers": 1}


# --- scores ------------------------------------------------------------------------------------


def test_coverage_and_winkler_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    lo = np.array([0.0, 2.5, 3.0, 5.0])
    hi = np.array([2.0, 3.0, 3.0, 6.0])
    # inside: 1 in [0, 2], 3 in [3, 3]; outside: 2 below [2.5, 3], 4 below [5, 6]
    assert metrics.coverage(y, lo, hi) == 0.5
    # alpha 0.2, 2/alpha = 10: widths 2, 0.5, 0, 1; penalties 0, 10 * 0.5, 0, 10 * 1
    assert metrics.winkler(y, lo, hi, 0.2) == pytest.approx((2 + 5.5 + 0 + 11) / 4)
    # above the band: width 1 plus (2 / 0.05) * 0.5
    assert metrics.winkler(np.array([3.5]), np.array([2.0]), np.array([3.0]), 0.05) == pytest.approx(21.0)


def test_mase_and_directional_ci_by_hand():
    y, last, y_hat = np.array([10.0, 12.0, 9.0]), np.array([10.0, 10.0, 10.0]), np.array([11.0, 11.0, 11.0])
    # persistence errors 0, 2, 1 (MAE 1); forecast errors 1, 1, 2 (MAE 4/3)
    assert metrics.mase(y, y_hat, last) == pytest.approx(4 / 3)
    assert math.isnan(metrics.mase(last, y_hat, last))  # persistence exact: no scale
    # predicted up three times; actual flat, up, down: one hit in three
    hits, n, (lo, hi) = metrics.directional_ci(y, y_hat, last)
    assert (hits, n) == (1, 3)
    # Wilson: z = 1.959964, centre (1/3 + z^2/6) / (1 + z^2/3), half-width z/(1 + z^2/3) sqrt(2/27 + z^2/36)
    assert lo == pytest.approx(0.061490, abs=1e-5) and hi == pytest.approx(0.792340, abs=1e-5)
    assert metrics.directional_ci(y, last, last) == (0, 3, [None, None])  # persistence has no direction


def test_strategy_by_hand():
    closes = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    asset = closes[1:] / closes[:-1] - 1  # +10%, -10%, 0, +10%
    out = strategy.compare(np.array([0.01, -0.02, 0.003, 0.001]), asset, cost_bps=10)  # long, flat, long, long
    # costs 0.001 per unit traded: in on day 1, out on day 2, in on day 3
    r = [0.10 - 0.001, -0.001, -0.001, 0.10]
    assert out["equity_strategy"] == pytest.approx([1, 1.099, 1.097901, 1.096803099, 1.2064834089])
    s = out["strategy"]
    assert s["total_return"] == pytest.approx(0.2064834089)
    assert s["sharpe"] == pytest.approx(statistics.mean(r) / statistics.stdev(r) * math.sqrt(252))
    assert s["annualised_volatility"] == pytest.approx(statistics.stdev(r) * math.sqrt(252))
    assert s["max_drawdown"] == pytest.approx(1 - 0.999 * 0.999)  # from 1.099 down two costs
    assert (s["trades"], s["turnover_per_year"], s["long_share"]) == (3, pytest.approx(3 / 4 * 252), 0.75)
    b = out["buy_and_hold"]  # one entry cost: 1.099, 0.9891, 0.9891, 1.08801
    assert out["equity_buy_and_hold"] == pytest.approx([1, 1.099, 0.9891, 0.9891, 1.08801])
    assert b["total_return"] == pytest.approx(0.08801) and b["max_drawdown"] == pytest.approx(0.1)
    assert b["trades"] == 1


def test_shrinkage_weights_by_hand():
    p = np.array([[1.0, 1.0, 0.0], [2.0, -1.0, 0.0]])
    y = np.array([[0.5, -1.0, 3.0], [1.0, 2.0, 1.0]])
    # column 0: sum(p y) / sum(p p) = 2.5 / 5; column 1: -3 / 2 clipped to 0; column 2: no move predicted
    assert shrinkage.weights(p, y).tolist() == [0.5, 0.0, 0.0]
    assert shrinkage.weights(p, 3 * p).tolist() == [1.0, 1.0, 0.0]  # never above 1


# --- bands --------------------------------------------------------------------------------------


def test_adaptive_bands_by_hand():
    actual, zero, one = np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4), np.ones(4)
    # scores 1, 2, 3, 4, each known one origin later; rank ceil((n + 1) * 0.5) of those known
    half, alphas, q_next = intervals.adaptive(zero, actual, one, delay=1, level=0.5, gamma=0.0)
    assert np.isnan(half[0]) and half[1:].tolist() == [1.0, 2.0, 2.0]
    assert q_next == 3.0  # all four known: rank ceil(5 * 0.5) = 3
    # gamma 0.1: origin 1 (band 1, outcome 2) and origin 2 (band 2, outcome 3) miss: alpha 0.5 -> 0.45 -> 0.40
    half, alphas, q_next = intervals.adaptive(zero, actual, one, delay=1, level=0.5, gamma=0.1)
    assert half[1:].tolist() == [1.0, 2.0, 3.0] and alphas == pytest.approx([0.5, 0.5, 0.45, 0.40])
    assert q_next == 4.0  # origin 3 (band 3, outcome 4) misses too: alpha 0.35, rank ceil(5 * 0.65) = 4
    # the band scales with the origin's volatility
    half, _, _ = intervals.adaptive(zero, actual, np.array([1.0, 1.0, 1.0, 2.0]), delay=1, level=0.5, gamma=0.0)
    assert half[3] == pytest.approx(2 * 2)  # scores 1, 2, 3 known, rank 2 is 2, times origin 3's scale 2


def test_adaptive_bands_use_only_known_outcomes():
    rng = np.random.default_rng(0)
    n, delay, cut = 400, 5, 300
    center, actual, scale = rng.normal(size=n) * 0.1, rng.normal(size=n), np.abs(rng.normal(size=n)) + 0.5
    half, alphas, _ = intervals.adaptive(center, actual, scale, delay, 0.8)
    shocked = actual.copy()
    shocked[cut - delay :] += 50.0  # outcomes landing on day `cut` or later
    half2, alphas2, _ = intervals.adaptive(center, shocked, scale, delay, 0.8)
    assert np.array_equal(half[:cut], half2[:cut], equal_nan=True) and np.array_equal(alphas[:cut], alphas2[:cut])
    assert not np.allclose(half[cut:], half2[cut:])  # the shock is seen once known


# --- no look-ahead -------------------------------------------------------------------------------


def _shocked_dir(tmp_path, symbol_file: str, day: str):
    """A prices folder whose copy of ``symbol_file`` has every price from ``day`` on multiplied by 10."""
    src = market_prices.BUNDLED_DIR / symbol_file
    out = tmp_path / "shocked"
    out.mkdir()
    lines = src.read_text().splitlines()
    body = []
    for line in lines[1:]:
        f = line.split(",")
        if f[0] >= day:
            f[1:6] = [repr(float(v) * 10) for v in f[1:6]]
        body.append(",".join(f))
    (out / symbol_file).write_text("\n".join([lines[0], *body]) + "\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(src, plain / symbol_file)
    return plain, out


def test_no_forecast_moves_before_a_future_shock(tmp_path):
    """A tenfold jump planted on day T changes no forecast at origins before T, for every forecaster
    (the index itself, so the LSTM's parent reads the shocked file too)."""
    shock = "2013-06-03"
    plain, shocked = _shocked_dir(tmp_path, "GSPC.csv", shock)
    hs, got = (1, 5, 21), []
    for folder in (plain, shocked):
        s = make_settings(tmp_path / folder.name / "data", prices_dir=folder)
        p = market_prices.load("^GSPC", s)
        first, last = p.index_of(dt.date(2013, 1, 2)), p.index_of(dt.date(2013, 9, 3))
        model, scalers, _ = backtest.parent(s, dt.date(2013, 1, 2), 1, 8, 1)
        models = [
            backtest.Naive(),
            backtest.Drift(),
            backtest.FrozenLSTM(model, scalers, hs),
            backtest.Served(model, scalers, hs),
            *(backtest.StatModel(alias, hs) for alias in ("ets", "theta", "arima")),
        ]
        origins = np.arange(first, last)
        got.append(
            (backtest.walk(p.features, origins, models, hs, refit_every=7), origins, p.index_of(dt.date(2013, 6, 3)))
        )
    (before, origins, t), (after, _, _) = got
    early = origins < t
    assert models[3].weights.any(), "served: weights fitted, not left at persistence"
    for alias in ("naive", "drift", "lstm", "served", "ets", "theta", "arima"):
        assert np.array_equal(before[alias][early], after[alias][early]), alias
    for alias in ("drift", "lstm", "served", "ets", "theta", "arima"):  # the shock itself is seen from day T on
        assert not np.allclose(before[alias][~early], after[alias][~early]), alias


# --- a real run ----------------------------------------------------------------------------------


def test_backtest_one_year(tmp_settings):
    events = []
    started = time.monotonic()
    with runtime.local_call(events.append):
        out = backtest.run(tmp_settings, "AAPL", "2023-01-01", "2023-12-31", refit_every=21, **TINY)
    print(f"one-year backtest in {time.monotonic() - started:.1f}s")
    assert out["config"]["forecasters"] == ["naive", "drift", "lstm"]
    assert out["data_range"]["first_origin"] == "2023-01-03" and out["data_range"]["last_outcome"] == "2023-12-29"
    days = out["data_range"]["origins"]
    assert days == 249
    rows = {(r["horizon"], r["forecaster"]): r for r in out["scores"]}
    assert len(rows) == 9
    for (h, alias), r in rows.items():
        assert r["n"] == days + 1 - h, (h, alias)  # 250 trading days, outcomes through 2023-12-29
        for level in ("80", "95"):
            assert 0 <= r["coverage"][level] <= 1 and r["width"][level] > 0 and r["winkler"][level] >= r["width"][level]
        assert r["width"]["95"] > r["width"]["80"]
        assert r["mae"] > 0 and r["mase"] > 0
    assert rows[(1, "naive")]["mase"] == 1.0 and rows[(1, "naive")]["directional_accuracy"] is None
    lo, hi = rows[(5, "lstm")]["directional_ci"]
    assert lo <= rows[(5, "lstm")]["directional_accuracy"] <= hi
    eq = out["equity"]
    assert eq[0] == {"date": "2023-01-03", "strategy": 1.0, "buy_and_hold": 1.0} and len(eq) == days + 1
    bh = out["strategy"]["buy_and_hold"]
    assert eq[-1]["buy_and_hold"] == pytest.approx(1 + bh["total_return"], abs=1e-5)
    assert out["strategy"]["forecaster"] == "lstm" and set(out["strategy"]["by_forecaster"]) == {
        "naive",
        "drift",
        "lstm",
    }
    assert events and events[-1] == {"stage": "backtest", "done": days + 250, "total": days + 250}  # burn-in too
    assert any("never saw a forecast day" in n for n in out["notes"])


def test_backtest_served_and_statistical(tmp_settings):
    """The served choice and the statistical models through run(): scored like the rest, and the
    strategy trades what a user gets, the served forecast."""
    names = ["naive", "served", "ets", "theta", "arima"]
    started = time.monotonic()
    out = backtest.run(tmp_settings, "AAPL", "2023-10-02", "2023-12-29", forecasters=names, **TINY)
    print(f"served and statistical backtest in {time.monotonic() - started:.1f}s")
    assert out["config"]["forecasters"] == names and out["config"]["lstm"] == {"epochs": 1, "hidden": 8, "layers": 1}
    rows = {(r["horizon"], r["forecaster"]): r for r in out["scores"]}
    assert set(rows) == {(h, f) for h in (1, 5, 21) for f in names}
    for (h, alias), r in rows.items():
        assert r["n"] == out["data_range"]["origins"] + 1 - h, (h, alias)
        assert r["mase"] > 0 and 0 <= r["coverage"]["80"] <= r["coverage"]["95"] <= 1, (h, alias)
    for alias in ("ets", "theta", "arima", "served"):  # a forecast of its own, not persistence's
        assert rows[(5, alias)]["mase"] != 1.0 and rows[(5, alias)]["directional_accuracy"] is not None, alias
    assert out["strategy"]["forecaster"] == "served" and set(out["strategy"]["by_forecaster"]) == set(names)
    assert any(n.startswith("served: the lstm forecast times") for n in out["notes"])
    weights = next(n for n in out["notes"] if n.startswith("served: weights at the last refit h=1 "))
    assert "h=21" in weights


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"start_date": "2023-13-01"}, "start_date"),
        ({"start_date": "2024-01-01", "end_date": "2023-01-01"}, "start_date"),
        ({"refit_every": 0}, "refit_every"),
        ({"horizons": (0,)}, "horizons"),
        ({"cost_bps": -1}, "cost_bps"),
        ({"horizons": "1"}, "horizons"),
        ({"forecasters": ("oracle",)}, "forecasters"),
        ({"forecasters": "naive"}, "forecasters"),
        ({"lstm_hidden": 0}, "lstm_hidden"),
        ({"aci_gamma": float("nan")}, "aci_gamma"),
        ({"start_date": "1970-01-01", "end_date": "1970-02-01"}, "trading days"),
    ],
)
def test_bad_arguments(tmp_settings, kwargs, field):
    args = {"start_date": "2023-01-01", "end_date": "2023-12-31", "forecasters": ("naive",)} | kwargs
    with pytest.raises(errors.InvalidParameter, match=field):
        backtest.run(tmp_settings, "AAPL", **args)
