"""The entry points the server calls to set Python up: once after start-up (``attach``,
``configure``) and once per worker thread (``configure_thread``)."""

from __future__ import annotations

import logging

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
    """Python's settings as the server read them: one mapping, no environment read on this path."""

    settings: dict[str, str]
    """Each set variable of settings.py's table and its value (old names resolved by the server;
    DATA_DIR and MODELS_DIR absolute); a variable left out keeps its default."""


class Configured(Response):
    data_dir: str
    """As Python resolved it."""
    models_dir: str
    data_source: str


@entry(lane="inference", request=Configuration, response=Configured)
def configure(req: Configuration) -> Configured:
    """Make the server's configuration Python's settings; called once, right after ``attach``."""
    try:
        s = settings.Settings.from_values(req.settings)
    except ValueError as exc:
        raise errors.InvalidParameter(str(exc)) from None
    settings.configure(s)
    return Configured(data_dir=str(s.data_dir), models_dir=str(s.models_dir), data_source=s.data_source)
