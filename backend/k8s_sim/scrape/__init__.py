"""What a Prometheus scrapes from the embedded cluster: kubelet cAdvisor and resource metrics, kube-state-metrics
and per-pod request counters, served live through the API server's proxy paths and written as backfill history.
"""
