"""The analyst's state: a narrow public input and the full state the nodes share.

A field without a reducer is overwritten by each update that names it; ``messages`` and
``node_metrics`` declare reducers, so parallel nodes both append and a thread's earlier turns
stay. The state of a thread is checkpointed after each run (see graph.py), so a field's value
survives into the next turn of the same ``thread_id`` until a node overwrites it; the
``prepare`` node resets what belongs to one turn.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages


@dataclasses.dataclass(kw_only=True)
class InputState:
    """What a caller gives for one turn (the entry module passes every field, every turn)."""

    ticker: str = ""
    """The validated symbol."""

    prediction: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The forecast (forecast/predict.py's answer, slimmed by tools.slim_prediction)."""

    headlines: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """``[{title, publisher, url, published}]`` as fetched by Go (empty offline)."""

    news_source: str = "none"
    """``finnhub``, ``yahoo`` or ``none``: named in the report."""

    drift: dict[str, Any] | None = None
    """The model's latest drift check (tools.drift_facts of monitoring's record); None: none yet."""

    question: str | None = None
    """A follow-up question; with an earlier report on the thread only the answer node runs."""

    turn: str = ""
    """An id of this call: node metrics carry it, so a turn reports only its own nodes."""


@dataclasses.dataclass(kw_only=True)
class State(InputState):
    """Everything the nodes read and write."""

    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Numbers computed from the forecast by prepare (tools.forecast_facts), with
    the drift check under ``drift``."""

    performance_analysis: str = ""
    """The performance analyst's note on the forecast and its held-out accuracy."""

    news_sentiment: str = "none"
    """positive, negative, mixed or none (no headlines); "unclear" when the model named none."""

    news_analysis: str = ""
    """The news analyst's note on the headlines."""

    draft: str = ""
    """The writer's latest answer: JSON under fields.schema."""

    problems: list[str] = dataclasses.field(default_factory=list)
    """What the critic found in the latest draft (empty: accepted). Reset by prepare."""

    critique: str = ""
    """The critic's message to the writer when it sends the draft back. Reset by prepare."""

    verdict: str = ""
    """The critic's decision on the latest draft: ``revise`` (back to the writer) or ``accept``."""

    revisions: int = 0
    """How many times the writer rewrote a draft this turn (bounded by Settings.max_revisions)."""

    final_report: str = ""
    """The finished report: the facts rendered in code, the model's checked fields, the stance
    lines and the reminder."""

    recommendation: str = ""
    """BULLISH, BEARISH or NEUTRAL."""

    confidence: str = ""
    """High, Medium or Low."""

    parse_status: str = ""
    """``ok``, or ``fallback: …`` saying what the model's text lacked and what was used instead."""

    flags: list[str] = dataclasses.field(default_factory=list)
    """Problems left in the final answer (e.g. a stance that contradicts the forecast)."""

    left_out: list[str] = dataclasses.field(default_factory=list)
    """The model's fields that failed their checks (fields.review), each with why; never shown."""

    news_summary: str = ""
    """The report's news in a few words (sentiment, headline count, source), for the answer."""

    report_ticker: str = ""
    """The ticker ``final_report`` is about: a question about another ticker needs a new report."""

    answer: str | None = None
    """The answer to this turn's question once it passed its checks (fields.problem). Reset by prepare."""

    answer_left_out: str | None = None
    """Why this turn's answer was left out, if it was. Reset by prepare."""

    messages: Annotated[list[AnyMessage], add_messages] = dataclasses.field(default_factory=list)
    """The thread's conversation: each report and each question with its answer."""

    node_metrics: Annotated[list[dict[str, Any]], operator.add] = dataclasses.field(default_factory=list)
    """One entry per node run: ``{node, turn, started, seconds, prompt_tokens, completion_tokens}``."""
