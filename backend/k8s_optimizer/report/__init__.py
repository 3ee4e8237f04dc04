"""`k8s-optimizer report`: the recommendation report fetched from a running backend."""
