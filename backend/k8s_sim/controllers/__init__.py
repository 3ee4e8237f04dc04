"""The embedded cluster's control loops: what kube-scheduler, kube-controller-manager and the kubelets do.

Each controller keeps dirty sets keyed by object (filled by store listeners, which only schedule work) and
a `run(now_seconds)` step that reconciles what is dirty or due and returns whether it wrote anything. The
EmbeddedCluster (sim/cluster.py) calls them in simulated time, so they never sleep themselves.
"""
