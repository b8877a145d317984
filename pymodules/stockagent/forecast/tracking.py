"""Experiment tracking: every completed training run in a local run log, and in MLflow when it is there.

What a run records (one *entry*, built from the new version's meta.json): the parameters (the
TrainConfig dict), the per-epoch losses (the history of train.fit, the loop that sends the epoch
progress events), the held-out metrics of the LSTM and the baselines, the interval and its coverage,
the artifacts (paths relative to ``DATA_DIR``) and the promotion decision.

Local run log, always: ``DATA_DIR/runs/<model id>.jsonl``, one JSON object per line, oldest first.
Each run appends one line through a single ``write`` on a file opened with ``O_APPEND``, so
concurrent writers never interleave inside a line; a torn last line (a crash mid-write) is
skipped by the reader, and the next append starts on a fresh line. :func:`read_runs` reads the
file from its end and stops after ``limit`` entries (and at most :data:`MAX_SCAN_BYTES`).

MLflow, when ``MLFLOW_TRACKING_URI`` is set (any server or database MLflow accepts), or else when
the ``mlflow`` package is installed: then on ``sqlite:///<DATA_DIR>/mlflow.db`` with artifacts in
``DATA_DIR/mlartifacts`` (recent MLflow refuses plain file stores). ``MLFLOW_DISABLE=1`` turns it
off. Experiment ``stockagent``; run name ``<model id> <version>``; params = the config (nested keys
joined with dots); metrics ``train_loss``/``val_loss`` per epoch (step = epoch) and the final
held-out ones (``test.mae.lstm.h1``, ``test.mae.lstm.mean``, ``skill_vs_naive``,
``interval.test_coverage``, ...); tags: model id, version, role, strategy, promotion decision and
reason, artifact paths; meta.json is logged as the run's one artifact (weights stay in the registry).
mlflow is imported here only, inside the function that logs, and only then; calls are serialised
by a lock (one SQLite writer per process). Before the import, unless already set:
``MLFLOW_DISABLE_TELEMETRY=true`` (the service phones nowhere), ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=2``
and ``MLFLOW_HTTP_REQUEST_TIMEOUT=15`` (a tracking server that is down costs seconds, not minutes).

Tracking never fails a training: every error is logged as a warning and written into the run
log's ``mlflow`` field (``{"status": "failed", "error": ...}``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from .. import redact, tickers
from ..settings import Settings
from .registry import META, SCALERS, WEIGHTS

log = logging.getLogger(__name__)

RUNS_DIR = "runs"
SCHEMA = 1
EXPERIMENT = "stockagent"
MAX_SCAN_BYTES = 32 << 20  # read_runs never reads more than this from the end of a run log
_BLOCK = 64 << 10
_TRUE = {"1", "true", "yes", "on"}
_mlflow_lock = threading.Lock()


def mean_mae(mae_by_horizon: dict | None) -> float | None:
    """Mean of ``{horizon: MAE}`` over the horizons with a finite value (None when none has one)."""
    values = [
        float(v)
        for v in (mae_by_horizon or {}).values()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]
    return round(sum(values) / len(values), 6) if values else None


# --- the entry ---------------------------------------------------------------------------------


def run_log_path(settings: Settings, model_id: str) -> Path:
    return tickers.confined(settings.data_dir / RUNS_DIR, f"{model_id}.jsonl")


def artifacts(settings: Settings, model_id: str, version: str) -> dict[str, str]:
    """Paths of a version's files, relative to DATA_DIR (absolute when MODELS_DIR lies outside it)."""
    folder = settings.models_dir / model_id / version
    if folder.is_relative_to(settings.data_dir):
        folder = folder.relative_to(settings.data_dir)
    return {
        "weights": (folder / WEIGHTS).as_posix(),
        "scalers": (folder / SCALERS).as_posix(),
        "meta": (folder / META).as_posix(),
    }


def build_entry(settings: Settings, model_id: str, version: str, meta: dict, serving_version: str | None) -> dict:
    """The run-log entry of a saved version (see the module doc); ``mlflow`` is filled in by record_run."""
    training, metrics, interval = meta["training"], meta["metrics"], meta["interval"]
    return {
        "schema": SCHEMA,
        "model": model_id,
        "ticker": tickers.PARENT if model_id == tickers.PARENT else meta["ticker"],
        "symbol": meta["ticker"],
        "role": meta["role"],
        "strategy": meta.get("strategy"),
        "version": version,
        "parent_version": meta.get("parent_version"),
        "created": meta["created"],
        "logged": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": training.get("seconds"),
        "params": meta["config"],
        "data": meta["data"],
        "epochs": training["history"],
        "training": {k: training.get(k) for k in ("best_epoch", "epochs_run", "best_val_loss", "stopped_early")},
        "metrics": {
            "mae": metrics["mae"],
            "mean_mae": {alias: mean_mae(by_h) for alias, by_h in metrics["mae"].items()},
            "mape": metrics["mape"],
            "directional_accuracy": metrics["directional_accuracy"],
            "skill_vs_naive": metrics["skill_vs_naive"],
            "served_skill_vs_naive": metrics.get("served_skill_vs_naive"),
        },
        "serving": meta.get("serving"),
        "interval": {
            k: interval.get(k)
            for k in (
                "coverage_target",
                "test_coverage",
                "test_coverage_by_horizon",
                "test_windows",
                "test_coverage_95",
            )
        },
        "artifacts": artifacts(settings, model_id, version),
        "promotion": meta.get("promotion"),
        "serving_version": serving_version,
        "mlflow": None,
    }


def record_run(settings: Settings, *, model_id: str, version: str, meta: dict, serving_version: str | None) -> dict:
    """Record a saved version's run in MLflow (when on) and the local run log. Never raises.

    Returns ``{"run_log": <path relative to DATA_DIR> | None, "mlflow": <status>}`` (plus
    ``"run_log_error"`` when the line could not be written).
    """
    try:
        entry = build_entry(settings, model_id, version, meta, serving_version)
    except Exception as exc:  # a bug here must not lose the trained model
        log.warning("tracking: could not build the run entry of %s %s: %r", model_id, version, exc)
        return {"run_log": None, "mlflow": {"status": "failed", "error": f"entry: {exc!r}"}}
    entry["mlflow"] = log_to_mlflow(settings, entry)
    out: dict[str, Any] = {"run_log": None, "mlflow": entry["mlflow"]}
    try:
        path = append_run(settings, model_id, entry)
        out["run_log"] = path.relative_to(settings.data_dir.resolve()).as_posix()
    except Exception as exc:
        log.warning("tracking: could not append to the run log of %s: %r", model_id, exc)
        out["run_log_error"] = repr(exc)
    return out


# --- the local run log -------------------------------------------------------------------------


def append_run(settings: Settings, model_id: str, entry: dict) -> Path:
    """Append ``entry`` as one line (one write, O_APPEND, fsync). Returns the log's path."""
    path = run_log_path(settings, model_id)
    line = json.dumps(entry, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)  # RDWR: pread checks the last byte
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # an earlier write was torn: start on a fresh line
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"short write to {path.name}: {written} of {len(line)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_runs(settings: Settings, model_id: str, limit: int) -> list[dict]:
    """Up to ``limit`` entries of ``model_id``'s run log, newest first ([] when there is none).

    Reads backwards from the end in blocks; unreadable lines are skipped with a warning.
    """
    path = run_log_path(settings, model_id)
    out: list[dict] = []
    try:
        fh = open(path, "rb")  # noqa: SIM115 - opened before the with so that only a missing file returns []
    except FileNotFoundError:
        return out
    with fh:
        pos = end = fh.seek(0, os.SEEK_END)
        rest = b""  # the (possibly partial) first line of what has been read so far
        while pos > 0 and len(out) < limit and end - pos < MAX_SCAN_BYTES:
            step = min(_BLOCK, pos)
            pos -= step
            fh.seek(pos)
            lines = (fh.read(step) + rest).split(b"\n")
            rest = lines[0]
            for raw in reversed(lines[1:]):
                if len(out) >= limit:
                    break
                _parse_into(out, raw, model_id)
        if pos == 0 and len(out) < limit:
            _parse_into(out, rest, model_id)
    return out


def _parse_into(out: list[dict], raw: bytes, model_id: str) -> None:
    if not raw.strip():
        return
    try:
        entry = json.loads(raw)
    except ValueError:
        log.warning("skipping an unreadable line of the run log of %s", model_id)
        return
    if isinstance(entry, dict):
        out.append(entry)


# --- MLflow ------------------------------------------------------------------------------------


def mlflow_target(settings: Settings) -> tuple[str | None, str | None, str]:
    """``(tracking_uri, artifact_location, why_off)``: where runs go, or why MLflow is off.

    ``artifact_location`` is set only for the default SQLite store (a tracking server decides its own).
    """
    if os.environ.get("MLFLOW_DISABLE", "").strip().lower() in _TRUE:
        return None, None, "MLFLOW_DISABLE is set"
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri, None, ""
    if importlib.util.find_spec("mlflow") is None:
        return None, None, "mlflow is not installed and MLFLOW_TRACKING_URI is unset"
    data = settings.data_dir
    return f"sqlite:///{data / 'mlflow.db'}", (data / "mlartifacts").as_uri(), ""


def log_to_mlflow(settings: Settings, entry: dict) -> dict:
    """Log one run to MLflow; returns its status for the run log. Never raises."""
    try:
        uri, artifact_location, off = mlflow_target(settings)
    except Exception as exc:  # e.g. a broken mlflow install that find_spec trips over
        log.warning("tracking: cannot tell whether MLflow is usable: %r", exc)
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]}
    if uri is None:
        return {"status": "off", "reason": off}
    safe = redact.url(uri)
    started = time.monotonic()
    try:
        meta_file = settings.data_dir / entry["artifacts"]["meta"]
        ids = _log_mlflow(uri, artifact_location, entry, meta_file)
    except Exception as exc:  # includes ImportError: MLFLOW_TRACKING_URI set but mlflow missing
        log.warning(
            "tracking: MLflow logging to %s failed for %s %s: %r", safe, entry.get("model"), entry.get("version"), exc
        )
        return {"status": "failed", "tracking_uri": safe, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    log.info("tracking: %s %s logged to MLflow %s as run %s", entry["model"], entry["version"], safe, ids["run_id"])
    return {"status": "logged", "tracking_uri": safe, **ids, "seconds": round(time.monotonic() - started, 3)}


def _log_mlflow(uri: str, artifact_location: str | None, entry: dict, meta_file: Path) -> dict:
    # MLFLOW_CONFIGURE_LOGGING=false: MLflow's own handler writes to stderr, which the server logs as
    # warnings; without it MLflow's records reach Python's logging, and the server's log, at their level.
    for name, value in (
        ("MLFLOW_DISABLE_TELEMETRY", "true"),
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
        ("MLFLOW_HTTP_REQUEST_TIMEOUT", "15"),
        ("MLFLOW_CONFIGURE_LOGGING", "false"),
    ):
        os.environ.setdefault(name, value)
    # MLflow runs alembic's migrations on a new database: dozens of INFO lines about its plugins
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    with _mlflow_lock:
        client = MlflowClient(tracking_uri=uri)
        experiment_id = _experiment(client, artifact_location)
        run = client.create_run(experiment_id, run_name=f"{entry['model']} {entry['version']}", tags=_tags(entry))
        run_id = run.info.run_id
        try:
            now = int(time.time() * 1000)
            params = [Param(k, v) for k, v in _params(entry["params"]).items()]
            metrics = [Metric(k, v, now, step) for k, v, step in _metrics(entry)]
            for i in range(0, len(params), 100):  # MLflow's batch limits: 100 params, 1000 metrics
                client.log_batch(run_id, params=params[i : i + 100])
            for i in range(0, len(metrics), 1000):
                client.log_batch(run_id, metrics=metrics[i : i + 1000])
            client.log_artifact(run_id, str(meta_file))
        except BaseException:
            with contextlib.suppress(Exception):  # the logging's own error is the one to raise
                client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    return {"experiment_id": experiment_id, "run_id": run_id}


def _experiment(client, artifact_location: str | None) -> str:
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        try:
            return client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
        except MlflowException:  # another process created it meanwhile
            exp = client.get_experiment_by_name(EXPERIMENT)
            if exp is None:
                raise
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def _params(config: dict, prefix: str = "") -> dict[str, str]:
    """The config flattened (``model.hidden``), values as MLflow's strings (None -> "None")."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_params(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)[:6000]
    return out


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _metrics(entry: dict) -> list[tuple[str, float, int]]:
    """``(key, value, step)``: the per-epoch losses (step = epoch), then the final metrics (step 0)."""
    out = []
    for row in entry["epochs"]:
        for key in ("train_loss", "val_loss"):
            if _finite(row.get(key)):
                out.append((key, float(row[key]), int(row["epoch"])))
    final: dict[str, Any] = {}
    metrics = entry["metrics"]
    for name in ("mae", "mape", "directional_accuracy"):
        for alias, by_h in (metrics.get(name) or {}).items():
            for h, value in by_h.items():
                final[f"test.{name}.{alias}.h{h}"] = value
    for alias, value in metrics["mean_mae"].items():
        final[f"test.mae.{alias}.mean"] = value
    final["skill_vs_naive"] = metrics.get("skill_vs_naive")
    interval = entry["interval"]
    final["interval.test_coverage"] = interval.get("test_coverage")
    for h, value in (interval.get("test_coverage_by_horizon") or {}).items():
        final[f"interval.test_coverage.h{h}"] = value
    for key in ("best_epoch", "epochs_run", "best_val_loss"):
        final[key] = entry["training"].get(key)
    final["seconds"] = entry.get("seconds")
    promotion = entry.get("promotion") or {}
    final["promotion.new_mae"] = promotion.get("new_mae")
    final["promotion.serving_mae"] = promotion.get("serving_mae")
    final["promotion.promoted"] = 1.0 if promotion.get("decision") == "promoted" else 0.0
    out.extend((k, float(v), 0) for k, v in final.items() if _finite(v))
    return out


def _tags(entry: dict) -> dict[str, str]:
    promotion = entry.get("promotion") or {}
    tags = {
        "model_id": entry["model"],
        "version": entry["version"],
        "ticker": entry["ticker"],
        "symbol": entry["symbol"],
        "role": entry["role"],
        "strategy": entry.get("strategy") or "none",
        "parent_version": entry.get("parent_version") or "none",
        "data_source": (entry.get("data") or {}).get("source") or "unknown",
        "promotion": promotion.get("decision") or "unknown",
        "promotion.rule": promotion.get("rule") or "unknown",
        "promotion.reason": promotion.get("reason") or "",
        "promotion.previous_version": promotion.get("previous_version") or "none",
        "serving_version": entry.get("serving_version") or "none",
    }
    tags.update({f"artifact.{k}": v for k, v in entry["artifacts"].items()})
    return {k: str(v)[:5000] for k, v in tags.items()}
