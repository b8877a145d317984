"""Running the analyst for one call of the host: checkpoints, threads, cancellation, the answer.

The graph runs on a helper thread (``agent-graph``) while the calling thread, the one the host
called and whose thread-local cancel flag and progress channel :mod:`stockagent.runtime` reads,
watches it: every ``POLL_S`` it forwards the nodes' progress events to the host and, once the
host cancels, sets the graph's cancel flag. Nodes check that flag at their start and the
in-process LLM between tokens. A server LLM call cannot be interrupted; if the graph has not
stopped ``CANCEL_GRACE_S`` after a cancel the call returns Cancelled anyway and the helper
thread ends on its own at its next check.

Checkpoints: with REDIS_URL, one ``RedisSaver`` (redis_saver.py) shared by every replica, so a
follow-up may be answered anywhere; else one ``SqliteSaver`` per data folder, on
``DATA_DIR/agent/checkpoints.sqlite`` (one connection shared by threads; the saver serializes its
use with its own lock). A thread is
keyed by ``thread_id`` (a fresh one per call when none is given) and written once, when the run
ends (``durability="exit"``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from langgraph.checkpoint.sqlite import SqliteSaver

from .. import errors, redact
from .. import runtime as host
from ..llm.chat import ChatModel
from ..settings import Settings
from . import tools
from .graph import NAME, AgentRun, Control, builder
from .redis_saver import RedisSaver

log = logging.getLogger(__name__)

POLL_S = 0.05
CANCEL_GRACE_S = 5.0
RECURSION_LIMIT = 25  # supersteps; a full run with one revision and an answer takes 8
NODE_FIELDS = (  # each node's record in the answer (graph._Step.metrics)
    "node",
    "seconds",
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_evaluated",
    "wait_seconds",
    "first_token_seconds",
    "prompt_tokens_per_second",
    "generation_tokens_per_second",
)

_compiled: dict[Path | str, Any] = {}
_compiled_lock = threading.Lock()


def checkpoint_path(data_dir: Path) -> Path:
    return Path(data_dir) / "agent" / "checkpoints.sqlite"


def checkpointed_graph(data_dir: Path, redis_url: str | None = None) -> Any:
    """The graph compiled with the Redis checkpointer when ``redis_url`` is set, else with the
    data folder's SQLite one (once per URL or folder)."""
    if redis_url:
        return _redis_graph(redis_url)
    path = checkpoint_path(data_dir)
    g = _compiled.get(path)
    if g is None:
        with _compiled_lock:
            g = _compiled.get(path)
            if g is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                # check_same_thread=False: LangGraph calls the saver from its worker threads;
                # SqliteSaver holds a lock around every use of the connection.
                conn = sqlite3.connect(str(path), check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                saver = SqliteSaver(conn)
                saver.setup()
                g = _compiled[path] = builder.compile(checkpointer=saver, name=NAME)
    return g


def _redis_graph(url: str) -> Any:
    g = _compiled.get(url)
    if g is None:
        with _compiled_lock:
            g = _compiled.get(url)
            if g is None:
                g = _compiled[url] = builder.compile(checkpointer=RedisSaver.from_url(url), name=NAME)
                log.info("analyst checkpoints in Redis at %s", redact.url(url))
    return g


def _forward(control: Control) -> None:
    while True:
        try:
            event = control.events.get_nowait()
        except Exception:  # queue.Empty
            return
        host.progress(event)


def run_watched(fn: Callable[[], Any], control: Control) -> Any:
    """``fn()`` on a helper thread while this thread relays progress and cancellation."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised on the calling thread
            box["error"] = exc
            if isinstance(exc, errors.Cancelled):
                log.info("analyst stopped at a cancel check")
        finally:
            done.set()

    threading.Thread(target=target, name="agent-graph", daemon=True).start()
    cancelled_at: float | None = None
    while not done.wait(POLL_S):
        _forward(control)
        if cancelled_at is None and host.cancelled():
            control.cancel.set()
            cancelled_at = time.monotonic()
        if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
            raise errors.Cancelled("cancelled by the caller; the agent stops at its next check")
    _forward(control)
    if "error" in box:
        raise box["error"]
    return box["value"]


def analyze(
    *,
    ticker: str,
    prediction: dict[str, Any],
    headlines: list[dict[str, Any]],
    news_source: str,
    chat: ChatModel,
    settings: Settings,
    data_dir: Path,
    drift: dict[str, Any] | None = None,
    redis_url: str | None = None,
    thread_id: str | None = None,
    question: str | None = None,
) -> dict[str, Any]:
    """One turn of the analyst on a thread; the entry module's ``analyze`` answer. ``drift`` is the
    model's latest stored drift report (monitoring/drift.py), None when it has none."""
    host.check_cancelled()
    thread_id = thread_id or uuid.uuid4().hex
    turn = uuid.uuid4().hex
    inputs = {  # every input field, every turn: a missing one would keep the thread's old value
        "ticker": ticker,
        "prediction": tools.slim_prediction(prediction),
        "headlines": list(headlines),
        "news_source": news_source if headlines else "none",
        "drift": tools.drift_facts(drift),
        "question": question or None,
        "turn": turn,
    }
    control = Control()
    run = AgentRun(settings=settings, chat=chat, control=control)
    graph = checkpointed_graph(data_dir, redis_url)
    config = {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}
    started = time.perf_counter()
    try:
        values = run_watched(lambda: graph.invoke(inputs, config, context=run, durability="exit"), control)
    except redis.RedisError as exc:  # the thread's history cannot be read or kept: retry later
        raise errors.Unavailable(redact.text(f"the conversation store (REDIS_URL) is unreachable: {exc}")) from None
    seconds = time.perf_counter() - started

    metrics = sorted((m for m in values.get("node_metrics", []) if m.get("turn") == turn), key=lambda m: m["started"])
    ran = {m["node"] for m in metrics}
    out = {
        "ticker": ticker,
        "final_report": values["final_report"],
        "recommendation": values["recommendation"],
        "confidence": values["confidence"],
        "news_sentiment": values.get("news_summary") or values.get("news_sentiment") or "none",
        "parse_status": values["parse_status"],
        "flags": list(values.get("flags") or []),
        "left_out": list(values.get("left_out") or []),
        "thread_id": thread_id,
        "revisions": int(values.get("revisions") or 0) if "writer" in ran else 0,
        "nodes": [{k: m[k] for k in NODE_FIELDS} for m in metrics],
        "llm": {"provider": chat.provider, "model": chat.model},
        "seconds": round(seconds, 3),
    }
    if question:  # an answer that failed its checks is left out, as a report's field is
        out["answer"] = values.get("answer") or ""
        if values.get("answer_left_out"):
            out["left_out"].append(values["answer_left_out"])
    # No thread id and no question in logs: a thread is its owner's alone.
    log.info(
        "analyst %s: %s/%s in %.1fs, %d prompt tokens (%d evaluated), %d generated (%s)",
        ticker,
        out["recommendation"],
        out["confidence"],
        seconds,
        sum(m["prompt_tokens"] for m in metrics),
        sum(m["prompt_tokens_evaluated"] for m in metrics),
        sum(m["completion_tokens"] for m in metrics),
        ", ".join(_node_line(m) for m in metrics),
    )
    return out


def _node_line(m: dict[str, Any]) -> str:
    """One node in the log line: its seconds, and for an LLM call where they went."""
    line = f"{m['node']} {m['seconds']:.2f}s"
    if m["prompt_tokens"] or m["completion_tokens"]:
        line += (
            f" [wait {m['wait_seconds']:.2f}s, prompt {m['prompt_tokens_evaluated']}/{m['prompt_tokens']} tok"
            f" at {m['prompt_tokens_per_second']} tok/s, first token {m['first_token_seconds']}s,"
            f" {m['completion_tokens']} generated at {m['generation_tokens_per_second']} tok/s]"
        )
    return line
