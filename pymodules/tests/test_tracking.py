"""Experiment tracking and the promotion rule: the local run log, MLflow on its SQLite store, the
``runs`` endpoint, a worse model kept out of serving, and tracking failures that never fail a training."""

import json
import sys
import types

import pytest
import torch

from stockagent import errors, redact, runtime
from stockagent.entries import forecast as entries
from stockagent.forecast import registry as registry_mod
from stockagent.forecast import tracking, train
from stockagent.forecast.registry import Registry

CHILD = {"epochs": 1, "strategy": "freeze", "start_date": "2016-01-01"}  # a few seconds on one core


def call(fn, req=None):
    return json.loads(fn(json.dumps(req or {}).encode()))


@pytest.fixture
def no_mlflow(monkeypatch):
    """MLflow off (its first use on a fresh data folder creates a database: seconds we skip here)."""
    monkeypatch.setenv("MLFLOW_DISABLE", "1")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def default_mlflow(monkeypatch):
    """MLflow as a deployment without configuration sees it: on when installed, on DATA_DIR's SQLite."""
    monkeypatch.delenv("MLFLOW_DISABLE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _ruin_fit(monkeypatch):
    """Make every following training produce a much worse model (noise on the trained head)."""
    real = train.fit

    def worse(cfg, data, scalers, parent=None, **kw):
        model, report = real(cfg, data, scalers, parent, **kw)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in model.head.parameters():
                p.add_(3.0 * torch.randn(p.shape, generator=gen))
        return model, report

    monkeypatch.setattr(train, "fit", worse)


# --- the run log and the runs endpoint -------------------------------------------------------


def test_training_writes_run_log_and_runs_lists_it(entry_env, no_mlflow):
    events = []
    with runtime.local_call(on_progress=events.append):
        first = call(entries.train, {"ticker": "AAPL", **CHILD, "epochs": 2})
    second = call(entries.train, {"ticker": "AAPL", **CHILD})
    data_dir = entry_env.data_dir
    assert first["tracking"] == {
        "run_log": "runs/AAPL.jsonl",
        "mlflow": {"status": "off", "reason": "MLFLOW_DISABLE is set"},
    }
    assert len((data_dir / "runs" / "AAPL.jsonl").read_text().splitlines()) == 2

    out = call(entries.runs, {"ticker": "aapl"})
    assert out["ticker"] == "AAPL" and [r["version"] for r in out["runs"]] == [second["version"], first["version"]]
    run = out["runs"][1]  # the first training
    meta = Registry.from_settings(entry_env).meta("AAPL", first["version"])
    assert run["model"] == "AAPL" and run["ticker"] == run["symbol"] == "AAPL" and run["role"] == "child"
    assert run["strategy"] == "freeze" and run["parent_version"] == first["parent_version"]
    # parameters: the config dict
    assert (
        run["params"] == meta["config"] and run["params"]["epochs"] == 2 and run["params"]["start_date"] == "2016-01-01"
    )
    # per-epoch losses: the values the progress events carried
    epochs = [e for e in events if e["stage"] == "epoch"]
    assert [r["epoch"] for r in run["epochs"]] == [1, 2] == [e["epoch"] for e in epochs]
    for logged, sent in zip(run["epochs"], epochs, strict=True):
        assert logged["train_loss"] == pytest.approx(sent["train_loss"], abs=1e-6)
        assert logged["val_loss"] == pytest.approx(sent["val_loss"], abs=1e-6)
    assert run["training"]["best_epoch"] == first["best_epoch"]
    # held-out metrics against the baselines, and the interval
    assert (
        set(run["metrics"]["mae"]) == {"lstm", "naive", "drift", "served"}
        and run["metrics"]["mae"] == first["metrics"]["mae"]
    )
    assert run["metrics"]["mean_mae"]["lstm"] == first["promotion"]["new_mae"]
    assert run["metrics"]["skill_vs_naive"] == first["metrics"]["skill_vs_naive"]
    assert run["interval"]["test_coverage"] == first["interval"]["test_coverage"]
    # artifacts, relative to DATA_DIR
    assert run["artifacts"] == {
        name: f"models/AAPL/{first['version']}/{name}.{ext}"
        for name, ext in (("weights", "pt"), ("scalers", "json"), ("meta", "json"))
    }
    assert all((data_dir / path).is_file() for path in run["artifacts"].values())
    # the promotion decision: the same record as in the result and in meta.json
    assert run["promotion"] == first["promotion"] == meta["promotion"]
    assert run["promotion"]["decision"] == "promoted" and run["promotion"]["previous_version"] is None
    assert run["serving_version"] == first["version"] and run["mlflow"]["status"] == "off"
    assert out["runs"][0]["promotion"]["previous_version"] == first["version"]

    assert [r["version"] for r in call(entries.runs, {"ticker": "AAPL", "limit": 1})["runs"]] == [second["version"]]
    with pytest.raises(errors.NotFound, match="No training runs for 'MSFT'"):
        call(entries.runs, {"ticker": "MSFT"})
    with pytest.raises(errors.NotFound):
        call(entries.runs, {"ticker": "parent"})  # the copied parent was trained in another folder
    for bad in (0, 501):
        with pytest.raises(errors.InvalidParameter, match="limit"):
            call(entries.runs, {"ticker": "AAPL", "limit": bad})
    for bad in (True, "5", 2.5, None):  # not an integer: the request is malformed
        with pytest.raises(errors.BadRequest, match="limit must be an integer"):
            call(entries.runs, {"ticker": "AAPL", "limit": bad})
    with pytest.raises(errors.BadRequest, match="unknown field"):
        call(entries.runs, {"ticker": "AAPL", "limt": 1})
    with pytest.raises(errors.BadRequest):
        call(entries.runs, {"ticker": "../etc"})
    with pytest.raises(errors.BadRequest, match="missing field"):
        call(entries.runs, {})


def test_run_log_reader_is_bounded_and_skips_torn_lines(tmp_settings, monkeypatch):
    monkeypatch.setattr(tracking, "_BLOCK", 7)  # lines cross block boundaries
    for i in range(5):
        tracking.append_run(tmp_settings, "AAPL", {"i": i, "pad": "x" * i})
    path = tracking.run_log_path(tmp_settings, "AAPL")
    with open(path, "ab") as fh:
        fh.write(b'{"i": 5, "torn')  # a crash in the middle of a write
    assert [e["i"] for e in tracking.read_runs(tmp_settings, "AAPL", 50)] == [4, 3, 2, 1, 0]
    tracking.append_run(tmp_settings, "AAPL", {"i": 6})  # starts on a fresh line
    assert [e["i"] for e in tracking.read_runs(tmp_settings, "AAPL", 3)] == [6, 4, 3]
    assert [e["i"] for e in tracking.read_runs(tmp_settings, "AAPL", 500)] == [6, 4, 3, 2, 1, 0]
    monkeypatch.setattr(tracking, "MAX_SCAN_BYTES", 40)  # only the end of a huge log is read
    assert [e["i"] for e in tracking.read_runs(tmp_settings, "AAPL", 500)][:1] == [6]
    assert len(tracking.read_runs(tmp_settings, "AAPL", 500)) < 6
    assert tracking.read_runs(tmp_settings, "MSFT", 10) == []
    with pytest.raises(errors.BadRequest):
        tracking.run_log_path(tmp_settings, "../../x")


def test_mlflow_target(tmp_settings, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE", "1")
    assert tracking.mlflow_target(tmp_settings) == (None, None, "MLFLOW_DISABLE is set")
    monkeypatch.setenv("MLFLOW_DISABLE", "")
    monkeypatch.setattr(
        tracking, "importlib", types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: None))
    )
    assert tracking.mlflow_target(tmp_settings)[0] is None  # not installed, nothing configured
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://user:secret@mlflow:5000")
    assert tracking.mlflow_target(tmp_settings) == ("http://user:secret@mlflow:5000", None, "")
    assert redact.url("http://user:secret@mlflow:5000") == "http://REDACTED@mlflow:5000"
    monkeypatch.undo()
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_DISABLE", raising=False)
    uri, artifacts, _ = tracking.mlflow_target(tmp_settings)
    assert uri == f"sqlite:///{tmp_settings.data_dir}/mlflow.db" and uri.startswith("sqlite:////")
    assert artifacts == (tmp_settings.data_dir / "mlartifacts").as_uri()


# --- MLflow ------------------------------------------------------------------------------------


def test_run_is_in_mlflow_sqlite_store(with_parent, default_mlflow):
    from mlflow.tracking import MlflowClient

    res = train.train_and_save(with_parent, "MSFT", **{**CHILD, "epochs": 2})
    data_dir = with_parent.data_dir
    status = res["tracking"]["mlflow"]
    assert status["status"] == "logged", status
    assert status["tracking_uri"] == f"sqlite:///{data_dir}/mlflow.db" and (data_dir / "mlflow.db").is_file()

    client = MlflowClient(tracking_uri=f"sqlite:///{data_dir}/mlflow.db")
    exp = client.get_experiment_by_name("stockagent")
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.run_id for r in runs] == [status["run_id"]]
    run = runs[0]
    assert run.info.run_name == f"MSFT {res['version']}" and run.info.status == "FINISHED"
    params = run.data.params
    assert params["epochs"] == "2" and params["strategy"] == "freeze" and params["start_date"] == "2016-01-01"
    assert params["model.hidden"] == "128" and params["end_date"] == "None"
    tags = run.data.tags
    assert tags["model_id"] == "MSFT" and tags["version"] == res["version"] and tags["strategy"] == "freeze"
    assert tags["promotion"] == "promoted" and tags["artifact.weights"] == f"models/MSFT/{res['version']}/weights.pt"
    logged = tracking.read_runs(with_parent, "MSFT", 1)[0]
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert [(m.step, round(m.value, 6)) for m in history] == [(e["epoch"], e["train_loss"]) for e in logged["epochs"]]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [1, 2]
    metrics = run.data.metrics
    assert metrics["test.mae.lstm.mean"] == pytest.approx(res["promotion"]["new_mae"])
    assert metrics["test.mae.naive.h63"] == pytest.approx(res["metrics"]["mae"]["naive"]["63"])
    assert metrics["skill_vs_naive"] == pytest.approx(res["metrics"]["skill_vs_naive"])
    assert metrics["interval.test_coverage"] == pytest.approx(res["interval"]["test_coverage"])
    assert metrics["promotion.promoted"] == 1.0
    # artifacts under DATA_DIR/mlartifacts; the run log points at the same run
    assert (data_dir / "mlartifacts").is_dir()
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["meta.json"]
    assert logged["mlflow"]["run_id"] == run.info.run_id and logged["mlflow"]["status"] == "logged"


def test_mlflow_failure_does_not_fail_training(with_parent, default_mlflow, monkeypatch):
    import mlflow  # the mlflow extra is part of the locked set: missing, the test fails

    def boom(*args, **kwargs):
        raise RuntimeError("tracking store on fire")

    monkeypatch.setattr(mlflow.tracking.MlflowClient, "log_batch", boom)
    res = train.train_and_save(with_parent, "MSFT", **CHILD)
    assert res["serving"] is True and Registry.from_settings(with_parent).serving_version("MSFT") == res["version"]
    status = res["tracking"]["mlflow"]
    assert status["status"] == "failed" and "tracking store on fire" in status["error"]
    logged = tracking.read_runs(with_parent, "MSFT", 1)[0]
    assert logged["version"] == res["version"] and logged["mlflow"] == status
    runs = mlflow.tracking.MlflowClient(status["tracking_uri"]).search_runs(
        [mlflow.tracking.MlflowClient(status["tracking_uri"]).get_experiment_by_name("stockagent").experiment_id]
    )
    assert [r.info.status for r in runs] == ["FAILED"]  # the half-logged run is closed, not left running


def test_tracking_failures_never_fail_training(with_parent, monkeypatch, tmp_path):
    # MLflow configured but not importable (uninstalled): the error goes into the run log
    monkeypatch.delenv("MLFLOW_DISABLE", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/elsewhere.db")
    for name in [n for n in sys.modules if n == "mlflow" or n.startswith("mlflow.")] or ["mlflow"]:
        monkeypatch.setitem(sys.modules, name, None)
    res = train.train_and_save(with_parent, "MSFT", **CHILD)
    status = res["tracking"]["mlflow"]
    assert status["status"] == "failed" and status["error"].startswith(("ImportError", "ModuleNotFoundError"))
    assert tracking.read_runs(with_parent, "MSFT", 1)[0]["mlflow"] == status
    assert not (tmp_path / "elsewhere.db").exists()

    # the run log itself cannot be written: the training still succeeds and says why
    monkeypatch.setenv("MLFLOW_DISABLE", "1")

    def no_disk(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tracking, "append_run", no_disk)
    res2 = train.train_and_save(with_parent, "MSFT", **CHILD, promote="always")
    assert res2["tracking"]["run_log"] is None and "disk full" in res2["tracking"]["run_log_error"]
    assert Registry.from_settings(with_parent).serving_version("MSFT") == res2["version"]


# --- promotion ---------------------------------------------------------------------------------


def test_promotion_keeps_serving_version_when_new_model_is_worse(with_parent, no_mlflow, monkeypatch):
    reg = Registry.from_settings(with_parent)
    good = train.train_and_save(with_parent, "MSFT", **CHILD)  # default rule: auto; a first model serves
    assert good["promotion"]["rule"] == "auto" and good["promotion"]["decision"] == "promoted"
    assert good["promotion"]["reason"] == "first model: no serving version" and good["serving"] is True
    stamp = reg.serving_stamp("MSFT")

    _ruin_fit(monkeypatch)
    events = []
    with runtime.local_call(on_progress=events.append):
        worse = train.train_and_save(with_parent, "MSFT", **CHILD)
    p = worse["promotion"]
    assert p["decision"] == "kept" and p["promoted"] is False and worse["serving"] is False
    assert p["previous_version"] == good["version"] and p["new_mae"] > p["serving_mae"]
    # both scored on the same (new) test windows: the serving version's score is its own held-out MAE here
    assert p["serving_mae"] == pytest.approx(good["promotion"]["new_mae"], rel=1e-6)
    assert "worse than serving version" in p["reason"]
    assert reg.serving_version("MSFT") == good["version"] and reg.serving_stamp("MSFT") == stamp  # pointer untouched
    assert worse["version"] in reg.versions("MSFT")  # saved, not served
    assert reg.meta("MSFT", worse["version"])["promotion"] == p
    assert events[-1] == {"stage": "saved", "version": worse["version"], "serving": False, "promotion": "kept"}
    logged = tracking.read_runs(with_parent, "MSFT", 1)[0]
    assert (
        logged["version"] == worse["version"]
        and logged["promotion"] == p
        and logged["serving_version"] == good["version"]
    )

    forced = train.train_and_save(with_parent, "MSFT", **CHILD, promote="always")
    f = forced["promotion"]
    assert f["decision"] == "promoted" and f["rule"] == "always" and forced["serving"] is True
    assert f["reason"].startswith("promote=always") and f["new_mae"] > f["serving_mae"]
    assert reg.serving_version("MSFT") == forced["version"]
    assert [r["promotion"]["decision"] for r in tracking.read_runs(with_parent, "MSFT", 10)] == [
        "promoted",
        "kept",
        "promoted",
    ]


def test_promotion_through_entry_defaults_to_auto(entry_env, no_mlflow, monkeypatch):
    first = call(entries.train, {"ticker": "AAPL", **CHILD})
    _ruin_fit(monkeypatch)
    kept = call(entries.train, {"ticker": "AAPL", **CHILD})  # no promote field: auto
    assert kept["promotion"]["rule"] == "auto" and kept["promotion"]["decision"] == "kept"
    state = call(entries.model_state, {"ticker": "AAPL"})
    assert state["serving_version"] == first["version"]  # what Go reads to follow the pointer
    summary = call(entries.model, {"ticker": "AAPL"})
    assert summary["serving_version"] == first["version"] and summary["versions"][0]["version"] == kept["version"]
    assert summary["versions"][0]["serving"] is False


def test_unscorable_serving_version_falls_back_to_its_stored_mae(with_parent, no_mlflow, monkeypatch):
    reg = Registry.from_settings(with_parent)
    good = train.train_and_save(with_parent, "MSFT", **CHILD)
    real_load = registry_mod.Registry.load

    def broken(self, model_id, version=None, map_location="cpu", **kwargs):
        if model_id == "MSFT":
            raise OSError("weights unreadable")
        return real_load(self, model_id, version, map_location, **kwargs)

    monkeypatch.setattr(registry_mod.Registry, "load", broken)
    _ruin_fit(monkeypatch)
    worse = train.train_and_save(with_parent, "MSFT", **CHILD)
    p = worse["promotion"]
    assert p["decision"] == "kept" and p["serving_mae"] == good["promotion"]["new_mae"]
    assert "could not be scored" in p["measure"] and reg.serving_version("MSFT") == good["version"]
