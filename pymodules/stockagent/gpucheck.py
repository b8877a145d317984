"""GPU check: train the parent a few epochs on CUDA and on the CPU, and time batch forecasts.

Run on a machine with an NVIDIA GPU as ``make gpu-check``, or, with any Python that has torch,
numpy and pandas (nothing else of the package's dependencies is imported)::

    PYTHONPATH=pymodules python3 -m stockagent.gpucheck --out gpucheck.json

It trains the parent on the bundled ^GSPC prices with one seed, the way the server does
(``forecast.train.fit``), once on the CPU and once per mixed-precision mode on CUDA, and prints

- seconds per epoch of each run (the first epoch includes moving the data and cuDNN's set-up, so
  the speed-up compares the median of the later ones) and its best validation loss;
- forecasts per second for batches of 1 to 4096 windows on each device, each call the serving path
  (``LSTMForecaster.predict``: scaling, the copy to the device, one forward pass, the copy back);
- whether weights trained on the GPU, saved by the registry and loaded on the CPU, give the same
  forecasts there.

``--out`` writes the figures as JSON. Without a GPU it says so and exits 1; ``--devices cpu`` times
the CPU alone. With the defaults it takes under a minute on a 16-core machine with an H100.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from . import runtime
from .forecast import train
from .forecast.dataset import Scalers, Split, Windows, split
from .forecast.model import LSTMForecaster, LSTMModel
from .forecast.registry import Registry
from .market import prices as market_prices
from .settings import AMP_MODES, Settings

DEVICES = ("cuda", "cpu")
PORTABLE_TOLERANCE = 1e-2  # log-return units: 1% of a price; TF32 on the GPU differs by far less


def _csv(kind, choices=None):
    def parse(text: str) -> list:
        items = [kind(t.strip()) for t in text.split(",") if t.strip()]
        bad = [i for i in items if choices is not None and i not in choices]
        if not items or bad:
            raise argparse.ArgumentTypeError(
                f"want a comma-separated list{f' of {choices}' if choices else ''}, got {text!r}"
            )
        return items

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m stockagent.gpucheck", description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=_csv(str, DEVICES), default=list(DEVICES), help="cuda, cpu or both (default)")
    p.add_argument(
        "--amp",
        type=_csv(str, AMP_MODES),
        default=list(AMP_MODES),
        help="mixed-precision modes to train with on CUDA (default: all); the CPU trains in float32",
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--start-date", default=d.parent_start_date.isoformat(), help="first day of the parent's data")
    p.add_argument("--end-date", default=None, help="last day (default: the last bundled day)")
    p.add_argument("--batches", type=_csv(int), default=[1, 64, 512, 4096], help="windows per forecast call")
    p.add_argument("--min-seconds", type=float, default=1.0, help="time each batch size at least this long")
    p.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: every core)")
    p.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.cpu_threads < 1 or min(args.batches) < 1:
        p.error("--epochs, --cpu-threads and every batch size must be at least 1")
    return args


def time_training(cfg: train.TrainConfig, data: Split, scalers: Scalers) -> tuple[LSTMModel, dict]:
    """Train with ``cfg``; seconds per epoch are read at each epoch's progress event, which comes
    after the validation loss has been copied to the host, so GPU work is finished by then."""
    stamps = [time.perf_counter()]

    def on_progress(event: dict) -> None:
        if event.get("stage") == "epoch":
            stamps.append(time.perf_counter())

    with runtime.local_call(on_progress=on_progress):
        model, report = train.fit(cfg, data, scalers)
    epochs = [b - a for a, b in itertools.pairwise(stamps)]
    return model, {
        "device": cfg.device,
        "amp": cfg.amp,
        "epoch_seconds": [round(s, 4) for s in epochs],
        "steady_epoch_seconds": round(statistics.median(epochs[1:] or epochs), 4),
        "best_val_loss": report["best_val_loss"],
        "history": report["history"],
    }


@torch.inference_mode()
def time_predictions(
    model: LSTMModel, scalers: Scalers, windows: Windows, device: str, batches: list[int], min_seconds: float
) -> list[dict]:
    """Forecasts per second through ``LSTMForecaster.predict`` for each batch size (windows repeated
    to fill the larger batches); each size is called once untimed, so cuDNN has chosen its kernels."""
    forecaster = LSTMForecaster(model, scalers, device, batch_size=max(batches))
    rows = []
    for size in batches:
        batch = windows.take(np.arange(size) % len(windows))
        forecaster.predict(batch)
        calls, start = 0, time.perf_counter()
        while True:
            forecaster.predict(batch)  # ends with .cpu(): the device has finished
            calls += 1
            elapsed = time.perf_counter() - start
            if calls >= 3 and elapsed >= min_seconds:
                break
        rows.append(
            {
                "device": device,
                "batch": size,
                "calls": calls,
                "ms_per_call": round(1e3 * elapsed / calls, 4),
                "forecasts_per_second": round(size * calls / elapsed, 1),
            }
        )
    return rows


def check_portability(model: LSTMModel, scalers: Scalers, windows: Windows, data_dir: Path) -> dict:
    """Save GPU-trained weights with the registry, load them on the CPU, compare the forecasts."""
    registry = Registry(data_dir / "models")
    version = registry.save("parent", model.state_dict(), scalers.to_json(), {})
    art = registry.load("parent", version, map_location="cpu")
    on_cpu = all(t.device.type == "cpu" and t.dtype == torch.float32 for t in art.state_dict.values())
    cpu_model = LSTMModel(model.config)
    cpu_model.load_state_dict(art.state_dict)
    on_gpu = LSTMForecaster(model, scalers, "cuda").predict(windows)
    moved = LSTMForecaster(cpu_model, scalers, "cpu").predict(windows)
    diff = float(np.abs(on_gpu - moved).max())
    return {
        "saved_as_cpu_float32": on_cpu,
        "windows": len(windows),
        "max_abs_diff": diff,
        "tolerance": PORTABLE_TOLERANCE,
        "ok": on_cpu and diff <= PORTABLE_TOLERANCE,
    }


def _environment(args: argparse.Namespace) -> dict:
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cpu_threads": args.cpu_threads,
        "cpu_cores": os.cpu_count(),
        "gpu": None,
    }
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        env["cudnn"] = torch.backends.cudnn.version()
    return env


def run(args: argparse.Namespace, data_dir: Path) -> dict:
    torch.set_num_threads(args.cpu_threads)
    settings = Settings(data_dir=data_dir, data_source="bundled")
    prices = market_prices.load(settings.parent_ticker, settings)
    data = split(prices, args.start_date, args.end_date)
    scalers = Scalers.fit(data.train)
    figures = {
        "environment": _environment(args),
        "epochs": args.epochs,
        "data": {"ticker": settings.parent_ticker, "source": prices.source, **data.info},
    }
    print(
        f"data: {settings.parent_ticker} {data.info['first_date']}..{data.info['last_date']} ({prices.source}): "
        f"{len(data.train)} training windows, {len(data.val)} validation, batch {train.TrainConfig.batch_size}",
        flush=True,
    )

    runs, predict = [], []
    models: dict[str, LSTMModel] = {}
    plan = [(dev, amp) for dev in args.devices for amp in (args.amp if dev == "cuda" else ["off"])]
    for device, amp in plan:
        if amp == "bf16" and not torch.cuda.is_bf16_supported():
            print(f"train {device} amp {amp}: skipped, this GPU has no bfloat16", flush=True)
            continue
        cfg = train.TrainConfig(
            ticker=settings.parent_ticker,
            model_id="parent",
            role="parent",
            start_date=args.start_date,
            end_date=args.end_date,
            epochs=args.epochs,
            learning_rate=settings.learning_rate,
            patience=args.epochs,
            device=device,
            amp=amp,
        )
        model, figures_run = time_training(cfg, data, scalers)
        runs.append(figures_run)
        models.setdefault(device, model)  # its first run serves the forecasts (weights are float32 under amp too)
        print(
            f"train {device} amp {amp}: "
            f"seconds per epoch {' '.join(f'{s:.3f}' for s in figures_run['epoch_seconds'])}; "
            f"best validation loss {figures_run['best_val_loss']:.4f}",
            flush=True,
        )
    figures["runs"] = runs

    cpu = next((r for r in runs if r["device"] == "cpu"), None)
    figures["speedup"] = None
    if cpu is not None and any(r["device"] == "cuda" for r in runs):
        figures["speedup"] = {
            r["amp"]: round(cpu["steady_epoch_seconds"] / r["steady_epoch_seconds"], 2)
            for r in runs
            if r["device"] == "cuda"
        }
        print(
            "training speed-up over the CPU (median epoch after the first): "
            + ", ".join(f"cuda amp {amp} {x:.1f}x" for amp, x in figures["speedup"].items()),
            flush=True,
        )

    for device, model in models.items():
        predict += time_predictions(model, scalers, data.test, device, args.batches, args.min_seconds)
    figures["predict"] = predict
    print("forecasts per second (serving path, float32):", flush=True)
    print("  windows per call" + "".join(f"  {d:>12}" for d in models), flush=True)
    for size in args.batches:
        row = {p["device"]: p["forecasts_per_second"] for p in predict if p["batch"] == size}
        print(f"  {size:>16}" + "".join(f"  {row[d]:>12,.0f}" for d in models), flush=True)

    figures["portability"] = None
    if "cuda" in models:
        figures["portability"] = check_portability(models["cuda"], scalers, data.test, data_dir)
        port = figures["portability"]
        print(
            f"weights trained on cuda, saved and loaded on the cpu: max forecast difference {port['max_abs_diff']:.2e} "
            f"over {port['windows']} windows ({'ok' if port['ok'] else 'FAILED'})",
            flush=True,
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = _environment(args)
    print(
        f"stockagent GPU check: Python {env['python']}, torch {env['torch']} (CUDA {env['torch_cuda']}), "
        f"GPU {env['gpu']}, {args.cpu_threads} CPU threads",
        flush=True,
    )
    if "cuda" in args.devices and not torch.cuda.is_available():
        why = "this torch build has no CUDA support" if torch.version.cuda is None else "torch sees no GPU"
        print(f"no CUDA GPU: {why}. Nothing to compare; --devices cpu times the CPU alone.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="stockagent-gpucheck-") as tmp:
        figures = run(args, Path(tmp))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"figures written to {args.out}", flush=True)
    port = figures["portability"]
    return 0 if port is None or port["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
