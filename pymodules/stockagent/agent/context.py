"""Run settings of the analyst: one frozen dataclass whose fields fall back to environment variables.

Each field's metadata names its variable and says what it does; :meth:`Context.from_env` reads
them (an unset or empty variable keeps the default) and validates once. Library code takes a
``Context``; tests build their own. Inside the server, ``LLM_BASE_URL`` and ``FMI_API_KEY`` come from
the server's ``configure`` call instead (entries/agent.py), old names such as ``LLAMA_CPP_BASE_URL``
and ``FINNHUB_API_KEY`` resolved by the server.

| variable | default | meaning |
|---|---|---|
| ``LLM_PROVIDER`` | ``llama-cpp`` | ``llama-cpp`` (in-process), ``openai-compatible`` (needs ``LLM_BASE_URL``), ``none`` |
| ``LLM_BASE_URL`` | unset | an OpenAI-compatible server (``http://host:8080/v1``); when set it wins over ``LLM_PROVIDER`` |
| ``LLM_MODEL`` | ``default`` | the model name sent to that server |
| ``LLM_API_KEY`` | unset | its API key (local servers need none) |
| ``LLM_TIMEOUT`` | ``60`` | seconds one LLM call may take (per attempt for a server) |
| ``LLM_MAX_RETRIES`` | ``1`` | retries of a failed server call |
| ``LLM_GGUF`` | the packaged SmolLM2-135M-Instruct | a GGUF file for the in-process model |
| ``LLM_CTX`` | ``2048`` | the in-process model's context window (tokens) |
| ``LLM_THREADS`` | ``0`` = the calling worker's torch thread budget | CPU threads of the in-process model |
| ``LLM_TEMPERATURE`` | ``0.2`` | sampling temperature |
| ``AGENT_MAX_TOKENS`` | ``384`` | tokens one answer may have (bounds each in-process call) |
| ``AGENT_MAX_REVISIONS`` | ``1`` | times the critic may send a report back |
| ``AGENT_MAX_QUESTION_TOKENS`` | ``512`` | tokens a follow-up question may have (a 422 above; see :meth:`Context.question_limit`) |
| ``AGENT_LLM_CRITIQUE`` | ``false`` | also ask the LLM to critique (the deterministic checks always run) |
| ``AGENT_DIRECTION_BAND_PCT`` | ``1.0`` | a forecast move within ±this % counts as flat |
| ``NEWS_SOURCE`` | ``auto`` | ``auto`` (Finnhub with a key, then Yahoo), ``finnhub``, ``yahoo``, ``none`` |
| ``FMI_API_KEY`` | unset | Finnhub API key |
| ``NEWS_TIMEOUT`` | ``3`` | seconds per news request |
| ``NEWS_LIMIT`` | ``8`` | headlines kept per ticker |
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from ..llm.chat import PROVIDERS

NEWS_SOURCES = ("auto", "finnhub", "yahoo", "none")


def _env(name: str, description: str, **kw: Any) -> Any:
    return dataclasses.field(metadata={"env": name, "description": description}, **kw)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    llm_provider: str = _env("LLM_PROVIDER", "llama-cpp, openai-compatible or none", default="llama-cpp")
    llm_base_url: str = _env("LLM_BASE_URL", "OpenAI-compatible server URL; wins over LLM_PROVIDER", default="")
    llm_model: str = _env("LLM_MODEL", "model name sent to the server", default="")
    llm_api_key: str = _env("LLM_API_KEY", "API key of the server", default="")
    llm_timeout: float = _env("LLM_TIMEOUT", "seconds one LLM call may take", default=60.0)
    llm_max_retries: int = _env("LLM_MAX_RETRIES", "retries of a failed server call", default=1)
    llm_gguf: str = _env("LLM_GGUF", "GGUF file for the in-process model (default: packaged SmolLM2)", default="")
    llm_ctx: int = _env("LLM_CTX", "context window of the in-process model", default=2048)
    llm_threads: int = _env("LLM_THREADS", "CPU threads of the in-process model (0: the worker's budget)", default=0)
    temperature: float = _env("LLM_TEMPERATURE", "sampling temperature", default=0.2)
    max_tokens: int = _env("AGENT_MAX_TOKENS", "tokens one answer may have", default=384)
    max_revisions: int = _env("AGENT_MAX_REVISIONS", "times the critic may send a report back", default=1)
    max_question_tokens: int = _env("AGENT_MAX_QUESTION_TOKENS", "tokens a follow-up question may have", default=512)
    llm_critique: bool = _env("AGENT_LLM_CRITIQUE", "also ask the LLM to critique the report", default=False)
    direction_band_pct: float = _env("AGENT_DIRECTION_BAND_PCT", "moves within +-this % are flat", default=1.0)
    news_source: str = _env("NEWS_SOURCE", "auto, finnhub, yahoo or none", default="auto")
    fmi_api_key: str = _env("FMI_API_KEY", "Finnhub API key", default="")
    news_timeout: float = _env("NEWS_TIMEOUT", "seconds per news request", default=3.0)
    news_limit: int = _env("NEWS_LIMIT", "headlines kept per ticker", default=8)

    def __post_init__(self) -> None:
        checks = [
            (self.llm_provider in PROVIDERS, "llm_provider", f"one of {PROVIDERS}"),
            (self.news_source in NEWS_SOURCES, "news_source", f"one of {NEWS_SOURCES}"),
            (self.llm_timeout > 0, "llm_timeout", "> 0"),
            (0 <= self.llm_max_retries <= 10, "llm_max_retries", "0..10"),
            (256 <= self.llm_ctx <= 131072, "llm_ctx", "256..131072"),
            (0 <= self.llm_threads <= 256, "llm_threads", "0..256"),
            (0 <= self.temperature <= 2, "temperature", "0..2"),
            (16 <= self.max_tokens <= 8192, "max_tokens", "16..8192"),
            (0 <= self.max_revisions <= 5, "max_revisions", "0..5"),
            (16 <= self.max_question_tokens <= 32768, "max_question_tokens", "16..32768"),
            (0 <= self.direction_band_pct < 50, "direction_band_pct", "0..50"),
            (0 < self.news_timeout <= 60, "news_timeout", "0..60"),
            (1 <= self.news_limit <= 50, "news_limit", "1..50"),
        ]
        for ok, name, expected in checks:
            if not ok:
                var = self.__dataclass_fields__[name].metadata["env"]
                raise ValueError(f"setting {var}={getattr(self, name)!r} is invalid: expected {expected}")

    def question_limit(self) -> int:
        """The tokens a question may have: AGENT_MAX_QUESTION_TOKENS, and at most a third of what
        the context leaves beside the answer, so the thread's history and the facts still fit."""
        return max(16, min(self.max_question_tokens, (self.llm_ctx - self.max_tokens) // 3))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Context:
        """Settings from environment variables; an unset or empty variable keeps its default."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f.metadata["env"], "").strip()
            if not raw:
                continue
            kind: type = type(f.default)
            try:
                if kind is bool:
                    lowered = raw.lower()
                    if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                        raise ValueError(raw)
                    values[f.name] = lowered in ("1", "true", "yes", "on")
                elif kind is str:
                    values[f.name] = raw.lower() if f.name in ("llm_provider", "news_source") else raw
                else:
                    values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(
                    f"environment variable {f.metadata['env']}={raw!r} is not a valid {kind.__name__}"
                ) from None
        return cls(**values)
