"""k8s-service-optimizer: live service networking, usage and right-sizing for Kubernetes."""

__version__ = "0.1.0"
