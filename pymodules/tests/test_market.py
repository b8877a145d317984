import numpy as np
import pytest
from conftest import make_settings

from stockagent import errors
from stockagent.market import calendar, prices


def test_sessions_after_new_year_2025_skip_holidays():
    days = calendar.sessions_after("2024-12-31", 63)
    assert len(days) == 63 and days[:5] == ("2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08")
    assert days[5] == "2025-01-10"  # 2025-01-09: national day of mourning for President Carter
    for closed in ("2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-01-04"):
        assert closed not in days
    assert days[-1] == "2025-04-03"


def test_bundled_prices_and_cache(tmp_settings):
    a = prices.load("AAPL", tmp_settings)
    assert a.source == "bundled" and a.first_date == "2000-01-03" and a.last_date == "2024-12-31" and len(a) == 6289
    assert prices.load("aapl".upper(), tmp_settings) is a  # cached by file
    g = prices.load("^GSPC", tmp_settings)
    assert g.path.name == "GSPC.csv" and len(g) == 15858
    assert np.isfinite(g.features[100:]).all()


def test_unknown_ticker(tmp_settings):
    with pytest.raises(errors.NotFound, match="No price data for ticker 'NOPE'"):
        prices.load("NOPE", tmp_settings)


def test_prices_dir_wins_and_reloads_on_change(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    src = prices.BUNDLED_DIR / "MSFT.csv"
    lines = src.read_text().splitlines()
    (folder / "MSFT.csv").write_text("\n".join(lines[:1001]) + "\n")
    s = make_settings(tmp_path / "data", prices_dir=folder)
    p = prices.load("MSFT", s)
    assert p.source == "prices_dir" and len(p) == 1000
    (folder / "MSFT.csv").write_text("\n".join(lines[:1201]) + "\n")
    import os

    os.utime(folder / "MSFT.csv", ns=(1, 1))  # a different mtime even on coarse clocks
    assert len(prices.load("MSFT", s)) == 1200
    listed = {row["symbol"]: row for row in prices.list_tickers(s)}
    assert listed["MSFT"]["source"] == "prices_dir" and listed["AAPL"]["source"] == "bundled"
    assert listed["^GSPC"]["rows"] == 15858


def _yahoo_frame(n=300):
    import pandas as pd

    idx = pd.DatetimeIndex(pd.bdate_range("2023-01-02", periods=n), name="Date")
    close = np.linspace(100, 130, n)
    return pd.DataFrame(
        {"Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close, "Volume": np.full(n, 1e6)}, index=idx
    )


def test_yahoo_cache_is_refreshed_once_per_trading_day(tmp_path, monkeypatch):
    calls = []

    def download(symbol, last_session):
        calls.append(symbol)
        if isinstance(download.result, Exception):
            raise download.result
        return download.result

    download.result = _yahoo_frame()
    monkeypatch.setattr(prices, "_download", download)
    monkeypatch.setattr(prices, "yahoo_reachable", lambda: True)
    s = make_settings(tmp_path / "data", data_source="yahoo")
    p = prices.load("ZZZ", s)
    assert p.source == "yahoo" and len(p) == 300 and calls == ["ZZZ"]
    cached = s.price_cache_dir / "ZZZ.csv"
    assert cached.read_text().splitlines()[0] == "Date,Open,High,Low,Close,Adj Close,Volume"
    assert prices.load("ZZZ", s) is p and calls == ["ZZZ"]  # fetched after the latest close: no new download

    import os

    os.utime(cached, (946684800, 946684800))  # the copy predates the latest close (year 2000)
    download.result = OSError("network down")
    assert len(prices.load("ZZZ", s)) == 300 and calls == ["ZZZ", "ZZZ"]  # refresh failed: stale copy used

    cached.unlink()
    with pytest.raises(errors.Unavailable):  # DATA_SOURCE=yahoo, nothing cached, Yahoo failing
        prices.load("ZZZ", s)
    auto = make_settings(tmp_path / "data", data_source="auto")
    assert prices.load("AAPL", auto).source == "bundled"  # auto falls back to the files on disk
    download.result = None  # Yahoo does not know the symbol
    with pytest.raises(errors.NotFound):
        prices.load("ZZZ", auto)


def test_auto_without_yahoo_uses_bundled(tmp_path, monkeypatch):
    monkeypatch.setattr(prices, "yahoo_reachable", lambda: False)
    monkeypatch.setattr(prices, "_download", lambda *a: pytest.fail("no download when Yahoo is unreachable"))
    s = make_settings(tmp_path / "data", data_source="auto")
    assert prices.active_source(s) == "bundled" and prices.load("SPY", s).source == "bundled"
