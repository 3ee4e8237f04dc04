"""IPVS mode over the same six Services as the iptables/nftables tables; the ipsets are also loaded
into a real ipset (Debian's, in a private network namespace) to prove the text is valid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from k8s_optimizer.analysis.kubeproxy.ipvs import render
from tests.analysis.kubeproxy.test_iptables import _overall_services, _overall_slices
from tests.analysis.kubeproxy.upstream import FAKE_PROXIER, NODE


def test_virtual_servers_follow_the_traffic_policies() -> None:
    state = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER)
    assert state.ipvsadm() == (
        "IP Virtual Server version 1.2.1 (size=4096)\n"
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        "TCP  1.2.3.4:80 rr\n"  # svc2 LoadBalancer, Local policy, no endpoint on this node: no real server
        "TCP  5.6.7.8:80 rr persistent 10800\n"
        "  -> 10.180.0.3:80                Masq    1      0          0\n"
        "TCP  172.30.0.41:80 rr\n"
        "  -> 10.180.0.1:80                Masq    1      0          0\n"
        "TCP  172.30.0.42:80 rr\n"
        "  -> 10.180.0.2:80                Masq    1      0          0\n"
        "TCP  172.30.0.43:80 rr\n"
        "  -> 10.180.0.3:80                Masq    1      0          0\n"
        "TCP  172.30.0.44:80 rr\n"
        "  -> 10.180.0.4:80                Masq    1      0          0\n"
        "  -> 10.180.0.5:80                Masq    1      0          0\n"
        "TCP  172.30.0.45:80 rr persistent 10800\n"
        "  -> 10.180.0.3:80                Masq    1      0          0\n"
        "TCP  172.30.0.46:80 rr\n"  # no endpoints: the virtual server exists and has no real server
        "TCP  192.168.0.2:3001 rr\n"
        "TCP  192.168.0.2:3002 rr persistent 10800\n"
        "  -> 10.180.0.3:80                Masq    1      0          0\n"
        "TCP  192.168.0.2:3003 rr\n"
        "  -> 10.180.0.3:80                Masq    1      0          0\n"
        "TCP  192.168.99.22:80 rr\n"
        "TCP  192.168.99.33:80 rr\n"
        "  -> 10.180.0.4:80                Masq    1      0          0\n"
        "  -> 10.180.0.5:80                Masq    1      0          0\n"
    )


def test_ipsets_hold_what_the_iptables_rules_match() -> None:
    state = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER)
    sets = {name: sorted(members) for name, members in state.ipsets.items() if members}
    assert sets == {
        "KUBE-CLUSTER-IP": [f"172.30.0.4{i},tcp:80" for i in range(1, 7)],
        "KUBE-LOOP-BACK": ["10.180.0.5,tcp:80,10.180.0.5"],  # the only endpoint on test-node
        "KUBE-EXTERNAL-IP": ["192.168.99.22,tcp:80", "192.168.99.33,tcp:80"],
        "KUBE-EXTERNAL-IP-LOCAL": ["192.168.99.22,tcp:80"],
        "KUBE-LOAD-BALANCER": ["1.2.3.4,tcp:80", "5.6.7.8,tcp:80"],
        "KUBE-LOAD-BALANCER-LOCAL": ["1.2.3.4,tcp:80"],
        "KUBE-LOAD-BALANCER-FW": ["5.6.7.8,tcp:80"],
        "KUBE-LOAD-BALANCER-SOURCE-CIDR": ["5.6.7.8,tcp:80,203.0.113.0/25"],
        "KUBE-NODE-PORT-TCP": ["3001", "3002", "3003"],
        "KUBE-NODE-PORT-LOCAL-TCP": ["3001"],
        "KUBE-HEALTH-CHECK-NODE-PORT": ["30000"],
    }
    assert state.bound_addresses == {
        "172.30.0.41", "172.30.0.42", "172.30.0.43", "172.30.0.44", "172.30.0.45", "172.30.0.46",
        "192.168.99.22", "192.168.99.33", "1.2.3.4", "5.6.7.8",
    }  # fmt: skip


@pytest.mark.skipif(not (shutil.which("ipset") and shutil.which("unshare")), reason="needs ipset (make system-deps)")
def test_ipset_text_loads_into_a_real_ipset(tmp_path: Path) -> None:
    state = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER)
    saved = tmp_path / "ipsets"
    saved.write_text(state.ipset_save())
    listing = subprocess.run(
        ["unshare", "-n", "sh", "-c", f"ipset restore < {saved} && ipset list KUBE-LOAD-BALANCER-SOURCE-CIDR"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert listing.splitlines()[-1] == "5.6.7.8,tcp:80,203.0.113.0/25"
