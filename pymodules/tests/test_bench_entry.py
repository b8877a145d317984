"""The benchmark workloads' entry functions (noop, features) and their command-line twins."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from stockagent import cli, diagnostics, errors
from stockagent.entries import agent
from stockagent.market import features, prices


def call(fn, req=None):
    return json.loads(fn(json.dumps(req or {}).encode()))


@pytest.fixture
def bundled(tmp_path, load_env):
    return load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled")


def test_noop():
    assert call(diagnostics.noop) == {}


def test_features_summarise_the_model_feature_frame(bundled):
    out = call(diagnostics.features, {"ticker": " aapl "})
    data = prices.load("AAPL", bundled)
    frame = features.compute(data.ohlcv)
    assert out["ticker"] == "AAPL" and out["rows"] == len(data) and out["last_date"] == data.last_date == "2024-12-31"
    assert list(out["last"]) == list(features.COLUMNS)
    np.testing.assert_allclose(list(out["last"].values()), frame[-1], rtol=1e-6)
    with pytest.raises(errors.BadRequest, match="missing field 'ticker'"):
        call(diagnostics.features, {})
    with pytest.raises(errors.NotFound):
        call(diagnostics.features, {"ticker": "NOPE"})


@pytest.mark.parametrize(
    "argv, fn, req",
    [
        (["noop"], diagnostics.noop, {}),
        (["features", "--ticker", "AAPL"], diagnostics.features, {"ticker": "AAPL"}),
        (["embed", "--text", "AAPL up 3%"], agent.embed, {"text": "AAPL up 3%"}),
    ],
)
def test_cli_workloads_map_to_entry_functions(argv, fn, req):
    assert cli._request(cli._parser().parse_args(argv)) == (fn, req)


def test_cli_features_prints_the_entry_answer(bundled):
    env = {**os.environ, "DATA_DIR": str(bundled.data_dir), "DATA_SOURCE": "bundled"}
    run = subprocess.run(
        [sys.executable, "-m", "stockagent.cli", "features", "--ticker", "AAPL"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == call(diagnostics.features, {"ticker": "AAPL"})
