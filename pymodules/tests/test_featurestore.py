"""The feature store: Feast with a Parquet offline store and a real Redis online store, fed by the
model's own feature function; the consistency check finds online features that went stale."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import make_settings

from stockagent import errors, featurestore
from stockagent.entries import forecast as entries
from stockagent.market import features, prices
from stockagent.settings import Settings


@pytest.fixture
def own_prices(tmp_path):
    """A PRICES_DIR with a copy of the bundled AAPL file (a test may change it)."""
    folder = tmp_path / "prices"
    folder.mkdir()
    shutil.copy(prices.BUNDLED_DIR / "AAPL.csv", folder / "AAPL.csv")
    return folder


def test_online_redis_equals_in_process_features(tmp_path, redis_url, own_prices):
    s = make_settings(tmp_path / "data", prices_dir=own_prices)
    fs = featurestore.FeatureStore(s, redis_url=redis_url)
    assert fs.online == "redis"
    out = fs.sync(["AAPL", "MSFT"])
    assert out["latest"] == {"AAPL": "2024-12-31", "MSFT": "2024-12-31"}

    offline = pd.read_parquet(fs.parquet)
    aapl = prices.load("AAPL", s)
    rows = offline[offline["ticker"] == "AAPL"]
    assert len(rows) == len(aapl) - features.WARMUP
    np.testing.assert_array_equal(rows[list(featurestore.FIELDS)].to_numpy(), aapl.features[features.WARMUP :])
    assert rows["as_of"].iloc[-1] == "2024-12-31"

    for symbol in ("AAPL", "MSFT"):
        check = fs.check(symbol)
        assert check["consistent"], check
        assert check["max_relative_difference"] == 0.0 and check["online_as_of"] == "2024-12-31"

    # The in-process features move (a corrected last close) and the store is not synced: caught.
    df = pd.read_csv(own_prices / "AAPL.csv")
    df.loc[df.index[-1], "Close"] *= 1.01
    df.to_csv(own_prices / "AAPL.csv", index=False)
    stale = fs.check("AAPL")
    assert not stale["consistent"] and stale["max_relative_difference"] > 0
    assert stale["features"]["close"]["online"] != stale["features"]["close"]["in_process"]

    # A sync of AAPL alone brings it back and keeps MSFT's offline rows.
    fs.sync(["AAPL"])
    assert fs.check("AAPL")["consistent"] and fs.check("MSFT")["consistent"]
    assert set(pd.read_parquet(fs.parquet)["ticker"]) == {"AAPL", "MSFT"}


def test_a_ticker_never_synced_is_not_consistent(tmp_path, redis_url):
    fs = featurestore.FeatureStore(make_settings(tmp_path / "data"), redis_url=redis_url)
    fs.sync(["MSFT"])
    check = fs.check("JPM")
    assert check["consistent"] is False and check["online_as_of"] is None


def test_training_syncs_its_ticker(entry_env, redis_url, load_env):
    load_env(FEATURE_STORE="feast", REDIS_URL=redis_url)
    out = json.loads(entries.train(json.dumps({"ticker": "JPM", "epochs": 1, "start_date": "2020-01-01"}).encode()))
    assert out["feature_store"]["tickers"] == ["JPM"] and out["feature_store"]["online_store"] == "redis"
    check = json.loads(entries.feature_store_check(b'{"ticker": "JPM"}'))
    assert check["consistent"], check


def test_settings_and_urls():
    assert Settings.from_env({}).feature_store == "off"
    assert Settings.from_env({"FEATURE_STORE": "Feast"}).feature_store == "feast"
    with pytest.raises(ValueError, match="FEATURE_STORE"):
        Settings.from_env({"FEATURE_STORE": "hopsworks"})
    assert featurestore.redis_connection("redis://localhost:6379/2") == "localhost:6379,db=2"
    assert featurestore.redis_connection("redis://:s%40cret@cache/0") == "cache:6379,db=0,password=s@cret"
    for bad in ("http://x:1/0", "redis:///0", "redis://h:1/x"):
        with pytest.raises(errors.InvalidParameter):
            featurestore.redis_connection(bad)
