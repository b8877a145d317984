"""The analyst's entry points: the report, news, embeddings and the state of the LLM and the
embedding model.

| function | answer |
|---|---|
| ``analyze`` | the analyst's report (agent/runner.py) |
| ``news`` | ``{ticker, source, headlines: [{title, publisher, url, published}], detail}`` |
| ``embed`` | ``{vectors, dim, model}`` (L2-normalized) |
| ``llm_status`` | ``{available, provider, model, detail}`` (cheap: loads nothing) |
| ``embed_status`` | ``{available, model, dim, loaded, detail}`` (cheap) |

The agent, the LLM and the embedding model are imported by the first call that needs them, so a
missing or broken optional part never fails the forecasting functions.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic

from .. import errors, settings
from ..contract.models import Request, Response, Symbol
from ..contract.registry import entry

_MAX_HEADLINES = 50
_MAX_QUESTION_CHARS = 2000
_MAX_THREAD_ID_CHARS = 200


class Headline(Request):
    title: str = pydantic.Field(min_length=1)
    publisher: str | None = None
    url: str | None = None
    published: str | None = None


class AnalyzeRequest(Request):
    ticker: Symbol
    prediction: dict[str, Any]
    """The forecast the report is about, as predict answers it."""
    headlines: list[Headline] | None = pydantic.Field(None, max_length=_MAX_HEADLINES)
    news_source: Literal["finnhub", "yahoo", "none"] | None = None
    """Unset: \"none\" without headlines."""
    drift: dict[str, Any] | None = None
    """The model's latest drift report, as drift_latest answers it; unset: no drift check yet."""
    thread_id: str | None = None
    """A conversation to continue (at most 200 characters)."""
    question: str | None = None
    """A follow-up question (at most 2000 characters)."""


def _optional_str(name: str, value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise errors.BadRequest(f"{name} is longer than {limit} characters")
    return value or None


@entry(lane="agent", request=AnalyzeRequest, raises=(errors.Unavailable,))
def analyze(req: AnalyzeRequest) -> dict[str, Any]:
    """The analyst's report on a forecast Go passes in (sends progress events).

    It never fetches the forecast or the news itself. With no LLM configured it raises
    Unavailable; an LLM call that times out raises Unavailable too (nothing to cache).
    """
    from ..agent import tools as agent_tools

    try:
        agent_tools.forecast_facts(req.prediction)
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.BadRequest(f"prediction is not a forecast: {exc}") from None
    try:
        agent_tools.drift_facts(req.drift)
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.BadRequest(f"drift is not a drift report: {exc}") from None
    headlines = [{k: v or "" for k, v in h.model_dump().items()} for h in req.headlines or []]
    news_source = req.news_source or ("none" if not headlines else None)
    if news_source is None:
        raise errors.BadRequest("news_source must be one of finnhub, yahoo, none when headlines are given")
    thread_id = _optional_str("thread_id", req.thread_id, _MAX_THREAD_ID_CHARS)
    question = _optional_str("question", req.question, _MAX_QUESTION_CHARS)

    from .. import llm
    from ..agent import runner

    s = settings.load()
    chat = llm.select(s, threads=_thread_budget())
    if question:
        tokens, limit = chat.count_tokens(question), s.question_limit()
        if tokens > limit:
            raise errors.InvalidParameter(
                f"question is {tokens} tokens long ({chat.counted_by}); the limit is {limit} tokens "
                f"(AGENT_MAX_QUESTION_TOKENS, at most a third of LLM_CTX={s.llm_ctx} less the answer)"
            )
    return runner.analyze(
        ticker=req.ticker,
        prediction=req.prediction,
        headlines=headlines,
        news_source=news_source,
        chat=chat,
        settings=s,
        data_dir=s.data_dir,
        drift=req.drift,
        redis_url=s.redis_url,
        thread_id=thread_id,
        question=question,
    )


def _thread_budget() -> int:
    """The CPU threads this worker may use (configure_thread sets it per worker thread)."""
    import torch

    return max(1, torch.get_num_threads())


class NewsRequest(Request):
    ticker: Symbol
    use_fmi: bool = True
    """False: skip Finnhub even with FMI_API_KEY set."""


@entry(lane="inference", request=NewsRequest)
def news(req: NewsRequest) -> dict[str, Any]:
    """Headlines for a ticker: Finnhub (FMI_API_KEY), then Yahoo Finance, else none (never raises
    for a network failure: the answer's source is "none" and ``detail`` says why)."""
    from ..agent import tools as agent_tools

    return agent_tools.fetch_news(req.ticker, settings.load(), use_fmi=req.use_fmi)


class EmbedRequest(Request):
    """Exactly one of ``text`` and ``texts``."""

    text: str | None = None
    texts: list[str] | None = None


class EmbedResponse(Response):
    vectors: list[list[float]]
    """One per text, L2-normalized."""
    dim: int
    model: str


@entry(lane="inference", request=EmbedRequest, response=EmbedResponse, raises=(errors.Unavailable,))
def embed(req: EmbedRequest) -> EmbedResponse:
    """Normalized sentence embeddings of ``text`` or ``texts``."""
    if (req.text is None) == (req.texts is None):
        raise errors.BadRequest("give exactly one of 'text' or 'texts'")
    from ..llm import embeddings

    texts = [req.text] if req.text is not None else req.texts or []
    if not texts:
        raise errors.BadRequest("'texts' is empty")
    if len(texts) > embeddings.MAX_TEXTS:
        raise errors.BadRequest(f"at most {embeddings.MAX_TEXTS} texts per call, got {len(texts)}")
    vectors = embeddings.embed(texts, device=settings.load().torch_device())
    return EmbedResponse(vectors=vectors, dim=embeddings.dim(), model=embeddings.MODEL_NAME)


@entry(lane="inference")
def llm_status() -> dict[str, Any]:
    """Which LLM the analyst would use and whether it looks usable (loads nothing, calls nothing)."""
    from .. import llm

    return llm.status(settings.load())


@entry(lane="inference")
def embed_status() -> dict[str, Any]:
    """Whether the embedding model is installed, its dimension and whether it is loaded (cheap)."""
    from ..llm import embeddings

    return embeddings.status()
