"""The analyst's checkpoints in a real Redis: the saver's contract, a LangGraph graph whose
second turn sees the first from another replica's saver, and the analyst itself."""

import json
import operator
from typing import Annotated, TypedDict

import pytest
import redis
from agent_fakes import BEARISH_REPORT
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
from langgraph.graph import END, START, StateGraph
from test_agent_graph import analyze, script

from stockagent.agent import redis_saver, runner
from stockagent.agent.redis_saver import RedisSaver


@pytest.fixture
def client(redis_url):
    c = redis.Redis.from_url(redis_url)
    c.flushdb()
    yield c
    c.close()


def thread_keys(client, thread):
    return sorted(k.decode() for k in client.scan_iter(match=f"{redis_saver.PREFIX}:{thread}*"))


def put(saver, thread, parent=None, step=0, ns=""):
    cfg = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
    if parent:
        cfg["configurable"]["checkpoint_id"] = parent
    base = saver.get_tuple(cfg) if parent else None
    ckpt = create_checkpoint(base.checkpoint if base else empty_checkpoint(), None, step)
    ckpt["channel_values"] = {"step": step}
    return saver.put(cfg, ckpt, {"source": "loop", "step": step, "run": f"r{step % 2}"}, {})


def test_put_get_list_writes_delete_and_ttl(client):
    saver = RedisSaver(client)
    ids = []
    parent = None
    for step in range(4):
        cfg = put(saver, "t1", parent, step)
        parent = cfg["configurable"]["checkpoint_id"]
        ids.append(parent)
    put(saver, "t2")

    latest = saver.get_tuple({"configurable": {"thread_id": "t1"}})
    assert latest.config["configurable"]["checkpoint_id"] == ids[-1]
    assert latest.checkpoint["channel_values"] == {"step": 3}
    assert latest.metadata["step"] == 3 and latest.parent_config["configurable"]["checkpoint_id"] == ids[-2]
    first = saver.get_tuple({"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": ids[0]}})
    assert first.parent_config is None and first.checkpoint["channel_values"] == {"step": 0}
    assert saver.get_tuple({"configurable": {"thread_id": "nobody"}}) is None

    listed = [t.config["configurable"]["checkpoint_id"] for t in saver.list({"configurable": {"thread_id": "t1"}})]
    assert listed == ids[::-1]
    before = {"configurable": {"checkpoint_id": ids[2]}}
    got = saver.list({"configurable": {"thread_id": "t1"}}, before=before, limit=1)
    assert [t.config["configurable"]["checkpoint_id"] for t in got] == [ids[1]]
    odd = saver.list({"configurable": {"thread_id": "t1"}}, filter={"run": "r1"})
    assert [t.metadata["step"] for t in odd] == [3, 1]

    cfg = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": ids[-1]}}
    saver.put_writes(cfg, [("a", 1), ("b", "two")], task_id="task-b", task_path="~1")
    saver.put_writes(cfg, [("a", 10)], task_id="task-a", task_path="~0")
    saver.put_writes(cfg, [("a", 99)], task_id="task-a", task_path="~0")  # a repeat keeps the first
    pending = saver.get_tuple({"configurable": {"thread_id": "t1"}}).pending_writes
    assert pending == [("task-a", "a", 10), ("task-b", "a", 1), ("task-b", "b", "two")]
    assert (
        saver.get_tuple({**cfg, "configurable": {**cfg["configurable"], "checkpoint_id": ids[0]}}).pending_writes == []
    )

    keys = thread_keys(client, "t1")
    assert len(keys) == 4, keys  # namespace set, ids, checkpoints, writes
    for key in keys:
        ttl = client.ttl(key)
        assert 0 < ttl <= redis_saver.THREAD_TTL_S, (key, ttl)

    saver.delete_thread("t1")
    assert thread_keys(client, "t1") == []
    assert saver.get_tuple({"configurable": {"thread_id": "t1"}}) is None
    assert saver.get_tuple({"configurable": {"thread_id": "t2"}}) is not None


def test_every_write_renews_the_ttl(client):
    saver = RedisSaver(client, ttl_s=1000)
    cfg = put(saver, "t")
    for key in thread_keys(client, "t"):
        client.expire(key, 5)
    saver.put_writes(cfg, [("x", 1)], task_id="k")
    ttls = {key: client.ttl(key) for key in thread_keys(client, "t")}
    assert len(ttls) == 4 and all(900 < ttl <= 1000 for ttl in ttls.values()), ttls


class Turns(TypedDict):
    said: Annotated[list[str], operator.add]
    count: int


def _remember(state: Turns) -> dict:
    return {"count": len(state["said"])}


def small_graph(saver):
    g = StateGraph(Turns)
    g.add_node("remember", _remember)
    g.add_edge(START, "remember")
    g.add_edge("remember", END)
    return g.compile(checkpointer=saver)


def test_a_graph_thread_follows_to_another_replica(redis_url, client):
    cfg = {"configurable": {"thread_id": "conversation"}}
    one = small_graph(RedisSaver.from_url(redis_url))
    assert one.invoke({"said": ["hello"]}, cfg)["count"] == 1
    assert one.invoke({"said": ["again"]}, cfg) == {"said": ["hello", "again"], "count": 2}

    other = RedisSaver.from_url(redis_url)  # another replica: its own connection pool
    two = small_graph(other)
    assert two.invoke({"said": ["from two"]}, cfg) == {"said": ["hello", "again", "from two"], "count": 3}
    assert one.get_state(cfg).values["said"] == ["hello", "again", "from two"]
    steps = [t.metadata["step"] for t in other.list(cfg)]
    assert steps == sorted(steps, reverse=True) and len(steps) >= 6


def test_the_analyst_answers_a_follow_up_written_by_another_replica(tmp_path, redis_url, client):
    first = script(writer=BEARISH_REPORT.replace("Its error is slightly", "Watch the Zebra contract; its error is"))
    out1 = analyze(first, tmp_path / "replica-a", thread_id="shared", redis_url=redis_url)
    assert out1["thread_id"] == "shared"
    saver = RedisSaver.from_url(redis_url)
    assert saver.get_tuple({"configurable": {"thread_id": "shared"}}) is not None

    # Another replica: its own data folder (no SQLite history) and a new compiled graph.
    runner._compiled.pop(redis_url, None)
    second = script()
    out2 = analyze(second, tmp_path / "replica-b", thread_id="shared", question="Why bearish?", redis_url=redis_url)
    assert [n["node"] for n in out2["nodes"]] == ["prepare", "answer"]  # no new report: the thread had one
    assert out2["answer"] == "Because the model expects a fall."
    assert "Zebra" in second.prompts("answer")[0].text
    assert out2["final_report"] == out1["final_report"]
    assert not (tmp_path / "replica-b" / "agent" / "checkpoints.sqlite").exists()


def test_the_url_reaches_the_runner_and_its_password_no_log(tmp_path, redis_url, client, caplog):
    from stockagent import settings
    from stockagent.entries import system

    secret = redis_url.replace("redis://", "redis://:hunter2@")
    s = settings.Settings.from_env({"REDIS_URL": secret, "DATA_DIR": str(tmp_path)})
    assert s.redis_url == secret and "hunter2" not in repr(s)
    previous = settings._configured
    try:
        request = {"settings": {"DATA_DIR": str(tmp_path), "REDIS_URL": redis_url}}
        got = json.loads(system.configure(json.dumps(request).encode()))
        assert got["data_dir"] == str(tmp_path) and settings.load().redis_url == redis_url
    finally:
        settings.configure(previous)

    caplog.set_level("INFO", logger=runner.__name__)
    runner._compiled.pop(secret, None)
    runner.checkpointed_graph(tmp_path, secret)  # compiling does not connect
    runner._compiled.pop(secret, None)
    assert "checkpoints in Redis at redis://REDACTED@" in caplog.text and "hunter2" not in caplog.text


def test_an_unreachable_redis_is_unavailable_not_a_crash(tmp_path):
    from conftest import free_port

    from stockagent import errors

    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    runner._compiled.pop(url, None)
    try:
        with pytest.raises(errors.Unavailable, match="conversation store") as caught:
            analyze(script(), tmp_path, thread_id="t", redis_url=url)
    finally:
        runner._compiled.pop(url, None)
    assert "hunter2" not in str(caught.value)


def test_the_entry_keeps_its_thread_in_redis(tmp_path, redis_url, client, load_env, monkeypatch):
    from agent_fakes import make_prediction
    from test_agent_graph import call

    from stockagent import llm
    from stockagent.entries import agent as entries

    s = load_env(DATA_DIR=tmp_path / "data", REDIS_URL=redis_url, LLM_BASE_URL=None, LLM_PROVIDER=None)
    monkeypatch.setattr(llm, "select", lambda ctx, threads=None: script())
    out = call(entries.analyze, {"ticker": "TEST", "prediction": make_prediction(), "thread_id": "entry-thread"})
    assert RedisSaver(client).get_tuple({"configurable": {"thread_id": "entry-thread"}}) is not None
    assert out["thread_id"] == "entry-thread" and not runner.checkpoint_path(s.data_dir).exists()
