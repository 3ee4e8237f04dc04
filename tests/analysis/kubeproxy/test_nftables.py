"""kube-proxy's nftables proxier test, transcribed: TestOverallNFTablesRules (baseRules + the six
Services), compared the way upstream compares (sortNFTablesTransaction: blank and # lines dropped,
lines ordered by object type, then object name, rules kept in their written order)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from k8s_optimizer.analysis.kubeproxy.model import ProxyConfig
from k8s_optimizer.analysis.kubeproxy.nftables import render
from tests.analysis.kubeproxy.test_iptables import _overall_services, _overall_slices
from tests.analysis.kubeproxy.upstream import NODE

EXPECTED = (Path(__file__).parent / "expected" / "overall.nft").read_text()
OBJECT_ORDER = {"table": 10, "chain": 9, "rule": 8, "set": 7, "map": 6, "element": 5}


def sort_transaction(text: str) -> list[str]:
    """Upstream's sortNFTablesTransaction, as a key function over (position, line)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]

    def key(indexed: tuple[int, str]) -> tuple[int, str, int, str]:
        index, line = indexed
        words = line.split(" ")
        return (-OBJECT_ORDER.get(words[1], 0), words[4], index if words[1] == "rule" else 0, line)

    return [line for _, line in sorted(enumerate(lines), key=key)]


def test_overall_nftables_rules_match_kube_proxy() -> None:
    # NewFakeProxier for nftables: pod CIDR 10.0.0.0/8, Service CIDR 172.30.0.0/16, node IP 192.168.0.2.
    transaction = render(
        _overall_services(), _overall_slices(), NODE, ProxyConfig(cluster_cidr="10.0.0.0/8"), ("172.30.0.0/16",)
    )
    assert sort_transaction(transaction.text()) == sort_transaction(EXPECTED)


@pytest.mark.skipif(
    not (shutil.which("nft") and shutil.which("unshare")), reason="needs nft and unshare -n (make system-deps)"
)
def test_the_transaction_loads_into_a_real_nftables(tmp_path: Path) -> None:
    transaction = render(
        _overall_services(), _overall_slices(), NODE, ProxyConfig(cluster_cidr="10.0.0.0/8"), ("172.30.0.0/16",)
    )
    script = tmp_path / "kube-proxy.nft"
    script.write_text(transaction.text())
    listing = subprocess.run(
        [
            "unshare",
            "-n",
            "sh",
            "-c",
            f"nft -f {script} && nft list chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "numgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80, " in listing
