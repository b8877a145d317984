"""stockagent: the Python side of the stock forecasting service.

Go embeds this package and calls the entry points declared in :mod:`stockagent.contract`
and implemented in :mod:`stockagent.entries` (one module per domain).
"""

__version__ = "0.1.0"
