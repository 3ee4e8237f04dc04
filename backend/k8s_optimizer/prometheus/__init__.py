"""Prometheus as a history source: weeks of cAdvisor and kube-state-metrics history on first start.

`client` speaks the HTTP API (auth, TLS, retries, errors that name the setting to fix), `queries`
builds the PromQL, `source` turns answers into the same `WorkloadHistory` values the SQLite store
hands the pure core, behind the one history reader seam (`api/ports.py`).
"""
