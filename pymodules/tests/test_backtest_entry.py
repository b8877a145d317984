"""The backtest entry points: requests checked against the rules and the data before anything runs,
and the stored results (newest per configuration, a bounded list, atomic files)."""

import json

import pytest

from stockagent import errors
from stockagent.entries import forecast as entries
from stockagent.forecast import backtest_results
from stockagent.forecast.registry import Registry


def call(fn, req=None):
    return json.loads(fn(json.dumps(req or {}).encode()))


GOOD = {"ticker": "msft", "start_date": "2023-01-03", "end_date": "2023-12-29", "cost_bps": 5.0}


def test_backtest_check_makes_the_request_whole(load_env, tmp_path):
    load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled")
    assert call(entries.backtest_check, GOOD) == {
        "ticker": "MSFT",
        "symbol": "MSFT",
        "start_date": "2023-01-03",
        "end_date": "2023-12-29",
        "horizons": [1, 5, 21],
        "refit_every": None,
        "cost_bps": 5.0,
        "forecasters": ["naive", "drift", "lstm"],
        "epochs": None,
    }
    out = call(entries.backtest_check, {**GOOD, "ticker": "%5EGSPC", "horizons": [21, 1, 1], "refit_every": 5})
    assert (out["ticker"], out["symbol"], out["horizons"], out["refit_every"]) == ("parent", "^GSPC", [1, 21], 5)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"start_date": "2023-02-30"}, errors.InvalidParameter, "start_date must be a date"),
        ({"end_date": "yesterday"}, errors.InvalidParameter, "end_date must be a date"),
        ({"start_date": "2023-12-29", "end_date": "2023-01-03"}, errors.InvalidParameter, "must be before"),
        ({"horizons": []}, errors.InvalidParameter, "subset of 1, 5 and 21"),
        ({"horizons": [1, 2]}, errors.InvalidParameter, "subset of 1, 5 and 21"),
        ({"refit_every": 0}, errors.InvalidParameter, "refit_every"),
        ({"refit_every": 253}, errors.InvalidParameter, "refit_every"),
        ({"cost_bps": -0.5}, errors.InvalidParameter, "cost_bps"),
        ({"cost_bps": 1001}, errors.InvalidParameter, "cost_bps"),
        ({"end_date": "2031-01-02"}, errors.InvalidParameter, "within MSFT's data"),
        ({"start_date": "1980-01-02"}, errors.InvalidParameter, "within MSFT's data"),
        ({"ticker": "NOPE"}, errors.NotFound, "NOPE"),
        ({"ticker": "../x"}, errors.BadRequest, "ticker"),
        ({"horizons": "1,5"}, errors.BadRequest, "horizons"),
        ({"epoch": 1}, errors.BadRequest, "unknown field"),
        ({"epochs": 0}, errors.InvalidParameter, "epochs"),
        ({"forecasters": []}, errors.InvalidParameter, "forecasters must be"),
        ({"forecasters": ["naive", "oracle"]}, errors.InvalidParameter, "forecasters must be"),
    ],
)
def test_bad_backtest_requests_are_refused(load_env, tmp_path, change, error, match):
    load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled")
    with pytest.raises(error, match=match):
        call(entries.backtest_check, {**GOOD, **change})
    with pytest.raises(error, match=match):  # the run checks the same before it starts
        call(entries.backtest, {**GOOD, **change})
    assert not list(tmp_path.rglob("backtests"))


def test_a_backtest_runs_and_is_stored(load_env, tmp_path):
    """A real run of the baselines over half a year (seconds): its result is stored and listed."""
    s = load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled")
    req = {**GOOD, "end_date": "2023-06-30", "horizons": [1, 5], "forecasters": ["drift", "naive"], "refit_every": 21}
    out = call(entries.backtest, req)
    assert out["model"] == "MSFT" and out["request"]["forecasters"] == ["naive", "drift"]
    assert {(r["horizon"], r["forecaster"]) for r in out["scores"]} == {
        (h, f) for h in (1, 5) for f in ("naive", "drift")
    }
    assert out["equity"][0]["strategy"] == out["equity"][0]["buy_and_hold"] == 1.0
    assert call(entries.backtests, {"ticker": "MSFT"})["backtests"] == [out]
    assert (s.models_dir / "MSFT" / "backtests").is_dir()
    assert Registry.from_settings(s).list_models() == []  # stored beside versions, never one


def test_results_keep_the_newest_per_configuration_and_a_bounded_list(tmp_path, monkeypatch):
    a, b = {"symbol": "MSFT", "cost_bps": 5.0}, {"symbol": "MSFT", "cost_bps": 0.0}
    first = backtest_results.save(tmp_path, "MSFT", a, {"n": 1})
    second = backtest_results.save(tmp_path, "MSFT", b, {"n": 2})
    third = backtest_results.save(tmp_path, "MSFT", a, {"n": 3})
    stored = backtest_results.read(tmp_path, "MSFT")
    assert [r["n"] for r in stored] == [3, 2]  # newest first; the first of config a was replaced
    assert stored[0] == third and stored[1] == second and first["backtest_id"] != third["backtest_id"]
    assert (
        third["request"] == a
        and third["model"] == "MSFT"
        and third["backtest_id"].endswith(backtest_results.config_key(a))
    )
    assert backtest_results.read(tmp_path, "AAPL") == []

    monkeypatch.setattr(backtest_results, "KEEP", 3)
    for n in range(5):
        backtest_results.save(tmp_path, "MSFT", {"symbol": "MSFT", "refit_every": n + 1}, {"n": 10 + n})
    assert [r["n"] for r in backtest_results.read(tmp_path, "MSFT")] == [14, 13, 12]
    folder = tmp_path / "MSFT" / "backtests"
    assert len(list(folder.iterdir())) == 3  # no temp files left behind


def test_backtests_lists_a_models_results(load_env, tmp_path):
    s = load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled")
    assert call(entries.backtests, {"ticker": "parent"}) == {"ticker": "parent", "backtests": []}
    backtest_results.save(s.models_dir, "parent", {"symbol": "^GSPC"}, {"n": 1})
    assert [r["n"] for r in call(entries.backtests, {"ticker": "^gspc"})["backtests"]] == [1]


def test_cli_backtest_sends_the_entry_its_request(load_env, tmp_path, capsys):
    from stockagent import cli

    load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled", BACKTEST_COST_BPS="2.5")
    argv = ["backtest", "--ticker", "MSFT", "--start-date", "2023-01-03", "--end-date", "2023-12-29"]
    fn, req = cli._request(cli._parser().parse_args([*argv, "--horizons", "1,21", "--refit-every", "5"]))
    assert entries.backtest in (fn, getattr(fn, "__wrapped__", None))
    assert req == {**GOOD, "ticker": "MSFT", "cost_bps": 2.5, "horizons": [1, 21], "refit_every": 5}
    assert cli._request(cli._parser().parse_args([*argv, "--cost-bps", "0"]))[1]["cost_bps"] == 0.0

    assert cli.main([*argv, "--horizons", "1,2"]) == 1  # refused by the entry, before any work
    assert json.loads(capsys.readouterr().out) == {
        "detail": "horizons must be a non-empty subset of 1, 5 and 21, got [1, 2]",
        "error": "InvalidParameter",
    }
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--horizons", "one"])
    assert exit_.value.code == 2 and "want integers separated by commas" in capsys.readouterr().out


def test_a_terminal_shows_a_backtests_origins_as_a_bar():
    from stockagent import progressbar

    line = progressbar.render({"stage": "backtest", "done": 127, "total": 254}, 75)
    assert line == f"backtest origin 127/254 [{'#' * 10}{'-' * 10}] 1:15"
