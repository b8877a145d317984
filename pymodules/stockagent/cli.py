"""Command line: one operation per process, JSON on stdout, through the same entry functions Go calls.

The old service's commands print what the HTTP server answers for the same request (bodies.py):

    python -m stockagent.cli predict-child --ticker AAPL          # POST /predict-child: {"result": ...}
    python -m stockagent.cli predict-parent                       # POST /predict-parent
    python -m stockagent.cli analyze --ticker AAPL [--thread-id T] [--use-fmi|--no-use-fmi] [--question Q]
    python -m stockagent.cli monitor-parent                       # POST /monitor/parent
    python -m stockagent.cli monitor-ticker --ticker AAPL         # POST /monitor/AAPL
    python -m stockagent.cli train-parent [--epochs N] [--start-date D] [--end-date D] [--learning-rate X]
    python -m stockagent.cli train-child --ticker AAPL [--epochs N] [--strategy freeze|fine_tune] [...]
    python -m stockagent.cli backtest --ticker MSFT --start-date D --end-date D [--horizons 1,5,21]
                                      [--refit-every K] [--cost-bps 5]   # a backtest task's result

Training and backtests run in the process and print their result (what a task's ``result`` holds on
the server; a backtest's is stored with the model's others, as the server stores it).
What only the server has is not here: the prediction cache, the semantic cache, callers' own
threads, the health policy (see bodies.py); a missing model is an error, not a training started.

Other commands print an entry function's answer as it is:

    python -m stockagent.cli models | model --ticker AAPL | model-state --ticker AAPL | tickers
    python -m stockagent.cli feature-store-sync --ticker AAPL [--ticker MSFT ...] | feature-store-check --ticker AAPL
    python -m stockagent.cli noop | features --ticker AAPL | embed --text "..."   (benchmark workloads)

An error prints ``{"detail": ..., "error": <class name>}`` on stdout and exits with status 1
(2 for a malformed command line). Logs and progress go to stderr: on a terminal a status line
redrawn in place (a training's epochs and losses), otherwise one JSON object per progress event.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from . import bodies, diagnostics, errors, progressbar, runtime, settings
from .entries import agent, forecast

log = logging.getLogger("stockagent.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage to stderr; we answer in JSON too
        print(json.dumps({"detail": f"{self.prog}: {message}", "error": "BadRequest"}))
        sys.exit(2)


def _hparams(p: argparse.ArgumentParser, child: bool) -> None:
    p.add_argument("--epochs", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--start-date", help="first day of training data, YYYY-MM-DD")
    p.add_argument("--end-date", help="last day of training data, YYYY-MM-DD")
    p.add_argument("--promote", choices=("always", "auto"))
    if child:
        p.add_argument("--strategy", choices=("freeze", "fine_tune"))


_EPILOG = (
    "predict-*, analyze and monitor-* print the HTTP server's body for the same request, computed in this "
    "process: no prediction or semantic cache, no training started for a missing model (an error instead), "
    "threads without owners, and drift health and evaluation status by the built-in thresholds (the server "
    "applies POLICY_FILE). Progress goes to stderr: a status line on a terminal, JSON lines otherwise."
)


def _horizons(text: str) -> list[int]:
    """``1,5,21`` as a list; which values are allowed is the entry's to say."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"want integers separated by commas, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stockagent",
        description="Stock forecasting core: one operation, JSON on stdout.",
        epilog=_EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("predict-parent", help="forecast the parent ticker (S&P 500), as POST /predict-parent")
    sub.add_parser("predict-child", help="forecast one ticker, as POST /predict-child").add_argument(
        "--ticker", required=True
    )
    p = sub.add_parser("analyze", help="the analyst's report, as POST /analyze (runs the LLM; no semantic cache)")
    p.add_argument("--ticker", required=True)
    p.add_argument("--thread-id", help="continue this conversation (the thread_id of an earlier answer)")
    p.add_argument(
        "--use-fmi",
        action=argparse.BooleanOptionalAction,
        help="--no-use-fmi: no Finnhub news even with FMI_API_KEY; unset: NEWS_SOURCE decides",
    )
    p.add_argument("--question", help="a follow-up question, answered by the agent")
    sub.add_parser("monitor-parent", help="drift and agent evaluation of the parent, as POST /monitor/parent")
    p = sub.add_parser("monitor-ticker", help="drift and agent evaluation of one ticker, as POST /monitor/{ticker}")
    p.add_argument("--ticker", required=True, help="a symbol, or parent")
    _hparams(sub.add_parser("train-parent", help="train the parent model"), child=False)
    p = sub.add_parser("train-child", help="train a child model from the parent's weights")
    p.add_argument("--ticker", required=True)
    _hparams(p, child=True)
    p = sub.add_parser("backtest", help="walk-forward backtest of one model's ticker, as POST /backtest's result")
    p.add_argument("--ticker", required=True, help="a symbol, or parent")
    p.add_argument("--start-date", required=True, help="first forecast origin, YYYY-MM-DD")
    p.add_argument("--end-date", required=True, help="last day of the range, YYYY-MM-DD")
    p.add_argument("--horizons", type=_horizons, help="some of 1,5,21 (default all)")
    p.add_argument("--refit-every", type=int, help="refit the forecasters every K origins")
    p.add_argument(
        "--cost-bps", type=float, help="cost per unit of turnover in basis points (default BACKTEST_COST_BPS)"
    )
    sub.add_parser("models", help="list models and versions")
    sub.add_parser("model", help="one model in detail").add_argument("--ticker", required=True)
    sub.add_parser("model-state", help="serving version and data date").add_argument("--ticker", required=True)
    sub.add_parser("tickers", help="symbols with price data")
    sub.add_parser("feature-store-sync", help="write tickers' features into Feast (offline and online)").add_argument(
        "--ticker", dest="tickers", action="append", required=True
    )
    sub.add_parser(
        "feature-store-check", help="online features of the latest day against in-process ones"
    ).add_argument("--ticker", required=True)
    sub.add_parser("noop", help="do nothing: the cost of a process per call")
    sub.add_parser("features", help="compute one ticker's feature frame").add_argument("--ticker", required=True)
    sub.add_parser("embed", help="embed one text").add_argument("--text", required=True)
    return parser


def _body(fn: Any) -> Any:
    """Bytes in, bytes out, as the entry functions: ``fn(**request)`` is an HTTP body (bodies.py)."""

    def call(payload: bytes) -> bytes:
        return json.dumps(fn(**json.loads(payload)), allow_nan=False).encode()

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


_BODIES = {
    "predict-parent": _body(lambda: bodies.predict("parent")),
    "predict-child": _body(bodies.predict),
    "analyze": _body(bodies.analyze),
    "monitor-parent": _body(lambda: bodies.monitor("parent")),
    "monitor-ticker": _body(bodies.monitor),
}


def _request(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The entry function and request of a parsed command line."""
    skip = {"command"}
    req = {k: v for k, v in vars(args).items() if k not in skip and v is not None}
    cmd = args.command
    if cmd in _BODIES:
        return _BODIES[cmd], req
    if cmd == "train-parent":
        return forecast.train, {"ticker": "parent", **req}
    if cmd == "train-child":
        return forecast.train, req
    if cmd == "backtest":
        return forecast.backtest, {"cost_bps": settings.load().backtest_cost_bps, **req}
    return {
        "models": forecast.models,
        "model": forecast.model,
        "model-state": forecast.model_state,
        "tickers": forecast.tickers,
        "feature-store-sync": forecast.feature_store_sync,
        "feature-store-check": forecast.feature_store_check,
        "noop": diagnostics.noop,
        "features": diagnostics.features,
        "embed": agent.embed,
    }[cmd], req


def _json_line(event: dict[str, Any]) -> None:
    print(json.dumps(event), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    line = progressbar.Line(sys.stderr) if sys.stderr.isatty() else None
    handler = line.log_handler() if line else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    fn, req = _request(args)
    try:
        with runtime.local_call(on_progress=line.event if line else _json_line):
            out = fn(json.dumps(req).encode())
    except errors.StockAgentError as exc:
        print(json.dumps({"detail": str(exc), "error": type(exc).__name__}))
        return 1
    except Exception as exc:  # the traceback goes to stderr, a short detail to stdout
        log.exception("%s failed", args.command)
        print(json.dumps({"detail": f"internal error: {type(exc).__name__}: {exc}", "error": "InternalError"}))
        return 1
    finally:
        if line:
            line.close()
    sys.stdout.write(out.decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
