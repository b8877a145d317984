"""The analyst graph.

::

    START → prepare ─┬─→ performance_analyst ─┐
                     ├─→ news_analyst ────────┴→ writer → critic ─┬─→ finalize ─┬─→ END
                     │                            ↑  (at most     │             │
                     │                            └── max_revisions times)      └─→ answer → END
                     └─→ answer (a question on a thread that already has a report) → END

- ``prepare`` computes the forecast's facts in Python (tools.forecast_facts). Every LLM node of a
  report sends them in one shared system message (prompts.ANALYST_SYSTEM) followed by its own
  instruction, so the in-process model evaluates that prefix once per report and later nodes
  only their own part (their ``prompt_tokens_evaluated``).
- ``performance_analyst`` asks the LLM for a short reading of the facts; ``news_analyst`` rates the
  headlines (only it sees them). Both run in the same step, in parallel; the in-process model
  serves them one after the other under its lock (one llama.cpp context holds one sequence).
- ``writer`` fills short fields under a JSON schema (fields.py: stance, confidence, up to three
  one-sentence reasons, a rationale; a server model also writes a narrative).
- ``critic`` checks them deterministically (report.check: a missing stance or confidence, a stance
  against a clear forecast direction without a stated rationale), optionally asks the LLM too,
  and sends them back at most ``max_revisions`` times.
- ``performance_analyst`` sends the data section as a ``field`` event as soon as it has the facts,
  before its LLM call, and ``finalize`` sends each field that passed review (``answer`` sends the
  answer that passed): a streamed /analyze shows them before the report is done.
- ``finalize`` renders the facts in code (report.data_section), keeps each model field that passes
  its checks (fields.review: numbers from the facts only, the asked ticker only, no repeated
  sentence, no leaked marker, bounded length) and notes those left out, labels any fallback,
  overrides a stance that still contradicts the forecast to NEUTRAL (flagged), and ends with the
  stance lines and the "not investment advice" reminder.
- ``answer`` answers a follow-up ``question`` from the thread's earlier turns (checkpointed); the
  answer passes the fields' checks (fields.answer_problem) or is left out with a note.

Nodes are plain functions of ``(state, runtime)`` returning only the keys they change. They are
synchronous, not async: the bridge calls Python synchronously and the checkpointer is the
synchronous ``SqliteSaver``; LangGraph runs the nodes of one step on its thread pool, so the
two analysts still run in parallel. The graph is bounded (at most 8 steps with one revision and
an answer), so it needs no last-step guard.

Each node starts by checking the call's cancel flag and sending a progress event, checks it again
before each LLM call (whose text goes out as it is generated, as provisional ``token`` events),
fits each prompt into the model's context (budget.py: news and history are shortened first), and
records its latency, token counts and timings in ``node_metrics`` (``_Step.metrics``). Nodes reach the
host through :class:`Control`, not through ``stockagent.runtime`` directly: LangGraph runs parallel
nodes on its own threads, where the host call's thread-local cancel flag and progress channel are
not visible (runner.py bridges them).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from .. import errors
from .. import runtime as host
from ..llm.chat import ChatModel, Usage
from ..settings import Settings
from . import budget, fields, prompts, report, tools
from .state import InputState, State

log = logging.getLogger(__name__)

NAME = "stock_analyst"
# Each node's answer cap, by what it needs (others: Settings.max_tokens; the writer's JSON is bounded
# by its schema): 2 or 3 sentences are 40 to 70 tokens, and on two cores a generated token costs
# as much as reading three prompt tokens. Measured over AAPL, MSFT and NVDA reports, the performance
# note ran from 27 tokens to its old cap of 160; a note cut at the cap is still read as quoted data.
NODE_MAX_TOKENS = {"performance_analyst": 80, "news_analyst": 64, "critic": 64}
HISTORY_CHARS = {"report": 2500, "other": 400}  # what the answer node shows of earlier messages
HISTORY_TURNS = 4  # earlier questions and answers shown besides the latest report


class Control:
    """One call of the host as every graph thread sees it: a cancel flag and a progress queue.

    The runner (on the host's thread) sets ``cancel`` when the host cancels the call and
    forwards ``events`` to the host; nodes on any thread call :meth:`check` and :meth:`progress`.
    """

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def cancelled(self) -> bool:
        return self.cancel.is_set() or host.cancelled()

    def check(self) -> None:
        if self.cancelled():
            raise errors.Cancelled("cancelled by the caller")

    def progress(self, event: dict[str, Any]) -> None:
        self.events.put(event)

    def field(self, name: str, text: str) -> None:
        """A report part that passed its checks, sent before the run ends (a streamed answer shows it)."""
        self.progress({"event": "field", "field": name, "text": text})


TOKEN_EVERY_S = 0.05  # the LLM's text goes out at most this often per node: one event per token is too many


class _Tokens:
    """An LLM call's text as it is generated, sent as provisional ``token`` events, coalesced."""

    def __init__(self, node: str, control: Control) -> None:
        self.node, self.control, self.pending, self.sent = node, control, "", 0.0

    def __call__(self, piece: str) -> None:
        self.pending += piece
        if time.monotonic() - self.sent >= TOKEN_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.control.progress({"event": "token", "node": self.node, "text": self.pending})
            self.pending, self.sent = "", time.monotonic()


@dataclasses.dataclass
class AgentRun:
    """The graph's runtime context: settings, the chat model and the call's control."""

    settings: Settings
    chat: ChatModel
    control: Control = dataclasses.field(default_factory=Control)


class _Step:
    """One node run: the cancel check and progress event at its start, its LLM calls, its metrics."""

    def __init__(self, name: str, state: State, runtime: Runtime[AgentRun]):
        self.name, self.run, self.turn = name, runtime.context, state.turn
        self.run.control.check()
        self.run.control.progress({"stage": "agent", "node": name})
        self.started, self.t0 = time.time(), time.perf_counter()
        self.prompt_tokens = self.completion_tokens = self.prompt_evaluated = 0
        self.wait_seconds = 0.0
        self.prompt_seconds: float | None = None  # measured only by the in-process model
        self.generation_seconds: float | None = None
        self.first_token: float | None = None  # seconds from the node's start to its first generated token

    def llm(
        self,
        system: str,
        build: Callable[[Mapping[str, Any]], str],
        parts: Mapping[str, Any] | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        """Ask the LLM: the user message is ``build(parts)``, shortened to fit (budget.fit;
        ``parts`` in the order they may be shortened); ``schema`` constrains the answer."""
        s, chat = self.run.settings, self.run.chat
        max_tokens = min(NODE_MAX_TOKENS.get(self.name, s.max_tokens), s.max_tokens)
        user, max_tokens = budget.fit(chat, system, build, parts or {}, max_tokens)
        self.run.control.check()  # an abandoned run makes no further LLM call
        called = time.perf_counter()
        tokens = _Tokens(self.name, self.run.control)
        text, usage = chat.invoke(
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            max_tokens=max_tokens,
            temperature=s.temperature,
            node=self.name,
            cancelled=self.run.control.cancelled,
            schema=schema,
            on_token=tokens,
        )
        tokens.flush()
        self._count(usage, called)
        self.run.control.check()
        return text

    def _count(self, usage: Usage, called: float) -> None:
        """Add one call's tokens and timings; a model that measures no timing leaves them None."""
        self.prompt_tokens += usage["prompt_tokens"]
        self.completion_tokens += usage["completion_tokens"]
        self.prompt_evaluated += usage.get("prompt_evaluated", usage["prompt_tokens"])
        self.wait_seconds += usage.get("wait_seconds", 0.0)
        if "prompt_seconds" in usage and "generation_seconds" in usage:
            prompt, generation = usage["prompt_seconds"], usage["generation_seconds"]
            if self.first_token is None:
                self.first_token = called - self.t0 + usage.get("wait_seconds", 0.0) + prompt
            self.prompt_seconds = (self.prompt_seconds or 0.0) + prompt
            self.generation_seconds = (self.generation_seconds or 0.0) + generation

    def metrics(self) -> list[dict[str, Any]]:
        """The node's record (runner.py's ``nodes``). Rates are tokens over the seconds spent on
        them: the prompt's evaluated tokens until the first generated token, the answer's tokens
        after it; None where nothing was measured (no LLM call, or a server model)."""

        def rate(tokens: int, seconds: float | None) -> float | None:
            return None if seconds is None else round(tokens / max(seconds, 1e-6), 1)

        return [
            {
                "node": self.name,
                "turn": self.turn,
                "started": self.started,
                "seconds": round(time.perf_counter() - self.t0, 4),
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "prompt_tokens_evaluated": self.prompt_evaluated,
                "wait_seconds": round(self.wait_seconds, 4),
                "first_token_seconds": None if self.first_token is None else round(self.first_token, 4),
                "prompt_tokens_per_second": rate(self.prompt_evaluated, self.prompt_seconds),
                "generation_tokens_per_second": rate(self.completion_tokens, self.generation_seconds),
            }
        ]


def _answer_only(state: State) -> bool:
    """A question on a thread that already holds a report on this ticker: only the answer runs."""
    return bool(state.question) and bool(state.final_report) and state.report_ticker == state.ticker


# --- nodes ---------------------------------------------------------------------------------------


def prepare(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """Reset what belongs to one turn (the checkpoint keeps the thread's earlier values) and, for a
    report, compute the forecast's facts (Python), which every later node's prompt starts with."""
    step = _Step("prepare", state, runtime)
    if not state.ticker:
        raise ValueError("the analyst needs a ticker")
    updates: dict[str, Any] = {"answer": None, "answer_left_out": None, "critique": "", "problems": [], "verdict": ""}
    if not _answer_only(state):
        facts = {
            **tools.forecast_facts(state.prediction, runtime.context.settings.direction_band_pct),
            "drift": state.drift,
        }
        updates.update(revisions=0, flags=[], left_out=[], draft="", facts=facts)
        runtime.context.control.field("data", report.data_section(facts, state.headlines, state.news_source))
    return {**updates, "node_metrics": step.metrics()}


def _system(state: State) -> str:
    """The system message every node of a report shares (prompts.ANALYST_SYSTEM): one prompt
    prefix that the in-process model evaluates once per report."""
    return prompts.ANALYST_SYSTEM.format(ticker=state.ticker, facts=tools.format_facts(state.facts))


def performance_analyst(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """A short reading of the forecast's facts (LLM)."""
    step = _Step("performance_analyst", state, runtime)
    text = step.llm(_system(state), lambda _: prompts.PERFORMANCE_USER.format(ticker=state.ticker))
    return {"performance_analysis": text, "node_metrics": step.metrics()}


def news_analyst(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """The headlines' sentiment; no LLM call when there are none."""
    step = _Step("news_analyst", state, runtime)
    if not state.headlines:
        return {"news_sentiment": "none", "news_analysis": prompts.NO_NEWS_NOTE, "node_metrics": step.metrics()}
    text = step.llm(
        _system(state),
        lambda p: prompts.NEWS_USER.format(
            ticker=state.ticker,
            source=tools.source_label(state.news_source),
            block=tools.headline_block(p["headlines"]),
        ),
        {"headlines": list(state.headlines)},
    )
    return {"news_sentiment": report.parse_sentiment(text), "news_analysis": text, "node_metrics": step.metrics()}


def writer(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """The model's fields; a rewrite when the critic sent the last answer back."""
    step = _Step("writer", state, runtime)
    narrative = runtime.context.chat.provider == "openai-compatible"  # a server model of some size
    revising = state.verdict == "revise"
    facts = state.facts

    def build(p: Mapping[str, Any]) -> str:
        revision = ""
        if revising:
            revision = prompts.WRITER_REVISION.format(
                problems="\n".join(f"- {x}" for x in state.problems), draft=tools.quote_block("DRAFT", p["draft"], 1500)
            )
        return prompts.WRITER_USER.format(
            performance=tools.quote_block("FORECAST_NOTE", p["performance"]),
            source=tools.source_label(state.news_source),
            sentiment=state.news_sentiment,
            news=tools.quote_block("NEWS_NOTE", p["news"]),
            revision=revision,
            direction=f"{facts['direction'].upper()} over {facts['direction_days']} trading days",
            narrative=prompts.WRITER_NARRATIVE if narrative else "",
            example=prompts.WRITER_EXAMPLE.format(
                ticker=state.ticker,
                verb={"up": "rise", "down": "fall"}.get(facts["direction"], "stay near"),
                move=abs(facts["direction_move_pct"]),
                days=facts["direction_days"],
            ),
        )

    text = step.llm(
        _system(state),
        build,
        {"news": state.news_analysis, "draft": state.draft, "performance": state.performance_analysis},
        fields.schema(narrative),
    )
    return {"draft": text, "revisions": state.revisions + (1 if revising else 0), "node_metrics": step.metrics()}


def critic(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """Deterministic checks first, then (optionally) the LLM; decides whether to send it back."""
    step = _Step("critic", state, runtime)
    settings = runtime.context.settings
    problems = [p["detail"] for p in report.check(fields.parse(state.draft), state.facts)]
    if not problems and settings.llm_critique:
        verdict = step.llm(
            _system(state),
            lambda p: prompts.CRITIC_USER.format(draft=tools.quote_block("NOTE", p["draft"], 2500)),
            {"draft": state.draft},
        )
        m = re.match(r"\s*\**revise\b\**[\s:]*(.*)", verdict, re.I | re.S)
        if m:
            problems = [
                "a reviewer model says: " + (" ".join(m.group(1).split())[:300] or "the stance does not fit the facts")
            ]
    send_back = bool(problems) and state.revisions < settings.max_revisions
    return {
        "problems": problems,
        "critique": "\n".join(problems) if send_back else "",
        "verdict": "revise" if send_back else "accept",
        "node_metrics": step.metrics(),
    }


def finalize(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """The facts rendered in code, the model's checked fields, labelled fallbacks and flags."""
    step = _Step("finalize", state, runtime)
    facts = state.facts
    direction, move, days = facts["direction"], facts["direction_move_pct"], facts["direction_days"]
    parsed = fields.parse(state.draft)
    reviewed = fields.review(parsed, facts, ticker=state.ticker, headlines=state.headlines)
    notes: list[str] = []
    flags: list[str] = []

    recommendation = parsed.stance
    stance_line = f"Market Stance: {recommendation}"
    if recommendation is None:
        recommendation = report.stance_from_forecast(direction)
        notes.append(f"fallback: the model gave no stance; recommendation is the forecast's {days}-day direction")
        stance_line = (
            f"Market Stance: {recommendation} (fallback: the model gave no stance; this is the forecast's direction)"
        )
    elif report.opposes(parsed.stance, direction):
        if report.has_reason(reviewed.rationale):
            flags.append(
                f"stance {parsed.stance} goes against the {days}-day forecast ({direction}, {move:+.1f}%); "
                "the model states a rationale"
            )
        else:
            flags.append(
                f"stance contradicts forecast; overridden to NEUTRAL (the model said {parsed.stance}, "
                f"the {days}-day forecast is {direction} {move:+.1f}%, no rationale shown)"
            )
            recommendation = "NEUTRAL"
            stance_line = (
                f"Market Stance: NEUTRAL (overridden: the model's {parsed.stance} "
                "contradicted the forecast without a reason)"
            )
    confidence = parsed.confidence
    confidence_line = f"Confidence: {confidence}"
    if confidence is None:
        confidence = "Low"
        notes.append("fallback: the model gave no confidence; confidence set to Low")
        confidence_line = "Confidence: Low (fallback: the model gave no confidence)"
    if not reviewed.reasons and not reviewed.narrative:
        flags.append("no text of the model passed its checks")

    label = tools.source_label(state.news_source if state.headlines else "none")
    if state.headlines:
        news_summary = f"{state.news_sentiment} ({report.count(state.headlines)}, {label})"
    else:
        news_summary = "none: no news available offline"
    sentiment = state.news_sentiment if state.headlines else None
    parts = [
        report.data_section(facts, state.headlines, state.news_source),
        report.model_section(runtime.context.chat.model, sentiment, reviewed),
        f"{stance_line}\n{confidence_line}",
    ]
    if flags:
        parts.append("\n".join(f"> Flag: {f}" for f in flags))
    parts.append(prompts.REMINDER)
    final = "\n\n".join(parts)
    checked = {
        "stance": recommendation,
        "confidence": confidence,
        "reasons": "\n".join(reviewed.reasons),
        "rationale": reviewed.rationale,
        "narrative": reviewed.narrative,
    }
    for name, value in checked.items():
        if value:
            runtime.context.control.field(name, value)
    return {
        "final_report": final,
        "recommendation": recommendation,
        "confidence": confidence,
        "parse_status": "; ".join(notes) if notes else "ok",
        "flags": flags,
        "left_out": list(reviewed.notes),
        "news_summary": news_summary,
        "report_ticker": state.ticker,
        "messages": [
            HumanMessage(content=f"Write a report on {state.ticker}.", name="request"),
            AIMessage(content=final, name="report"),
        ],
        "node_metrics": step.metrics(),
    }


def _history(messages: list[AnyMessage]) -> str:
    """The thread for the answer prompt: the latest report and the last few questions and answers."""
    last_report = max((i for i, m in enumerate(messages) if m.name == "report"), default=None)
    shown = [i for i, m in enumerate(messages) if m.name in ("question", "answer")][-HISTORY_TURNS:]
    keep = sorted(set(shown) | ({last_report} if last_report is not None else set()))
    lines = []
    for i in keep:
        m = messages[i]
        limit = HISTORY_CHARS["report" if i == last_report else "other"]
        text = str(m.content)
        text = text if len(text) <= limit else text[:limit] + " …"
        who = "Analyst" if isinstance(m, AIMessage) else "User"
        lines.append(f"{who}: {text}")
    return "\n\n".join(lines) or "(none)"


def answer(state: State, runtime: Runtime[AgentRun]) -> dict[str, Any]:
    """A follow-up question answered from the thread's earlier turns and the forecast facts."""
    step = _Step("answer", state, runtime)
    question = " ".join((state.question or "").split())
    text = step.llm(
        prompts.ANSWER_SYSTEM,
        lambda p: prompts.ANSWER_USER.format(
            history=p["history"],
            facts=p["facts"],
            question=question,
        ),
        {"history": _history(state.messages), "facts": tools.format_facts(state.facts) if state.facts else "(none)"},
    )
    why = fields.answer_problem(text, state.facts, ticker=state.ticker, headlines=state.headlines)
    # A failed answer is neither shown nor kept in the thread, where the next answer would read it.
    kept = f"(an answer was left out: {why})" if why else text
    if not why:
        runtime.context.control.field("answer", text)
    return {
        "answer": None if why else text,
        "answer_left_out": f"answer: {why}" if why else None,
        "messages": [HumanMessage(content=question, name="question"), AIMessage(content=kept, name="answer")],
        "node_metrics": step.metrics(),
    }


# --- routing -------------------------------------------------------------------------------------

Analysts = Literal["performance_analyst", "news_analyst"]


def route_after_prepare(state: State) -> list[Analysts | Literal["answer"]]:
    if _answer_only(state):
        return ["answer"]
    return ["performance_analyst", "news_analyst"]


def route_after_critic(state: State) -> Literal["writer", "finalize"]:
    if state.verdict == "revise":
        return "writer"
    if state.verdict == "accept":
        return "finalize"
    raise ValueError(f"the critic left an unexpected verdict {state.verdict!r}; expected 'revise' or 'accept'")


def route_after_finalize(state: State) -> Literal["answer", "__end__"]:
    return "answer" if state.question else "__end__"  # langgraph's END, spelled as the Literal


# --- the graph -----------------------------------------------------------------------------------

builder = StateGraph(State, context_schema=AgentRun, input_schema=InputState)
builder.add_node("prepare", prepare)
builder.add_node("performance_analyst", performance_analyst)
builder.add_node("news_analyst", news_analyst)
builder.add_node("writer", writer)
builder.add_node("critic", critic)
builder.add_node("finalize", finalize)
builder.add_node("answer", answer)
builder.add_edge(START, "prepare")
builder.add_conditional_edges("prepare", route_after_prepare, ["performance_analyst", "news_analyst", "answer"])
builder.add_edge(["performance_analyst", "news_analyst"], "writer")  # waits for both
builder.add_edge("writer", "critic")
builder.add_conditional_edges("critic", route_after_critic, ["writer", "finalize"])
builder.add_conditional_edges("finalize", route_after_finalize, ["answer", END])
builder.add_edge("answer", END)

graph = builder.compile(name=NAME)
"""The graph without a checkpointer (one-off runs, tests); runner.py compiles it once more with
the SQLite checkpointer of the data folder."""
