"""The analyst with a real model (integration): SmolLM2-135M-Instruct in-process through
llama.cpp, and the same GGUF behind llama-cpp-python's OpenAI-compatible server.

They assert the answer's structure, never its prose. Small budgets keep each run well under a
minute on two cores: answers of at most 200 tokens, one thread for the model.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from agent_fakes import HEADLINES, INJECTION, make_prediction
from conftest import free_port

from stockagent import errors, llm
from stockagent.agent import fields, prompts, report, runner, tools
from stockagent.settings import Settings

pytestmark = pytest.mark.integration

MAX_TOKENS = 200
ANALYSIS_NODES = {"prepare", "performance_analyst", "news_analyst", "writer", "critic", "finalize"}


def assert_structure(out, provider):
    assert out["recommendation"] in ("BULLISH", "BEARISH", "NEUTRAL")
    assert out["confidence"] in ("High", "Medium", "Low")
    assert out["final_report"].strip() and "Market Stance:" in out["final_report"]
    assert out["final_report"].splitlines()[-1].startswith("_Not investment advice")
    assert out["parse_status"] == "ok" or out["parse_status"].startswith("fallback:")
    assert isinstance(out["flags"], list) and 0 <= out["revisions"] <= 1
    assert {n["node"] for n in out["nodes"]} >= ANALYSIS_NODES
    writer = [n for n in out["nodes"] if n["node"] == "writer"]
    assert writer and all(n["completion_tokens"] > 0 and n["prompt_tokens"] > 0 for n in writer)
    assert all(n["completion_tokens"] <= MAX_TOKENS for n in out["nodes"])
    assert out["llm"]["provider"] == provider


def run(chat, tmp_path, settings, **kw):
    headlines = [*HEADLINES, {"title": INJECTION, "publisher": "spam", "url": "", "published": ""}]
    return runner.analyze(
        ticker="TEST",
        prediction=make_prediction(),
        headlines=headlines,
        news_source="yahoo",
        chat=chat,
        settings=settings,
        data_dir=tmp_path,
        **kw,
    )


def test_in_process_llama_cpp_through_the_entry_function(tmp_path, load_env):
    from stockagent.entries import agent as entries

    load_env(
        DATA_DIR=tmp_path,
        AGENT_MAX_TOKENS=MAX_TOKENS,
        LLM_TIMEOUT=120,
        LLM_BASE_URL=None,
        LLM_PROVIDER=None,
        LLM_GGUF=None,
    )
    headlines = [*HEADLINES, {"title": INJECTION, "publisher": "spam", "url": "", "published": ""}]
    req = {
        "ticker": "TEST",
        "prediction": make_prediction(),
        "headlines": headlines,
        "news_source": "yahoo",
        "question": "What is the forecast for one month?",
    }
    out = json.loads(entries.analyze(json.dumps(req).encode()))
    assert_structure(out, "llama-cpp")
    assert out["llm"]["model"] == "SmolLM2-135M-Instruct.Q4_1"
    calls = [n for n in out["nodes"] if n["prompt_tokens"]]
    for n in calls:  # the in-process model measures every call
        assert 0 < n["prompt_tokens_evaluated"] <= n["prompt_tokens"], n
        assert n["prompt_tokens_per_second"] > 0 and n["generation_tokens_per_second"] > 0, n
        assert n["wait_seconds"] <= n["first_token_seconds"] <= n["seconds"], n
    # the two analysts and the writer share the facts' prefix: after the first call of the report,
    # each reads only its own part (llama.cpp's counters)
    first = min(n["prompt_tokens"] - n["prompt_tokens_evaluated"] for n in calls if n["node"] != "answer")
    assert first < 16, calls  # the first node read its prompt (only the chat template's start was cached)
    writer = next(n for n in calls if n["node"] == "writer")
    assert writer["prompt_tokens_evaluated"] < writer["prompt_tokens"] - 100, writer
    # The answer is shown only once it passed the fields' checks; else left_out says why.
    facts = {**tools.forecast_facts(req["prediction"]), "drift": None}
    if out["answer"]:
        assert fields.answer_problem(out["answer"], facts, ticker="TEST", headlines=headlines) is None
    else:
        assert [n for n in out["left_out"] if n.startswith("answer: ")], out["left_out"]
    assert (tmp_path / "agent" / "checkpoints.sqlite").is_file()


def test_in_process_generation_stops_between_tokens():
    chat = llm.select(Settings(llm_timeout=120), threads=1)
    messages = [{"role": "user", "content": "Write a long story about a lighthouse."}]
    checks = []

    def cancelled():
        checks.append(1)
        return len(checks) >= 3

    with pytest.raises(errors.Cancelled):
        chat.invoke(messages, max_tokens=200, temperature=0.2, cancelled=cancelled)
    assert len(checks) == 3  # stopped at the third token
    timeout, chat.timeout = chat.timeout, 1e-6
    try:
        with pytest.raises(errors.Unavailable, match="did not finish within LLM_TIMEOUT"):
            chat.invoke(messages, max_tokens=200, temperature=0.2)
    finally:
        chat.timeout = timeout
    pieces: list[str] = []
    text, usage = chat.invoke(messages, max_tokens=8, temperature=0.2, on_token=pieces.append)
    assert text and usage["completion_tokens"] == 8 and usage["prompt_tokens"] > 5
    assert len(pieces) > 1 and "".join(pieces).strip() == text  # streamed token by token, nothing lost


def test_in_process_model_reads_a_shared_prefix_once():
    chat = llm.select(Settings(llm_timeout=120), threads=1)
    facts = {**tools.forecast_facts(make_prediction()), "drift": None}
    text = prompts.ANALYST_SYSTEM.format(ticker="TEST", facts=tools.format_facts(facts))
    system = {"role": "system", "content": text}
    shared = chat.count_tokens(system["content"])
    other = [{"role": "system", "content": "You write short poems."}, {"role": "user", "content": "One line on rain."}]
    chat.invoke(other, max_tokens=4, temperature=0.2)  # whatever the context held before, now it holds this
    _, first = chat.invoke([system, {"role": "user", "content": "Name the ticker."}], max_tokens=4, temperature=0.2)
    _, second = chat.invoke([system, {"role": "user", "content": "Is it up or down?"}], max_tokens=4, temperature=0.2)
    assert first["prompt_evaluated"] > shared, first  # all but the chat template's first tokens
    assert 0 < second["prompt_evaluated"] < second["prompt_tokens"] - shared, second  # its own message only
    for usage in (first, second):
        assert usage["wait_seconds"] >= 0 and usage["prompt_seconds"] > 0 and usage["generation_seconds"] >= 0


@pytest.fixture
def llama_server(tmp_path):
    """``python -m llama_cpp.server`` on a free local port with the packaged GGUF."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(llm.packaged_gguf()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
        "--model_alias",
        "smollm2",
        "--verbose",
        "False",
    ]
    log_path = tmp_path / "llama_server.log"
    with open(log_path, "w") as log:  # a file, not a pipe: llama.cpp logs a lot while loading
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start within 60 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_openai_compatible_server(tmp_path, llama_server):
    settings = Settings(
        llm_base_url=llama_server, llm_model="smollm2", max_tokens=MAX_TOKENS, llm_timeout=120, llm_max_retries=0
    )
    assert llm.status(settings)["provider"] == "openai-compatible"
    chat = llm.select(settings)
    assert isinstance(chat, llm.OpenAIChat)
    out = run(chat, tmp_path, settings)
    assert_structure(out, "openai-compatible")  # streamed (the graph listens for tokens), usage included
    assert out["llm"]["model"] == "smollm2"
    pieces: list[str] = []
    text, usage = chat.invoke(
        [{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0.2, on_token=pieces.append
    )
    assert pieces and "".join(pieces).strip() == text and usage["completion_tokens"] > 0


def test_a_follow_up_on_another_replica_through_redis(tmp_path, redis_url):
    from stockagent.agent.redis_saver import RedisSaver

    settings = Settings(max_tokens=MAX_TOKENS, llm_timeout=120)
    chat = llm.select(settings, threads=1)
    first = run(chat, tmp_path / "a", settings, thread_id="shared-turns", redis_url=redis_url)
    assert_structure(first, "llama-cpp")
    runner._compiled.pop(redis_url, None)  # the other replica compiles its own graph on a new connection
    started = time.perf_counter()
    second = run(chat, tmp_path / "b", settings, thread_id="shared-turns", redis_url=redis_url, question="Why?")
    print(f"follow-up on the other replica: {time.perf_counter() - started:.1f}s")
    assert [n["node"] for n in second["nodes"]] == ["prepare", "answer"]  # the report came from the thread
    assert second["final_report"] == first["final_report"]
    # answered: shown once it passed the fields' checks, else left out with a note saying why
    assert second["answer"].strip() or [n for n in second["left_out"] if n.startswith("answer: ")], second["left_out"]
    assert len(list(RedisSaver.from_url(redis_url).list({"configurable": {"thread_id": "shared-turns"}}))) == 2


READERS_TICKERS = [("MSFT", 420.5, 6.0), ("KO", 61.2, -9.0), ("^GSPC", 5021.84, 0.5)]
MODEL_TEXT = re.compile(re.escape(report.MODEL_HEADING) + r"\n(.*?)\nMarket Stance:", re.S)


def test_reports_from_the_default_model_show_only_checked_text(tmp_path):
    """What reaches the reader from the real default model: no marker, no repeated sentence, and no
    number the facts lack, on several tickers; the schema makes stance and confidence parse."""
    settings = Settings(max_tokens=MAX_TOKENS, llm_timeout=120)
    chat = llm.select(settings, threads=1)
    started = time.perf_counter()
    for ticker, close, move in READERS_TICKERS:
        prediction = make_prediction(ticker, last_close=close, move_63_pct=move)
        headlines = [{**h, "title": h["title"].replace("Test Corp", ticker)} for h in HEADLINES]
        out = runner.analyze(
            ticker=ticker,
            prediction=prediction,
            headlines=headlines,
            news_source="yahoo",
            chat=chat,
            settings=settings,
            data_dir=tmp_path,
        )
        assert_structure(out, "llama-cpp")
        assert out["parse_status"] == "ok", out["parse_status"]  # the grammar gave a stance and a confidence
        text = out["final_report"]
        written = MODEL_TEXT.search(text)
        assert written, text
        shown = [
            line.removeprefix("- ")
            for line in written.group(1).splitlines()
            if line.strip() and not line.startswith(("_", "- Tone of the headlines:"))
        ]
        print(f"{ticker}: {len(shown)} model lines shown, left out: {out['left_out']}")
        for line in shown:
            assert not re.search(r"<<<|>>>|_NOTE|FACTS|HEADLINES|DRAFT|quoted data", line), line
        sentences = [s.strip(" .").lower() for line in shown for s in re.split(r"[.!?]\s", line) if s.strip(" .")]
        assert len(sentences) == len(set(sentences)), shown
        known = fields.known_numbers(tools.forecast_facts(prediction), headlines)
        for line in shown:
            for n in re.findall(r"\d[\d,]*(?:\.\d+)?", line.replace("\\", "")):
                value, places = float(n.replace(",", "")), len(n.partition(".")[2])
                assert any(round(k, places) == value or abs(k - value) < 0.5 * 10**-places for k in known), (n, line)
    print(f"{len(READERS_TICKERS)} reports in {time.perf_counter() - started:.1f}s")
