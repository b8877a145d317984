"""The functions the Go server calls, one module per domain: forecast, agent, monitoring, system
(the benchmark workloads live beside their harness, in stockagent.diagnostics). Each is declared in
the contract registry (stockagent/contract/registry.py), which says its lane, request, answer and
errors; the HTTP layer maps the error kinds to statuses (stockagent/errors.py)."""
