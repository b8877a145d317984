"""The persistent worker process (python -m stockagent.worker), driven over its pipes as Go drives it."""

import io
import json
import struct
import subprocess
import sys

import pytest

from stockagent import worker


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(kind) + len(payload)) + kind + payload


def call_frame(fn: str, req: dict | bytes | None = None) -> bytes:
    body = req if isinstance(req, bytes) else json.dumps(req or {}).encode()
    return frame(worker.CALL, fn.encode() + b"\0" + body)


class Worker:
    """A worker process with helpers to call it and read its answers."""

    def __init__(self, *modules: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stockagent.worker", "--log-level", "20", *modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def read(self) -> tuple[bytes, bytes]:
        body = worker.read_frame(self.proc.stdout)
        assert body is not None, "the worker closed its output"
        return body[:1], body[1:]

    def call(self, fn: str, req=None) -> tuple[bytes, bytes]:
        self.proc.stdin.write(call_frame(fn, req))
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> tuple[int, str]:
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        stderr = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code, stderr


@pytest.fixture
def diag_worker():
    w = Worker("stockagent.diagnostics")
    yield w
    if w.proc.poll() is None:
        w.proc.kill()
        w.proc.wait()


def test_ready_then_calls_then_clean_exit(diag_worker):
    kind, ready = diag_worker.read()
    info = json.loads(ready)
    assert kind == worker.READY and info["pid"] == diag_worker.proc.pid
    assert set(info["imports"]) == {"stockagent.diagnostics"}

    assert diag_worker.call("stockagent.diagnostics:echo", b"\x00raw\xffbytes") == (worker.OK, b"\x00raw\xffbytes")
    kind, out = diag_worker.call("stockagent.diagnostics:echo_json", {"ticker": "AAPL", "n": [1, 2]})
    assert kind == worker.OK and json.loads(out) == {"ticker": "AAPL", "n": [1, 2]}
    # Prints go to stderr: the frames on stdout stay intact.
    kind, out = diag_worker.call("stockagent.diagnostics:printing", {"stdout": "stray line", "stderr": "err line"})
    assert (kind, json.loads(out)) == (worker.OK, {})

    code, stderr = diag_worker.close()
    assert code == 0 and "stray line" in stderr and "err line" in stderr


@pytest.mark.parametrize(
    "fn, req, want_type, want_message",
    [
        (
            "stockagent.diagnostics:fail",
            {"kind": "NotFound", "message": "no such thing"},
            "stockagent.errors.NotFound",
            "no such thing",
        ),
        ("stockagent.diagnostics:fail", {"message": "plain"}, "ValueError", "plain"),
        ("stockagent.diagnostics:echo_json", b"{oops", "stockagent.errors.BadRequest", "request is not valid JSON"),
        ("stockagent.diagnostics:not_bytes", {}, "TypeError", "function returned str, expected bytes"),
        ("stockagent.nowhere:f", {}, "ModuleNotFoundError", "stockagent.nowhere"),
        ("stockagent.diagnostics:nowhere", {}, "AttributeError", "nowhere"),
        ("stockagent.diagnostics", {}, "ValueError", "module:function"),
    ],
)
def test_errors_come_back_typed_and_the_worker_lives_on(diag_worker, fn, req, want_type, want_message):
    assert diag_worker.read()[0] == worker.READY
    kind, out = diag_worker.call(fn, req)
    err = json.loads(out)
    assert kind == worker.ERROR and err["type"] == want_type and want_message in err["message"]
    assert err["traceback"].startswith("Traceback") or "Error" in err["traceback"]
    assert diag_worker.call("stockagent.diagnostics:echo", b"still here") == (worker.OK, b"still here")


def test_failed_import_is_reported_before_ready():
    w = Worker("stockagent.nowhere")
    kind, out = w.read()
    code, _ = w.close()
    assert kind == worker.ERROR and json.loads(out)["type"] == "ModuleNotFoundError" and code == 1


def test_frames_round_trip_and_refuse_truncation():
    buf = io.BytesIO(frame(worker.OK, b"abc") + frame(worker.READY))
    assert worker.read_frame(buf) == b"oabc"
    assert worker.read_frame(buf) == b"r"
    assert worker.read_frame(buf) is None
    with pytest.raises(EOFError):
        worker.read_frame(io.BytesIO(frame(worker.OK, b"abc")[:-1]))
    with pytest.raises(ValueError, match="longer than"):
        worker.read_frame(io.BytesIO(struct.pack(">I", worker.MAX_FRAME + 1)))


def test_entry_functions_answer_as_in_process(tmp_path, load_env):
    """The benchmark workloads through a worker equal the in-process answers."""
    from stockagent import diagnostics

    load_env(DATA_DIR=tmp_path, DATA_SOURCE="bundled")
    w = Worker("stockagent.diagnostics")
    assert w.read()[0] == worker.READY
    assert w.call("stockagent.diagnostics:noop") == (worker.OK, b"{}")
    kind, out = w.call("stockagent.diagnostics:features", {"ticker": "aapl"})
    assert w.close()[0] == 0
    local = diagnostics.features(json.dumps({"ticker": "AAPL"}).encode())
    assert kind == worker.OK and out == local
