"""Where an analysis spends its time: each node's tokens and timings in the answer's ``nodes`` and
in the log line, and the one system message every LLM node of a report shares (the prompt prefix
the in-process model reuses). Scripted models only; the real model's counters are checked in
test_agent_integration.py."""

import logging
import time

from agent_fakes import BEARISH_REPORT, BULLISH_REPORT, HEADLINES, NEWS, PERFORMANCE, make_prediction

from stockagent.agent import runner
from stockagent.llm import ScriptedChat
from stockagent.settings import Settings

LLM_NODES = {"performance_analyst", "news_analyst", "writer"}


class TimedChat(ScriptedChat):
    """A scripted model that reports timings as the in-process one does: each call waits
    ``WAIT`` s, reads ``EVALUATED`` of its prompt tokens in ``PROMPT`` s and writes in ``GENERATION`` s."""

    WAIT, PROMPT, GENERATION, EVALUATED = 0.05, 0.02, 0.1, 7

    def invoke(self, messages, **kw):
        time.sleep(self.WAIT + self.PROMPT)
        text, usage = super().invoke(messages, **kw)
        return text, {
            **usage,
            "prompt_evaluated": self.EVALUATED,
            "wait_seconds": self.WAIT,
            "prompt_seconds": self.PROMPT,
            "generation_seconds": self.GENERATION,
        }


def script(cls=ScriptedChat, writer=BEARISH_REPORT):
    return cls({"performance_analyst": PERFORMANCE, "news_analyst": NEWS, "writer": writer})


def analyze(chat, tmp_path, prediction=None):
    return runner.analyze(
        ticker="TEST",
        prediction=prediction or make_prediction(),
        headlines=HEADLINES,
        news_source="yahoo",
        chat=chat,
        settings=Settings(),
        data_dir=tmp_path,
    )


def test_every_node_reports_its_tokens_and_timings_none_where_unmeasured(tmp_path):
    out = analyze(script(), tmp_path)
    assert [tuple(n) for n in out["nodes"]] == [runner.NODE_FIELDS] * len(out["nodes"])
    by_node = {n["node"]: n for n in out["nodes"]}
    assert set(by_node) >= LLM_NODES | {"prepare", "critic", "finalize"}
    for name, n in by_node.items():
        llm_call = name in LLM_NODES
        assert (n["prompt_tokens"] > 0 and n["completion_tokens"] > 0) == llm_call, n
        # a model that measures nothing: every prompt token counts as read, no wait, no rates
        assert n["prompt_tokens_evaluated"] == n["prompt_tokens"] and n["wait_seconds"] == 0, n
        assert n["first_token_seconds"] is None and n["prompt_tokens_per_second"] is None, n
        assert n["generation_tokens_per_second"] is None and n["seconds"] >= 0, n


def test_a_measuring_model_s_timings_become_rates_per_node(tmp_path):
    chat = script(TimedChat)
    out = analyze(chat, tmp_path)
    for n in out["nodes"]:
        if n["node"] not in LLM_NODES:
            assert n["prompt_tokens_per_second"] is None and n["first_token_seconds"] is None, n
            continue
        assert n["prompt_tokens_evaluated"] == TimedChat.EVALUATED and n["wait_seconds"] == TimedChat.WAIT, n
        assert n["prompt_tokens_per_second"] == round(TimedChat.EVALUATED / TimedChat.PROMPT, 1), n
        assert n["generation_tokens_per_second"] == round(n["completion_tokens"] / TimedChat.GENERATION, 1), n
        # measured from the node's start: at least the wait and the prompt, at most the whole node
        assert TimedChat.WAIT + TimedChat.PROMPT <= n["first_token_seconds"] <= n["seconds"], n


def test_two_writer_calls_add_up_in_their_own_node_records(tmp_path):
    # bullish against a falling forecast without a rationale: the critic sends it back once
    chat = script(TimedChat, writer=[BULLISH_REPORT, BEARISH_REPORT])
    out = analyze(chat, tmp_path)
    writers = [n for n in out["nodes"] if n["node"] == "writer"]
    assert out["revisions"] == 1 and len(writers) == 2
    calls = chat.prompts("writer")
    assert [w["prompt_tokens"] for w in writers] == [sum(len(m["content"].split()) for m in c.messages) for c in calls]


def test_every_llm_node_of_a_report_starts_with_the_same_system_message(tmp_path):
    chat = script()
    analyze(chat, tmp_path)
    systems = {c.node: c.messages[0] for c in chat.calls}
    assert set(systems) == LLM_NODES
    assert len({m["content"] for m in systems.values()}) == 1 and systems["writer"]["role"] == "system"
    assert "$100.00" in systems["writer"]["content"]  # the facts are in it
    assert all(HEADLINES[0]["title"] not in m["content"] for m in systems.values())  # the headlines are not


def test_the_log_line_says_where_the_time_went(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="stockagent.agent.runner"):
        analyze(script(TimedChat), tmp_path)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("analyst TEST"))
    assert f"({3 * TimedChat.EVALUATED} evaluated)" in line
    assert "writer " in line and "wait 0.05s" in line and "tok/s" in line and "first token" in line


def test_llama_cpp_counters_read_as_decoded_tokens():
    from types import SimpleNamespace

    from stockagent.llm.chat import _decoded

    counters = SimpleNamespace  # llama_perf_context_data's fields that count
    assert _decoded(counters(n_p_eval=120, t_p_eval_ms=80.0, n_eval=30, t_eval_ms=400.0)) == 150
    # llama.cpp reports a count of 0 as 1 (its floor against division by zero); its time is then 0
    assert _decoded(counters(n_p_eval=1, t_p_eval_ms=0.0, n_eval=12, t_eval_ms=90.0)) == 12
    assert _decoded(counters(n_p_eval=1, t_p_eval_ms=0.0, n_eval=1, t_eval_ms=0.0)) == 0
