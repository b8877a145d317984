"""Forecasts for many tickers in one call, sharing the LSTM forward where the models share an LSTM.

A child trained with the ``freeze`` strategy keeps its parent's LSTM weights unchanged and learns
only its head, so the parent and all its frozen children are one function up to the head. The batch
scales each ticker's window with that ticker's own scalers, runs the shared LSTM once over all of
them, and applies each ticker's head to its own row. Models with weights of their own (``fine_tune``
children, or children of another parent version) form groups of their own: the grouping key is a
digest of the LSTM's weights (predict.py), so the sharing never rests on metadata alone.

The answers are the single forecasts' answers, compact (predict.answer). A ticker that fails (no
prices, no model, too little history) is reported on its own and the others are still answered.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np
import torch
from torch.nn import functional as F

from .. import errors, runtime
from .predict import Inputs, Predictor, answer, price_columns

# Every shared forward runs on this one thread. OpenMP keeps a team of worker threads per calling
# thread, and an idle team's workers spin for a while: a forward on whichever thread the caller
# came in on competed with the spinning team of the previous caller's thread (measured on 2 cores:
# 100 windows took 34 ms on a second thread against 23 ms on the first one alone).
_forward = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-forward")


def scaled_outputs(group: list[Inputs], threads: int = 1) -> np.ndarray:
    """The model outputs (n, 63, 5) in the scaled space of each model, for a group whose models share
    one LSTM: one LSTM forward over every window, then each model's head on its own row."""
    x = np.concatenate([i.loaded.forecaster.scalers.x(i.window.inputs) for i in group])  # (n, 60, 7)
    return _forward.submit(_shared_forward, group, x, threads).result()


def _shared_forward(group: list[Inputs], x: np.ndarray, threads: int) -> np.ndarray:
    first = group[0].loaded.forecaster
    if torch.get_num_threads() != threads:  # this thread runs nothing else: no need to restore
        torch.set_num_threads(threads)
    with torch.inference_mode():
        h = first.model.encode(torch.from_numpy(x).to(first.device))  # (n, hidden)
        # each head on its own row: what decode does in eval mode (dropout is off), without its checks
        out = torch.stack(
            [
                F.linear(h[k], i.loaded.forecaster.model.head.weight, i.loaded.forecaster.model.head.bias)
                for k, i in enumerate(group)
            ]
        )
    c = first.model.config
    return out.float().cpu().numpy().reshape(len(group), c.horizon, c.n_targets)


# What a ticker's failure means to a batch client, by exception class.
_CODES = {
    errors.BadRequest: "invalid_ticker",
    errors.NotFound: "not_found",
    errors.ModelMissing: "untrained",
    errors.InvalidParameter: "insufficient_data",
}
_NEXT = {"untrained": "; POST /predict-child or /train-child trains it"}


def failure(ticker: str, exc: Exception) -> dict:
    """A ticker's entry when it cannot be forecast: ``{ticker, error, detail}``."""
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "model_error")
    return {"ticker": ticker, "error": code, "detail": str(exc) + _NEXT.get(code, "")}


def forecast_many(predictor: Predictor, refs: list[str], threads: int = 1) -> tuple[list[dict], int]:
    """One entry per ref, in order: ``{"ticker", "result"}`` or a :func:`failure`; and the number of
    LSTM forwards run."""
    entries: list[dict | None] = [None] * len(refs)
    groups: dict[str, list[tuple[int, Inputs]]] = {}
    for k, ref in enumerate(refs):
        runtime.check_cancelled()
        try:
            inputs = predictor.inputs(ref)
        except errors.StockAgentError as exc:
            entries[k] = failure(ref, exc)
            continue
        groups.setdefault(inputs.loaded.encoder, []).append((k, inputs))
    for members in groups.values():
        runtime.check_cancelled()
        group = [i for _, i in members]
        scaled = scaled_outputs(group, threads)
        pred = np.stack(
            [i.loaded.forecaster.scalers.y_inverse(s.astype(np.float64)) for i, s in zip(group, scaled, strict=True)]
        )
        cols, volumes, finite = price_columns(group, pred)
        for n, (k, i) in enumerate(members):
            if finite[n]:
                entries[k] = {"ticker": i.ref, "result": answer(i, cols[n], volumes[n], compact=True)}
            else:  # this ticker fails, the others stand
                entries[k] = failure(i.ref, ValueError(f"the model for {i.symbol} produced non-finite values"))
    return entries, len(groups)  # type: ignore[return-value]
