"""Finding 07 (context overflow): every prompt fits the model's context, news and the thread's
history are shortened first, and a question too long in the model's tokens is refused (422)."""

import json

import pytest
from agent_fakes import BEARISH_REPORT, NEWS, PERFORMANCE, make_prediction

from stockagent import errors
from stockagent.agent import budget, runner
from stockagent.entries import agent as entries
from stockagent.llm import ScriptedChat
from stockagent.llm.chat import estimate_tokens
from stockagent.settings import Settings

N_CTX = 1100  # the shared facts prefix (about 600 estimated tokens) and a little room for each node
LONG_HEADLINES = [
    {"title": f"Headline {i}: " + "Ünïcödé ñews " * 14, "publisher": "Wire", "url": "", "published": ""}
    for i in range(50)
]


def small_model(**script):
    return ScriptedChat(
        {
            "performance_analyst": PERFORMANCE,
            "news_analyst": NEWS,
            "writer": BEARISH_REPORT,
            "answer": "Because the model expects a fall.",
            **script,
        },
        n_ctx=N_CTX,
    )


def analyze(chat, tmp_path, **kw):
    return runner.analyze(
        ticker="TEST",
        prediction=make_prediction(),
        headlines=kw.pop("headlines", LONG_HEADLINES),
        news_source="yahoo",
        chat=chat,
        settings=Settings(llm_ctx=N_CTX),
        data_dir=tmp_path,
        **kw,
    )


def assert_every_prompt_fits(chat):
    assert chat.calls, "no LLM call was made"
    for c in chat.calls:
        used = sum(estimate_tokens(m["content"]) for m in c.messages) + c.max_tokens + budget.TEMPLATE_TOKENS
        assert used <= N_CTX, f"{c.node}: {used} tokens for a {N_CTX}-token context"


def test_finding07_prompts_trimmed_to_the_context(tmp_path):
    chat = small_model()
    out = analyze(chat, tmp_path, thread_id="t")
    assert out["final_report"]
    assert_every_prompt_fits(chat)
    news_prompt = chat.prompts("news_analyst")[0].text
    assert "Headline 0:" in news_prompt and "Headline 49:" not in news_prompt  # the newest kept
    assert news_prompt.rstrip().endswith("HEADLINES>>>") or "HEADLINES>>>" in news_prompt  # still delimited

    # A long thread, then a question near the limit: the history is shortened, the question kept whole.
    for i in range(6):
        analyze(
            small_model(answer=f"Answer {i}: " + "details " * 60), tmp_path, thread_id="t", question=f"Question {i}?"
        )
    last = small_model()
    question = "Почему прогноз падает и что может его изменить? " * 3
    out = analyze(last, tmp_path, thread_id="t", question=question)
    assert out["answer"]
    assert_every_prompt_fits(last)
    prompt = last.prompts("answer")[0].text
    assert " ".join(question.split()) in prompt and budget.CUT.strip() in prompt


def test_finding07_fit_gives_the_answer_less_room_before_cutting_the_prompt():
    chat = ScriptedChat({}, n_ctx=400)
    user, max_tokens = budget.fit(chat, "system", lambda p: "fixed text " * 40 + p["news"], {"news": "n" * 2000}, 384)
    assert (
        max_tokens < 384
        and estimate_tokens("system") + estimate_tokens(user) + max_tokens + budget.TEMPLATE_TOKENS <= 400
    )


def test_finding07_a_question_too_long_in_tokens_is_refused(tmp_path, monkeypatch, load_env):
    from stockagent import llm

    load_env(DATA_DIR=tmp_path / "data")
    chat = small_model()
    monkeypatch.setattr(llm, "select", lambda ctx, threads=None: chat)
    question = "Что будет с ценой? " * 100  # 1,900 characters, far more tokens than 512
    req = {"ticker": "TEST", "prediction": make_prediction(), "question": question}
    with pytest.raises(errors.InvalidParameter, match=r"the limit is 512 tokens \(AGENT_MAX_QUESTION_TOKENS"):
        entries.analyze(json.dumps(req).encode())
    assert chat.calls == []  # refused before any LLM call
