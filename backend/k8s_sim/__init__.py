"""The embedded cluster: a process that speaks the Kubernetes REST protocol to real clients."""
