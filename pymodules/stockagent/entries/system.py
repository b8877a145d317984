"""The entry points the server calls to set Python up: once after start-up (``attach``,
``configure``) and once per worker thread (``configure_thread``)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Literal

import pydantic

from .. import errors, runtime, settings
from ..contract.models import Request, Response
from ..contract.registry import entry


class AttachRequest(Request):
    log_level: int = logging.INFO
    """Python's level for the root logger."""


class AttachResponse(Response):
    python: str
    """Python's sys.version."""
    executable: str
    prefix: str
    pid: int


@entry(lane="inference", request=AttachRequest, response=AttachResponse, raises=(errors.Unavailable,))
def attach(req: AttachRequest) -> AttachResponse:
    """Route ``logging`` and stdout/stderr to the host's logger (the bridge's Setup)."""
    return AttachResponse(**runtime.attach_host(req.log_level))


class ThreadsRequest(Request):
    threads: int = pydantic.Field(1, ge=1)


class ThreadsResponse(Response):
    threads: int
    """Torch's intra-op threads on this thread now."""


@entry(lane="inference", request=ThreadsRequest, response=ThreadsResponse)
def configure_thread(req: ThreadsRequest) -> ThreadsResponse:
    """Cap the intra-op threads torch uses for calls made from this worker thread (the bridge's
    ThreadSetup). OpenMP keeps the thread count per calling thread, so each worker sets its own
    budget and the lanes together never oversubscribe the cores."""
    import torch

    torch.set_num_threads(req.threads)
    return ThreadsResponse(threads=torch.get_num_threads())


class Configuration(Request):
    """The settings the server owns; Python takes the others from its environment (settings.py)."""

    data_dir: str = pydantic.Field(min_length=1)
    """Absolute: models, prices and reports live here."""
    models_dir: str | None = pydantic.Field(None, min_length=1)
    """Absolute: the model folder replicas share; unset: ``models`` inside ``data_dir``."""
    data_source: Literal["auto", "bundled", "yahoo"] | None = None
    """Where prices come from; unset: the environment's DATA_SOURCE (settings.py)."""
    redis_url: str | None = pydantic.Field(None, min_length=1)
    """The server's REDIS_URL: the analyst's checkpoints live there; unset: SQLite in ``data_dir``."""
    llm_base_url: str | None = pydantic.Field(None, min_length=1)
    """The server's LLM_BASE_URL (or its old name); unset: the environment's (agent/context.py)."""
    fmi_api_key: str | None = pydantic.Field(None, min_length=1)
    """The server's Finnhub key (FMI_API_KEY or FINNHUB_API_KEY); unset: the environment's."""


class Configured(Response):
    data_dir: str
    """As Python resolved it."""
    models_dir: str
    data_source: str


@entry(lane="inference", request=Configuration, response=Configured)
def configure(req: Configuration) -> Configured:
    """Make the server's configuration Python's settings; called once, right after ``attach``."""
    try:
        given: dict[str, Any] = {"data_dir": Path(req.data_dir)}
        if req.models_dir is not None:
            given["models_root"] = Path(req.models_dir)
        if req.data_source is not None:
            given["data_source"] = req.data_source
        for name in ("redis_url", "llm_base_url", "fmi_api_key"):
            if (value := getattr(req, name)) is not None:
                given[name] = value
        s = dataclasses.replace(settings.Settings.from_env(), **given)
    except ValueError as exc:
        raise errors.InvalidParameter(str(exc)) from None
    settings.configure(s)
    return Configured(data_dir=str(s.data_dir), models_dir=str(s.models_dir), data_source=s.data_source)
