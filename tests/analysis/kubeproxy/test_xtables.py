"""The node's own view of the rules, checked against a real iptables.

The rendered restore input is loaded with the real `iptables-restore` (Debian's iptables 1.8.9,
nf_tables backend, as on kind's nodes) into a private network namespace, kube-proxy's jump rules
are prepended as kube-proxy does, and the real `iptables-save` and `iptables -L -n --line-numbers`
outputs are compared with ours line by line. Skipped only where the machine cannot make a network
namespace or lacks iptables/nfacct (`make system-deps` installs them).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from k8s_optimizer.analysis.kubeproxy.iptables import render
from k8s_optimizer.analysis.kubeproxy.xtables import JUMPS, list_chain, node_save, quantised_probability
from tests.analysis.kubeproxy.test_iptables import _overall_services, _overall_slices
from tests.analysis.kubeproxy.upstream import FAKE_PROXIER, NODE


def _namespace_usable() -> bool:
    if not all(shutil.which(tool) for tool in ("unshare", "iptables-restore", "nfacct")):
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _namespace_usable(), reason="needs unshare -n, iptables and nfacct (make system-deps)"
)


def _jump_commands() -> list[str]:
    commands = []
    for jump in JUMPS:
        args = [*jump.extra]
        if jump.comment:
            args += ["-m", "comment", "--comment", jump.comment]
        commands.append(
            shlex.join(["iptables", "-t", jump.table, "-I", jump.source_chain, "1", *args, "-j", jump.target_chain])
        )
    return commands


def _real(restore_input: str, tmp_path: Path, reads: list[str]) -> list[str]:
    rules_file = tmp_path / "rules"
    rules_file.write_text(restore_input)
    separator = "=====SPLIT====="
    script = "\n".join(
        [
            "set -e",
            "nfacct add localhost_nps_accepted_pkts",
            "nfacct add ct_state_invalid_dropped_pkts",
            f"iptables-restore --noflush < {shlex.quote(str(rules_file))}",
            *_jump_commands(),
            *(f"{read}; echo {separator}" for read in reads),
        ]
    )
    done = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.split(separator + "\n")[:-1]


def _trimmed(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if not line.startswith("#")]


def test_real_iptables_accepts_the_rules_and_saves_them_as_we_say(tmp_path: Path) -> None:
    rules = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER)
    real_nat, real_filter = _real(rules.restore_input(), tmp_path, ["iptables-save -t nat", "iptables-save -t filter"])
    assert _trimmed(real_nat) == _trimmed(node_save(rules, "nat"))
    assert _trimmed(real_filter) == _trimmed(node_save(rules, "filter"))


def test_real_iptables_lists_every_chain_as_we_say(tmp_path: Path) -> None:
    rules = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER)
    chains = [("nat", c) for c in rules.nat.chains] + [("filter", c) for c in rules.filter.chains]
    real = _real(rules.restore_input(), tmp_path, [f"iptables -t {t} -L {c} -n --line-numbers" for t, c in chains])
    for (table, chain), listing in zip(chains, real, strict=True):
        assert _trimmed(listing) == _trimmed(list_chain(rules, table, chain)), f"{table}/{chain}"


def test_probabilities_are_quantised_like_the_kernel() -> None:
    assert [quantised_probability(p) for p in ("0.5000000000", "0.3333333333", "0.2500000000")] == [
        "0.50000000000",
        "0.33333333349",
        "0.25000000000",
    ]
