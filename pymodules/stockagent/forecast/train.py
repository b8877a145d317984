"""Training: the parent on the S&P 500 index, children on one ticker from the parent's weights.

One run = one :class:`TrainConfig` (logged, and saved in meta.json). The steps:

1. cut the ticker's history into chronological train/validation/test windows (dataset.py) and fit
   the scalers on the training windows;
2. build the model: fresh for the parent; for a child, the parent's (evaluated) weights, then either
   ``freeze`` (the LSTM is frozen and kept in eval mode, so its dropout is off; only the head
   learns) or ``fine_tune`` (everything learns, at FINE_TUNE_LEARNING_RATE);
3. Adam on the MSE of standardised targets (on CUDA optionally under mixed precision, TRAIN_AMP),
   one progress event per epoch, early stopping after ``patience`` epochs without a better
   validation loss, and the best epoch's weights restored;
4. evaluate on the test windows against the naive and drift baselines and, with ``stat_baselines``
   (STAT_BASELINES), AutoETS, AutoTheta and AutoARIMA (statmodels.py), every origin from its own past;
5. choose what serves, on the validation windows only: the LSTM's predicted returns shrunk toward
   "no change" by a weight per horizon (shrinkage.py; serves in microseconds). The test windows
   then score that choice too (column ``served``). Calibrate the 80% and 95% bands of the served
   forecast (intervals.served): adaptive conformal over the validation then test windows, whose
   online bands measure the test coverage;
6. refit (``refit``, REFIT, on by default): the same configuration trained afresh on every window up
   to the last close (dataset.all_windows; scalers fitted on them; a child from the parent's served
   weights), for the evaluation run's best epoch count, as there is no hold-out left to stop on,
   and with no early stopping. Those weights serve; the held-out numbers, the shrinkage weights and
   the bands stay those of the evaluation run (they belong to the configuration). meta.json
   records both, ``evaluation`` and ``serving`` (the result: ``evaluation`` and ``served_weights``).
   With ``refit`` off the evaluated weights serve, as before;
7. decide promotion (:func:`decide_promotion`) and save a new version (registry.py): under
   ``promote="auto"`` (the default) it takes the serving pointer only if its held-out MAE is no
   worse than the serving version's on the same test windows; ``promote="always"`` always moves the
   pointer; a first model always serves. The decision goes into the result, meta.json and the run
   log. Promotion compares configurations without leaking: a refit version also keeps its
   evaluated weights (registry ``evaluated-weights.pt``), and the serving version is scored with
   those, never with its refit, which may have trained on the new run's test days;
8. record the run (tracking.py): the local run log always, MLflow when configured or installed.
   Tracking never fails a training.

The cancel flag is checked before every batch (runtime.check_cancelled), not after the save.

A run with a ``run_id`` writes a checkpoint after every epoch (weights, optimizer, epoch, best weights
and loss, history, RNG states; registry.checkpoint_path), of the evaluation run or of the refit
(``phase``; a refit checkpoint also holds the evaluated weights and their report); a run given
``resume_run_id`` continues from that run's checkpoint, as if it had never stopped: inside the refit,
it re-scores the evaluated weights (deterministic) and trains only the refit's remaining epochs. A
run's checkpoint is removed when the run ends, unless it was cancelled: the server may hand a
cancelled run back to its work queue for another process to resume (its next attempt). A fresh run
clears the model's leftover checkpoints (the server runs one training per model at a time). The
server's runs leave the serving pointer alone (``move_pointer=False``): it commits the pointer
itself, fenced by the run's lease, and then has serving.json rewritten.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import functools
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import errors, runtime, tickers
from ..market import prices as market_prices
from ..settings import STRATEGIES, Settings
from . import evaluation, intervals, shrinkage, summary, tracking
from .baselines import Drift, Naive
from .dataset import HORIZON, TARGETS, Scalers, Split, Windows, all_windows, split, usable_rows
from .model import LSTMConfig, LSTMForecaster, LSTMModel
from .registry import Artifact, Registry

log = logging.getLogger(__name__)

PROMOTE = ("always", "auto")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
PROMOTION_MEASURE = (
    "mean over horizons 1, 5, 21, 63 of the LSTM's close-price MAE, both versions scored on this run's test windows"
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    # what
    ticker: str  # symbol whose prices the model learns from
    model_id: str  # "parent" or the symbol's file stem
    role: str  # "parent" | "child"
    # data
    start_date: str | None  # first day used (YYYY-MM-DD); None: the whole history
    end_date: str | None  # last day used; None: up to the latest price
    # optimisation
    epochs: int
    learning_rate: float
    strategy: str | None = None  # child only: "freeze" | "fine_tune"
    batch_size: int = 64
    patience: int = 5  # epochs without a better validation loss before stopping early
    grad_clip: float = 1.0  # max gradient norm: LSTMs occasionally explode without it
    seed: int = 1337  # the one seed of a run: python, numpy, torch and the batch order
    device: str = "cpu"
    amp: str = "off"  # mixed precision (TRAIN_AMP): "off", "bf16" or "fp16"; CUDA only, so "off" on the CPU
    refit: bool = True  # REFIT: serve weights refitted on every day (see the module doc)
    stat_baselines: bool = True  # STAT_BASELINES: score the statistical models on the test windows too
    model: LSTMConfig = dataclasses.field(default_factory=LSTMConfig)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --- hyper-parameters from requests ----------------------------------------------------------


def _epochs(value) -> int:
    whole = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )
    if not whole or not 1 <= value <= 1000:
        raise errors.InvalidParameter(f"epochs must be an integer in 1..1000, got {value!r}")
    return int(value)


def _learning_rate(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value <= 1:
        raise errors.InvalidParameter(f"learning_rate must be a number in (0, 1], got {value!r}")
    return float(value)


def _date(field: str, value) -> str:
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise errors.InvalidParameter(f"{field} must be a date written YYYY-MM-DD, got {value!r}")
    if day > dt.date.today():
        raise errors.InvalidParameter(f"{field} {value} is in the future")
    return day.isoformat()


def _strategy(value) -> str:
    if value not in STRATEGIES:
        raise errors.InvalidParameter(f"strategy must be one of {', '.join(STRATEGIES)}, got {value!r}")
    return value


def make_config(
    settings: Settings, ref: str, *, epochs=None, learning_rate=None, start_date=None, end_date=None, strategy=None
) -> TrainConfig:
    """The config of a run for ``ref`` (``"parent"`` or a symbol), request values over settings.

    Raises :class:`errors.InvalidParameter` naming the field of any bad value.
    """
    parent = ref == tickers.PARENT
    if parent and strategy is not None:
        raise errors.InvalidParameter("strategy applies to child models only")
    strategy = None if parent else _strategy(settings.child_strategy if strategy is None else strategy)
    default_lr = settings.fine_tune_learning_rate if strategy == "fine_tune" else settings.learning_rate
    default_start = settings.parent_start_date if parent else settings.train_start_date
    if epochs is None:
        epochs = settings.parent_epochs if parent else settings.child_epochs
    device = settings.torch_device()
    cfg = TrainConfig(
        ticker=settings.parent_ticker if parent else ref,
        model_id=tickers.model_id(ref),
        role="parent" if parent else "child",
        start_date=_date("start_date", start_date)
        if start_date is not None
        else (default_start.isoformat() if default_start else None),
        end_date=_date("end_date", end_date) if end_date is not None else None,
        epochs=_epochs(epochs),
        learning_rate=_learning_rate(default_lr if learning_rate is None else learning_rate),
        strategy=strategy,
        device=device,
        amp=settings.train_amp if device == "cuda" else "off",
        refit=settings.refit,
        stat_baselines=settings.stat_baselines,
    )
    if cfg.start_date and cfg.end_date and cfg.start_date >= cfg.end_date:
        raise errors.InvalidParameter(f"start_date {cfg.start_date} must be before end_date {cfg.end_date}")
    return cfg


# --- the run -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Trained:
    model: LSTMModel  # the served weights: the refit, or the evaluated ones
    scalers: Scalers
    meta: dict
    test: Windows | None = None  # the held-out windows, so the serving version can be scored on them too
    evaluated: tuple[dict, dict] | None = None  # with a refit: the evaluated weights' state dict and scalers


def _batches(x: torch.Tensor, y: torch.Tensor, size: int, rng: np.random.Generator | None):
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for i in range(0, len(x), size):
        idx = torch.from_numpy(order[i : i + size])
        yield x[idx], y[idx]


@torch.no_grad()
def estimate_loss(model: LSTMModel, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024, step=None) -> float:
    """Mean loss of ``step`` (default: the model) with dropout off; train/eval modes are restored after."""
    step = step or model
    modes = {m: m.training for m in model.modules()}
    model.eval()
    total = 0.0
    for xb, yb in _batches(x, y, batch_size, None):
        _, loss = step(xb, yb)
        total += loss.item() * len(xb)
    for m, mode in modes.items():
        m.train(mode)
    return total / max(len(x), 1)


def fit(
    cfg: TrainConfig,
    data: Split,
    scalers: Scalers,
    parent: Artifact | None = None,
    *,
    precompute: bool = True,
    checkpoint: Callable[[dict], None] | None = None,
    resume: dict | None = None,
    fixed_epochs: int | None = None,
) -> tuple[LSTMModel, dict]:
    """Train a model on ``data``; returns it with its best weights and a training report.

    ``fixed_epochs``: the refit. Exactly that many epochs on ``data.train``, no validation, no early
    stopping; the last epoch's weights are kept and progress events are of stage ``refit``.

    ``precompute=False`` runs the whole model on every batch even when the LSTM is frozen: the
    straightforward loop, kept so a test can show the fast one learns the same head.
    ``checkpoint`` receives the training state after every epoch; ``resume`` is such a state to
    continue from.
    """
    seed_everything(cfg.seed)
    model = LSTMModel(cfg.model)
    if parent is not None:
        model.load_state_dict(parent.state_dict)
    frozen = cfg.strategy == "freeze"
    if frozen:
        model.lstm.requires_grad_(False)
    model.to(cfg.device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.learning_rate)
    refit = fixed_epochs is not None
    epochs = fixed_epochs if fixed_epochs is not None else cfg.epochs
    best_loss, best_state, best_epoch, history, first = float("inf"), None, 0, [], 1
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        best_loss, best_state, best_epoch = resume["best_loss"], resume["best_state"], resume["best_epoch"]
        history, first = list(resume["history"]), resume["epoch"] + 1
        torch.set_rng_state(resume["torch_rng"])
        log.info("%s: resuming at epoch %d of %d from a checkpoint", cfg.model_id, first, epochs)

    def tensors(w):
        return (
            torch.from_numpy(scalers.x(w.inputs)).to(cfg.device),
            torch.from_numpy(scalers.y(w.targets)).to(cfg.device),
        )

    xtr, ytr = tensors(data.train)
    xva, yva = tensors(data.train.take(slice(0, 0)) if refit else data.val)
    step: Callable[..., Any] = model  # x -> (pred, loss)
    if frozen and precompute:
        # A frozen LSTM in eval mode is a fixed function of its input: encode every window once and
        # train the head on the codes (model.decode). Same result as running the whole model each
        # batch, several times faster.
        model.lstm.eval()
        with torch.no_grad():
            xtr, xva = (torch.cat([model.encode(b) for b in x.split(1024)]) for x in (xtr, xva))
        step = model.decode
    rng = np.random.default_rng(cfg.seed)
    if resume is not None:
        rng.bit_generator.state = resume["rng"]
    # Mixed precision: the forward pass under autocast, the weights and Adam's state in float32.
    # fp16 gradients underflow without loss scaling; with amp "off" both are no-ops.
    amp_dtype = AMP_DTYPES.get(cfg.amp)
    assert amp_dtype is None or cfg.device == "cuda", f"amp {cfg.amp} is for CUDA, not {cfg.device}"
    autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp == "fp16")
    stop = resume is not None and not refit and first - 1 - best_epoch >= cfg.patience
    for epoch in range(first, 0 if stop else epochs + 1):
        model.train()
        if frozen:
            model.lstm.eval()  # frozen weights, and no dropout inside the LSTM
        total, seen = 0.0, 0
        for xb, yb in _batches(xtr, ytr, cfg.batch_size, rng):
            runtime.check_cancelled()
            with autocast():
                _, loss = step(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            total += loss.item() * len(xb)
            seen += len(xb)
        train_loss = total / seen
        val_loss = train_loss if refit else estimate_loss(model, xva, yva, step=step)  # the refit has no validation
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise errors.InvalidParameter(
                f"training diverged at epoch {epoch} (loss is not finite); "
                f"try a smaller learning_rate than {cfg.learning_rate}"
            )
        if refit:
            history.append({"epoch": epoch, "train_loss": round(train_loss, 6)})
        else:
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            history.append({"epoch": epoch, "train_loss": round(train_loss, 6), "val_loss": round(val_loss, 6)})
        if checkpoint is not None:
            checkpoint(
                {
                    "config": dataclasses.asdict(cfg),
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "best_loss": best_loss,
                    "best_state": best_state,
                    "best_epoch": best_epoch,
                    "history": history,
                    "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                }
            )
        if refit:
            log.info("%s refit epoch %d/%d: train loss %.4f", cfg.model_id, epoch, epochs, train_loss)
            runtime.progress({"stage": "refit", "epoch": epoch, "epochs": epochs, "train_loss": train_loss})
            continue
        log.info(
            "%s epoch %d/%d: train loss %.4f, val loss %.4f (best %.4f at epoch %d)",
            cfg.model_id,
            epoch,
            cfg.epochs,
            train_loss,
            val_loss,
            best_loss,
            best_epoch,
        )
        runtime.progress(
            {
                "stage": "epoch",
                "epoch": epoch,
                "epochs": cfg.epochs,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "best_val_loss": best_loss,
            }
        )
        if epoch - best_epoch >= cfg.patience:
            log.info("%s: no better validation loss for %d epochs, stopping", cfg.model_id, cfg.patience)
            break
    if refit:
        assert history, "no epoch ran"
        model.eval()
        return model, {"epochs_run": len(history), "history": history}
    assert best_state is not None, "no epoch ran"
    model.load_state_dict(best_state)
    model.eval()
    report = {
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "best_val_loss": round(best_loss, 6),
        "stopped_early": len(history) < cfg.epochs,
        "history": history,
    }
    return model, report


def train(
    cfg: TrainConfig,
    prices: market_prices.Prices,
    parent: Artifact | None = None,
    *,
    checkpoint: Callable[[dict], None] | None = None,
    resume: dict | None = None,
    parent_evaluated: Artifact | None = None,
) -> Trained:
    """One run: data, fit, evaluation, interval, refit (see the module doc). Nothing is saved here.

    A child's evaluation run starts from ``parent_evaluated`` (default: ``parent``), the parent's
    evaluated weights, and its refit from ``parent``, the served ones: a parent's refit saw the
    index on the child's test days, which its held-out numbers must not rest on.
    """
    started = time.monotonic()
    log.info("training %s on %s (%s): %s", cfg.model_id, cfg.ticker, prices.source, dataclasses.asdict(cfg))
    assert (parent is None) == (cfg.role == "parent"), "a child needs the parent's weights, the parent none"
    runtime.check_cancelled()
    try:
        data = split(prices, cfg.start_date, cfg.end_date)
    except ValueError as exc:
        raise errors.InvalidParameter(
            f"start_date/end_date: {exc} ({cfg.ticker} has data from {prices.first_date} to {prices.last_date})"
        ) from None
    scalers = Scalers.fit(data.train)
    runtime.progress(
        {
            "stage": "data",
            "train_windows": len(data.train),
            "val_windows": len(data.val),
            "test_windows": len(data.test),
        }
    )
    evaluated_at = resume if resume is not None and resume.get("phase") == "refit" else None
    if evaluated_at is not None:  # the evaluation run had finished: only the refit is left to resume
        model = LSTMModel(cfg.model)
        model.load_state_dict(evaluated_at["evaluated"]["state"])
        model.to(cfg.device).eval()
        report = evaluated_at["evaluated"]["report"]
    else:
        model, report = fit(
            cfg, data, scalers, parent_evaluated or parent, checkpoint=_in_phase(checkpoint, "evaluate"), resume=resume
        )

    runtime.check_cancelled()
    lstm = LSTMForecaster(model, scalers, cfg.device)
    val_pred = lstm.predict(data.val)
    weights = shrinkage.fit(data.val, val_pred)  # the serving choice, from validation only
    test_pred = {f.alias: f.predict(data.test) for f in (lstm, Naive(), Drift())}
    if cfg.stat_baselines:
        test_pred |= _stat_predictions(prices, cfg, data.test)
    test_pred["served"] = shrinkage.apply(test_pred["lstm"], weights)
    table = evaluation.evaluate(cfg.ticker, data.test, test_pred)
    val_served = shrinkage.apply(val_pred, weights)
    bands = {lv: intervals.served(data.val, val_served, data.test, test_pred["served"], lv) for lv in intervals.LEVELS}
    q, cover = bands[intervals.COVERAGE]
    served, served_scalers, evaluated, serving = model, scalers, None, {"weights": "evaluated", "refit": False}
    if cfg.refit:
        served, served_scalers, serving = _refit(cfg, prices, data, parent, model, report, checkpoint, evaluated_at)
        evaluated = (model.cpu().state_dict(), scalers.to_json())
    report["seconds"] = round(time.monotonic() - started, 3)
    meta = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "ticker": cfg.ticker,
        "role": cfg.role,
        "strategy": cfg.strategy,
        "parent_version": parent.version if parent is not None else None,
        "data_as_of": data.info["last_date"],
        "data": {"source": prices.source, **data.info},
        "config": dataclasses.asdict(cfg),
        "targets": list(TARGETS),
        "horizon": HORIZON,
        "training": report,
        "evaluation": {
            "weights": "evaluated",
            "about": "held-out test windows, scored with the weights fitted on the training windows "
            f"(best epoch {report['best_epoch']} by validation loss): the configuration's numbers",
            "test_period": {
                "from": data.info["test"]["first_cutoff"],
                "to": data.info["test"]["last_target"],
                "windows": data.info["test"]["windows"],
            },
        },
        "serving": serving,
        "choice": {
            "served": "served",
            "method": shrinkage.METHOD,
            "chosen_on": "validation windows",
            "weights": [round(float(v), 6) for v in weights],
            "weights_by_horizon": {str(h): round(float(weights[h - 1]), 6) for h in evaluation.HORIZONS},
            "why": "chosen on validation only and serves in microseconds; the statistical models are "
            "scored beside it but not served (a fit at request time costs 0.05-0.4 s per ticker)",
        },
        "metrics": {
            "table": table,
            "mae": evaluation.summary(table, "mae"),
            "mape": evaluation.summary(table, "mape"),
            "directional_accuracy": evaluation.summary(table, "directional_accuracy"),
            "skill_vs_naive": evaluation.skill(table),  # mean LSTM/naive MAE ratio; < 1 beats naive
            "served_skill_vs_naive": evaluation.skill(table, "served"),  # the same of the served forecast
            # its 95% interval (block bootstrap over the test windows): "no skill" unless all of it is below 1
            "served_skill_interval": evaluation.skill_interval(data.test, test_pred["served"], test_pred["naive"]),
        },
        "interval": {
            "coverage_target": intervals.COVERAGE,
            "method": "adaptive conformal on volatility-normalised absolute errors of the close log return "
            "of the served forecast, walked over the validation then test windows (intervals.served)",
            "scale": intervals.SCALE,
            "quantiles": [round(float(v), 6) for v in q],
            "test_coverage": round(cover["overall"], 6),
            "test_coverage_by_horizon": {h: round(v, 6) for h, v in cover["by_horizon"].items()},
            "test_windows": cover["windows"],
            "quantiles_95": [round(float(v), 6) for v in bands[0.95][0]],
            "test_coverage_95": round(bands[0.95][1]["overall"], 6),
            "test_coverage_95_by_horizon": {h: round(v, 6) for h, v in bands[0.95][1]["by_horizon"].items()},
        },
    }
    log.info(
        "%s: best epoch %d, test MAE lstm %s served %s naive %s, interval coverage %.3f, serving %s weights",
        cfg.model_id,
        report["best_epoch"],
        meta["metrics"]["mae"].get("lstm"),
        meta["metrics"]["mae"].get("served"),
        meta["metrics"]["mae"].get("naive"),
        cover["overall"],
        serving["weights"],
    )
    return Trained(served.cpu(), served_scalers, meta, data.test, evaluated)


def _in_phase(checkpoint: Callable[[dict], None] | None, phase: str, **extra) -> Callable[[dict], None] | None:
    """``checkpoint`` with each state marked by the phase it belongs to (and ``extra``)."""
    if checkpoint is None:
        return None
    return lambda state: checkpoint({**state, "phase": phase, **extra})


def _refit(
    cfg: TrainConfig,
    prices: market_prices.Prices,
    data: Split,
    parent: Artifact | None,
    evaluated: LSTMModel,
    report: dict,
    checkpoint: Callable[[dict], None] | None,
    resume: dict | None,
) -> tuple[LSTMModel, Scalers, dict]:
    """The same configuration fitted on every window up to the last close, for the evaluation
    run's best number of epochs (no hold-out is left to stop on). Returns the model, its scalers
    (fitted on all those windows) and the ``serving`` record."""
    windows, info = all_windows(prices, cfg.start_date, cfg.end_date)
    scalers = Scalers.fit(windows)
    epochs = report["best_epoch"]
    runtime.progress({"stage": "refit", "epoch": 0, "epochs": epochs, "windows": info["windows"]})
    marked = _in_phase(
        checkpoint, "refit", evaluated={"state": copy.deepcopy(evaluated.state_dict()), "report": report}
    )
    model, refit_report = fit(
        cfg,
        dataclasses.replace(data, train=windows),
        scalers,
        parent,
        checkpoint=marked,
        resume=resume,
        fixed_epochs=epochs,
    )
    serving = {
        "weights": "refit",
        "refit": True,
        "about": "the same configuration refitted on every window up to the last close, for the evaluation "
        "run's best epoch count (no hold-out is left to stop on); the held-out numbers are the evaluated weights'",
        **info,
        "epochs": epochs,
        "final_train_loss": refit_report["history"][-1]["train_loss"],
    }
    return model, scalers, serving


def _stat_predictions(prices: market_prices.Prices, cfg: TrainConfig, windows: Windows) -> dict[str, np.ndarray]:
    """The statistical models' forecasts for ``windows`` in target space (open/high/low follow the
    close, the volume is naive, as for the drift baseline), each origin from its own past only."""
    from . import statmodels  # statsforecast takes seconds to import: only runs that use it pay

    lo, _ = usable_rows(prices, cfg.start_date, cfg.end_date)
    started = time.monotonic()
    log_close = np.log(prices.features[lo:, 3])
    returns = statmodels.log_returns_apart(log_close, windows.ends - lo, HORIZON)
    naive = Naive().predict(windows)
    out = {}
    for alias, r in returns.items():
        pred = naive.copy()
        pred[..., 0:4] = r[..., None]
        out[alias] = pred
    log.info(
        "%s: statistical baselines on %d windows in %.1f s", cfg.model_id, len(windows), time.monotonic() - started
    )
    return out


# --- promotion ---------------------------------------------------------------------------------


def _serving_mae(
    registry: Registry, model_id: str, version: str, ticker: str, test: Windows | None, device: str
) -> float | None:
    """The serving version's mean LSTM MAE on ``test``: the same windows and scoring as the new model's.

    Its evaluated weights are scored, never its refit: those saw every day up to their last close,
    which may be the new run's test days."""
    if test is None:
        raise ValueError("the new model kept no held-out windows to score on")
    art = registry.load(model_id, version, map_location=device, evaluated=True)
    net = LSTMModel(LSTMConfig(**art.meta["config"]["model"]))
    net.load_state_dict(art.state_dict)
    predicted = LSTMForecaster(net, Scalers.from_json(art.scalers), device).predict(test)
    table = evaluation.evaluate(ticker, test, {"lstm": predicted})
    return tracking.mean_mae(evaluation.summary(table, "mae").get("lstm"))


def decide_promotion(trained: Trained, registry: Registry, cfg: TrainConfig, promote: str) -> dict:
    """Whether the new version takes the serving pointer, and why (recorded as ``promotion``).

    The measure is :data:`PROMOTION_MEASURE`: the serving version is loaded and scored on the new
    run's own test windows, so both numbers cover the same days at the same price level (MAEs from
    different runs' test periods are not comparable). The new version wins ties: at equal error the
    fresher model serves. A first model always serves; ``always`` promotes whatever the numbers say.
    If the serving version cannot be scored (unreadable files), its stored held-out MAE stands in.
    """
    previous = registry.serving_version(cfg.model_id)
    new_mae = tracking.mean_mae(trained.meta["metrics"]["mae"].get("lstm"))
    record: dict[str, Any] = {
        "rule": promote,
        "measure": PROMOTION_MEASURE,
        "new_mae": new_mae,
        "serving_mae": None,
        "previous_version": previous,
    }
    if previous is not None:
        try:
            record["serving_mae"] = _serving_mae(registry, cfg.model_id, previous, cfg.ticker, trained.test, cfg.device)
        except Exception as exc:  # a broken serving version must not block a new one
            log.warning(
                "%s: could not score serving version %s on the new test windows (%s); using its stored MAE",
                cfg.model_id,
                previous,
                exc,
            )
            try:
                stored = registry.meta(cfg.model_id, previous).get("metrics", {}).get("mae", {}).get("lstm")
            except Exception:
                stored = None
            record["serving_mae"] = tracking.mean_mae(stored)
            record["measure"] += (
                f"; the serving version could not be scored ({type(exc).__name__}), so its own stored test MAE was used"
            )
    old = record["serving_mae"]
    if previous is None:
        promoted, reason = True, "first model: no serving version"
    elif promote == "always":
        promoted, reason = True, f"promote=always (new MAE {new_mae}, serving version {previous}'s {old})"
    elif old is None:
        promoted, reason = True, f"serving version {previous} has no comparable MAE"
    elif new_mae is None:
        promoted, reason = False, f"the new model has no finite MAE; serving version {previous} ({old}) stays"
    elif new_mae <= old:
        promoted, reason = True, f"new MAE {new_mae} <= serving version {previous}'s {old}"
    else:
        promoted, reason = False, f"new MAE {new_mae} is worse than serving version {previous}'s {old}"
    return {"decision": "promoted" if promoted else "kept", "promoted": promoted, "reason": reason, **record}


def _load_checkpoint(path, cfg: TrainConfig) -> dict | None:
    """A checkpoint to resume from, or None when there is none or it is of another config."""
    try:
        state = torch.load(path, map_location=cfg.device, weights_only=True)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged checkpoint costs the epochs it held, never the run
        log.warning("%s: checkpoint %s unreadable (%s); starting afresh", cfg.model_id, path.name, exc)
        return None
    if state.get("config") != dataclasses.asdict(cfg):
        log.warning("%s: checkpoint %s is of another config; starting afresh", cfg.model_id, path.name)
        return None
    return state


def train_and_save(
    settings: Settings,
    ref: str,
    *,
    promote: str = "auto",
    run_id: str | None = None,
    resume_run_id: str | None = None,
    move_pointer: bool = True,
    **hparams,
) -> dict:
    """Train ``ref`` (``"parent"`` or a symbol) with request hyper-parameters and save a version.

    ``promote``: ``"auto"`` (the new version serves only if it is no worse than the serving one, see
    :func:`decide_promotion`) or ``"always"``. The run is recorded by tracking.py (never raises).
    ``run_id``: checkpoint every epoch under this id; ``resume_run_id``: continue from that run's
    checkpoint when there is one. ``move_pointer=False`` saves the version without serving it even
    when promoted (the caller commits the pointer; the answer's ``promotion`` says whether to).

    Raises NotFound (no price data), ModelMissing (a child without a parent model),
    InvalidParameter (bad hyper-parameters), Cancelled.
    """
    if promote not in PROMOTE:
        raise errors.InvalidParameter(f"promote must be one of {', '.join(PROMOTE)}, got {promote!r}")
    cfg = make_config(settings, ref, **hparams)
    registry = Registry.from_settings(settings)
    prices = market_prices.load(cfg.ticker, settings)
    parent = parent_evaluated = None
    if cfg.role == "child":
        try:
            parent = registry.load(tickers.PARENT)
        except errors.ModelMissing:
            raise errors.ModelMissing("parent model missing") from None
        parent_evaluated = registry.load(tickers.PARENT, parent.version, evaluated=True)
    paths = {registry.checkpoint_path(cfg.model_id, r) for r in (run_id, resume_run_id) if r is not None}
    if run_id is not None and resume_run_id is None:
        for leftover in registry.checkpoint_path(cfg.model_id, run_id).parent.glob("*.pt"):
            registry.remove_checkpoint(leftover)
    cancelled = False
    try:
        resume = _load_checkpoint(registry.checkpoint_path(cfg.model_id, resume_run_id), cfg) if resume_run_id else None
        checkpoint = None
        if run_id is not None:
            checkpoint = functools.partial(registry.save_checkpoint, registry.checkpoint_path(cfg.model_id, run_id))
        trained = train(cfg, prices, parent, checkpoint=checkpoint, resume=resume, parent_evaluated=parent_evaluated)
        runtime.check_cancelled()
        promotion = decide_promotion(trained, registry, cfg, promote)
        ok = promotion["promoted"]
        trained.meta["promotion"] = promotion
        version = registry.save(
            cfg.model_id,
            trained.model.state_dict(),
            trained.scalers.to_json(),
            trained.meta,
            promote=ok and move_pointer,
            evaluated=trained.evaluated,
        )
    except errors.Cancelled:
        cancelled = True
        raise
    finally:
        for p in paths if not cancelled else ():
            registry.remove_checkpoint(p)
    log.info("%s version %s: %s (%s)", cfg.model_id, version, promotion["decision"], promotion["reason"])
    runtime.progress({"stage": "saved", "version": version, "serving": ok, "promotion": promotion["decision"]})
    meta = trained.meta
    tracked = tracking.record_run(
        settings,
        model_id=cfg.model_id,
        version=version,
        meta=meta,
        serving_version=version if ok else registry.serving_version(cfg.model_id),
    )
    return {
        "ticker": tickers.PARENT if cfg.role == "parent" else cfg.ticker,
        "symbol": cfg.ticker,
        "model": cfg.model_id,
        "role": cfg.role,
        "version": version,
        "serving": ok,
        "promotion": meta["promotion"],
        "parent_version": meta["parent_version"],
        "strategy": cfg.strategy,
        "data_source": prices.source,
        "data_as_of": meta["data_as_of"],
        "metrics": {
            k: meta["metrics"][k]
            for k in (
                "mae",
                "mape",
                "directional_accuracy",
                "skill_vs_naive",
                "served_skill_vs_naive",
                "served_skill_interval",
            )
        },
        "evaluation": meta["evaluation"],
        "served_weights": meta["serving"],  # meta.json's "serving"; the result's "serving" says whether it serves
        "choice": {k: meta["choice"][k] for k in ("method", "chosen_on", "weights_by_horizon", "why")},
        "summary": summary.line(meta),
        "interval": {
            k: meta["interval"][k]
            for k in ("coverage_target", "test_coverage", "test_coverage_by_horizon", "test_coverage_95")
        },
        "best_epoch": meta["training"]["best_epoch"],
        "epochs_run": meta["training"]["epochs_run"],
        "best_val_loss": meta["training"]["best_val_loss"],
        "seconds": meta["training"]["seconds"],
        "tracking": tracked,
    }
