"""Exceptions that cross the bridge.

The class names are the contract with the Go HTTP layer: it maps the qualified
name of the exception (``stockagent.errors.NotFound``) to a status code. Any
other exception is an internal error (500) whose traceback goes to the log only.
"""


class StockAgentError(Exception):
    """Base of every error the HTTP layer knows how to answer."""


class BadRequest(StockAgentError):
    """The request cannot be read: malformed JSON, a missing field, an invalid ticker (400)."""


class InvalidParameter(StockAgentError):
    """The request is well formed but a value is out of range (422)."""


class NotFound(StockAgentError):
    """The ticker, model or record does not exist (404)."""


class ModelMissing(StockAgentError):
    """No trained model serves this ticker yet; the caller may start training (202)."""


class Conflict(StockAgentError):
    """The operation clashes with the current state, e.g. a training already running (409)."""


class Unavailable(StockAgentError):
    """A dependency (data source, LLM, store) is down (503)."""


class Cancelled(StockAgentError):
    """The caller cancelled the call or its deadline passed; raised at a safe point."""
