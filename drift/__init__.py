"""The drift monitor: a V2-protocol sidecar that samples a model's traffic and exports drift scores to Prometheus.

Light to import on purpose: `config` and `score` (pydantic, math) are what rendering and the alert rules use; the
statistics (numpy) and the proxy (aiohttp) are imported only by the monitor itself (`mlinfra drift serve`).
"""
