"""stockagent: the Python side of the stock forecasting service.

Go embeds this package and calls the functions in :mod:`stockagent.entry`.
"""

__version__ = "0.1.0"
