"""Everything the scrape endpoints and the backfill writer read, built once per EmbeddedCluster."""

from __future__ import annotations

from k8s_sim.controllers.kubelet import Kubelet
from k8s_sim.load import LoadModel
from k8s_sim.scrape.counters import CounterBank
from k8s_sim.scrape.kubelet import KubeletMetrics
from k8s_sim.scrape.state import StateMetrics
from k8s_sim.scrape.traffic import TrafficMetrics
from k8s_sim.store import ObjectStore


class ScrapeSource:
    def __init__(self, store: ObjectStore, load: LoadModel, kubelet: Kubelet) -> None:
        self.store = store
        self.load = load
        self.bank = CounterBank(store, load, kubelet)
        self.kubelet = KubeletMetrics(store, load, self.bank)
        self.state = StateMetrics(store)
        self.traffic = TrafficMetrics(store, load, self.bank)
