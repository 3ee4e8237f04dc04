"""kube-proxy's view of the cluster, rendered from the API alone.

A user of kind can read a node's rules only through `docker exec`, a user of a managed cluster not at
all; these modules compute what kube-proxy programs on a node for the cluster's current Services and
EndpointSlices, with kube-proxy's own names and ordering, so the dashboard can show the DNAT hop's
evidence without access to the node.
"""
