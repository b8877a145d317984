"""The analyst: a LangGraph agent that turns a forecast and news headlines into a report.

Layout after langchain-ai/react-agent: ``state`` (input and shared state), ``context`` (run
settings from the environment), ``prompts``, ``tools`` (forecast facts and news), ``graph`` (nodes,
routing, the compiled graph), plus ``fields`` (the model's schema-bound fields and their checks),
``report`` (the data rendered by code, the critic's checks) and ``runner`` (one call: checkpoints,
threads, cancellation). The entry module's ``analyze``, ``news`` and ``llm_status`` functions are
the way in.
"""
