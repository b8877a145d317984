"""The command line: the old commands and flags, the HTTP server's bodies for the same requests
(pinned against the API's own description, server/httpapi/openapi.json), and training progress
as a status line on a terminal or JSON lines through a pipe."""

import json
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from agent_fakes import BEARISH_REPORT, NEWS, PERFORMANCE

from stockagent import bodies, cli, llm, progressbar
from stockagent.entries import forecast, monitoring

SPEC = json.loads((Path(__file__).parents[2] / "server/httpapi/openapi.json").read_text())["components"]["schemas"]


def assert_schema_keys(doc, schema, where, closed=True):
    """Every key the spec requires is there and, where the body is built here (``closed``), every
    key is one the spec names (documents Python answers pass through with more keys)."""
    keys, props = set(doc), set(SPEC[schema]["properties"])
    assert set(SPEC[schema].get("required", [])) <= keys, f"{where}: missing {set(SPEC[schema]['required']) - keys}"
    assert not closed or keys <= props, f"{where}: keys the HTTP body does not have: {keys - props}"


@pytest.mark.parametrize(
    "argv, fn, req",
    [
        (["predict-parent"], None, {}),
        (["predict-child", "--ticker", "AAPL"], bodies.predict, {"ticker": "AAPL"}),
        (
            ["analyze", "--ticker", "AAPL", "--thread-id", "t1", "--no-use-fmi", "--question", "Why?"],
            bodies.analyze,
            {"ticker": "AAPL", "thread_id": "t1", "use_fmi": False, "question": "Why?"},
        ),
        (["analyze", "--ticker", "AAPL", "--use-fmi"], bodies.analyze, {"ticker": "AAPL", "use_fmi": True}),
        (["monitor-parent"], None, {}),
        (["monitor-ticker", "--ticker", "AAPL"], bodies.monitor, {"ticker": "AAPL"}),
        (
            ["train-parent", "--epochs", "2", "--start-date", "2016-01-01", "--learning-rate", "0.01"],
            forecast.train,
            {"ticker": "parent", "epochs": 2, "start_date": "2016-01-01", "learning_rate": 0.01},
        ),
        (
            ["train-child", "--ticker", "AAPL", "--epochs", "1", "--strategy", "fine_tune", "--end-date", "2024-06-28"],
            forecast.train,
            {"ticker": "AAPL", "epochs": 1, "strategy": "fine_tune", "end_date": "2024-06-28"},
        ),
    ],
)
def test_old_commands_take_their_old_flags(argv, fn, req):
    got_fn, got_req = cli._request(cli._parser().parse_args(argv))
    assert got_req == req
    if fn is not None:
        assert fn in (got_fn, getattr(got_fn, "__wrapped__", None))


def test_a_bad_command_line_answers_json(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["monitor-ticker"])
    assert exit_.value.code == 2 and "--ticker" in json.loads(capsys.readouterr().out)["detail"]


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_predict_prints_the_http_body(entry_env, capsys):
    code, out = run_cli(capsys, "predict-parent")
    assert code == 0 and set(out) == {"result"}
    assert out == {"result": json.loads(forecast.predict(b'{"ticker": "parent"}'))}
    assert len(out["result"]["predictions"]["full_forecast"]) == 63
    code, out = run_cli(capsys, "predict-child", "--ticker", "AAPL")
    assert code == 1 and out["error"] == "ModelMissing"


@pytest.fixture
def analyst(entry_env, load_env, monkeypatch):
    """The parent's data folder, no news, and a scripted model in place of the LLM."""
    s = load_env(NEWS_SOURCE="none", LLM_BASE_URL=None, LLM_PROVIDER=None, FMI_API_KEY=None)
    chat = llm.ScriptedChat(
        {"performance_analyst": PERFORMANCE, "news_analyst": NEWS, "writer": BEARISH_REPORT, "answer": "Because."}
    )
    monkeypatch.setattr(llm, "select", lambda ctx, threads=None: chat)
    return s


def test_monitor_and_analyze_print_the_http_bodies(analyst, capsys):
    # No stored report yet: monitoring runs one analysis first, as the server does.
    code, mon = run_cli(capsys, "monitor-parent")
    assert code == 0, mon
    assert_schema_keys(mon, "MonitorAnswer", "monitor")
    assert mon["ticker"] == "parent" and mon["type"] == "parent"
    assert mon["links"] == {"get_drift_json": "/monitor/parent/drift", "get_eval_json": "/monitor/parent/eval"}
    # The server passes the stored reports through, adding what its policy decided.
    assert_schema_keys(mon["drift"], "DriftReport", "drift", closed=False)
    stored_drift = json.loads(monitoring.drift_latest(b'{"ticker": "parent"}'))
    assert set(mon["drift"]) == set(stored_drift) | {"computed_health", "policy"}
    assert mon["drift"]["health"] == mon["drift"]["computed_health"] and set(mon["drift"]["policy"]) >= {"file", "rule"}
    assert_schema_keys(mon["agent_eval"], "AgentEval", "agent_eval", closed=False)
    metrics = mon["agent_eval"]["metrics"]
    stored_eval = json.loads(monitoring.eval_latest(b'{"ticker": "parent"}'))
    assert set(mon["agent_eval"]) == set(stored_eval)
    assert set(metrics) == set(stored_eval["metrics"]) | {"computed_status"}
    assert set(SPEC["AgentEval"]["properties"]["metrics"]["required"]) <= set(metrics)
    assert metrics["checks"] and all(isinstance(v, bool) for v in metrics["checks"].values())
    assert metrics["status"] in ("Trustworthy", "Questionable") and metrics["computed_status"] == metrics["status"]
    stored = json.loads((analyst.data_dir / "reports" / "GSPC.json").read_text())
    assert "thread_id" not in stored and stored["ticker"] == "^GSPC"

    checks = len(json.loads(monitoring.drift_history(b'{"ticker": "parent"}'))["history"])
    code, out = run_cli(capsys, "analyze", "--ticker", "parent", "--no-use-fmi")
    assert code == 0, out
    assert len(json.loads(monitoring.drift_history(b'{"ticker": "parent"}'))["history"]) == checks  # none run
    assert_schema_keys(out, "AnalyzeAnswer", "analyze")
    assert_schema_keys(out["predictions"], "AnalysisForecast", "predictions", closed=False)
    assert len(out["predictions"]["full_forecast"]) == 63 and out["predictions"]["history"]
    assert out["last_price"] == out["predictions"]["history"][-1]["close"]
    assert out["recommendation"] == "BEARISH" and out["cached"] is False and out["thread_id"]
    assert out["news"] == {"ticker": "^GSPC", "source": "none", "headlines": [], "detail": "NEWS_SOURCE=none"}
    assert (
        f"**Drift** of the model's inputs over the last {stored_drift['current']['rows']} trading days"
        in (out["final_report"])
        and f"**{stored_drift['health']}**" in out["final_report"]
    )  # the stored drift check, as the server passes it
    thread = out["thread_id"]
    code, follow = run_cli(capsys, "analyze", "--ticker", "^GSPC", "--thread-id", thread, "--question", "Why?")
    assert code == 0 and follow["thread_id"] == thread and follow["answer"] == "Because."

    code, out = run_cli(capsys, "monitor-ticker", "--ticker", "AAPL")
    assert code == 1 and out["error"] == "NotFound"  # no AAPL model: a 404 on the server
    code, out = run_cli(capsys, "analyze", "--ticker", "parent", "--thread-id", "t" * 129)
    assert code == 1 and out == {"detail": "thread_id is longer than 128 characters", "error": "InvalidParameter"}


def test_monitor_without_an_llm_says_why_there_is_no_evaluation(entry_env, load_env, capsys):
    load_env(NEWS_SOURCE="none", LLM_BASE_URL=None, LLM_PROVIDER="none")
    code, mon = run_cli(capsys, "monitor-ticker", "--ticker", "parent")
    assert code == 0, mon
    assert mon["drift"]["ticker"] == "parent" and mon["agent_eval"]["status"] == "unavailable"
    assert "LLM_PROVIDER=none" in mon["agent_eval"]["detail"]


def test_the_status_line_redraws_in_place_and_logs_print_above_it():
    class Term:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    term, now = Term(), [0.0]
    line = progressbar.Line(term, clock=lambda: now[0])
    now[0] = 75
    line.event({"stage": "epoch", "epoch": 1, "epochs": 4, "train_loss": 0.5, "val_loss": 0.25, "best_val_loss": 0.25})
    assert term.text == progressbar.CLEAR + "epoch 1/4 [#####---------------] train 0.5 val 0.25 best 0.25 1:15"
    with line.above():
        term.write("a log record\n")
    redrawn = progressbar.CLEAR + "a log record\n" + progressbar.CLEAR + "epoch 1/4 [#####"
    assert redrawn in term.text and term.text.count("epoch 1/4") == 2
    line.event({"stage": "saved", "version": "v1"})
    assert term.text.endswith("saved: version=v1 1:15\n")
    line.close()
    assert term.text.endswith("1:15\n")  # nothing left to end


def _env(data_dir):
    return {**os.environ, "DATA_DIR": str(data_dir), "DATA_SOURCE": "bundled", "MLFLOW_DISABLE": "1"}


TRAIN = ["train-child", "--ticker", "AAPL", "--epochs", "2", "--start-date", "2016-01-01", "--strategy", "freeze"]


def test_training_on_a_terminal_draws_epochs_and_losses(with_parent):
    leader, follower = pty.openpty()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockagent.cli", *TRAIN],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=_env(with_parent.data_dir),
    )
    os.close(follower)
    chunks = []

    def read():
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the process closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(timeout=30)
    os.close(leader)
    print(f"training on a terminal took {time.monotonic() - t0:.1f} s")
    term = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, term[-2000:]
    assert json.loads(out)["epochs_run"] == 2  # stdout holds only the answer
    assert "\r\x1b[Kepoch 1/2 [##########----------] train " in term
    assert "\r\x1b[Kepoch 2/2 [####################] train " in term and " val " in term
    assert '{"stage"' not in term  # no JSON lines on a terminal


def test_training_through_a_pipe_writes_json_lines(with_parent):
    run = subprocess.run(
        [sys.executable, "-m", "stockagent.cli", *TRAIN[:3], "--epochs", "1", "--start-date", "2016-01-01"],
        capture_output=True,
        text=True,
        env=_env(with_parent.data_dir),
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    events = [json.loads(x) for x in run.stderr.splitlines() if x.startswith("{")]
    epochs = [e for e in events if e.get("stage") == "epoch"]
    assert [e["epoch"] for e in epochs] == [1] and {"train_loss", "val_loss"} <= set(epochs[0])
    assert events[-1]["stage"] == "saved" and "\x1b[K" not in run.stderr
    assert json.loads(run.stdout)["version"] == events[-1]["version"]
