"""How iptables itself prints kube-proxy's rules once they are in the kernel.

kube-proxy hands `iptables-restore` its rules in its own spelling; on the node, `iptables-save` and
`iptables -t nat -L CHAIN -n --line-numbers` print them back normalised by the xtables extensions
(addresses first with /32, `-p` beside them, protocol numbers with `-n`, MARK as --set-xmark, the
statistic probability quantised to the kernel's 2^-31 steps). These are the texts a user compares
with on a kind node (`docker exec … iptables-save`), so they are rendered here exactly as
iptables 1.8.9 (nf_tables backend, kind's node image) prints them; tests load the same rules into
a real iptables in a private network namespace and compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from k8s_optimizer.analysis.kubeproxy.iptables import RuleSet

PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "sctp": 132}
# `-m recent` without --mask/--rsource uses the whole source address.
_RECENT_TAIL = ("--mask", "255.255.255.255", "--rsource")
_BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
}


@dataclass(frozen=True, slots=True)
class Jump:
    """A rule kube-proxy (or kubelet) inserts at the top of a built-in chain, outside the restore."""

    table: str
    source_chain: str
    target_chain: str
    comment: str
    extra: tuple[str, ...] = ()


# kube-proxy's iptablesJumpChains and iptablesKubeletJumpChains, in the order it ensures them (each
# prepended, so a later one for the same chain ends up above an earlier one).
JUMPS = (
    Jump(
        "filter",
        "INPUT",
        "KUBE-EXTERNAL-SERVICES",
        "kubernetes externally-visible service portals",
        ("-m", "conntrack", "--ctstate", "NEW"),
    ),
    Jump(
        "filter",
        "FORWARD",
        "KUBE-EXTERNAL-SERVICES",
        "kubernetes externally-visible service portals",
        ("-m", "conntrack", "--ctstate", "NEW"),
    ),
    Jump("filter", "INPUT", "KUBE-NODEPORTS", "kubernetes health check service ports"),
    Jump("filter", "FORWARD", "KUBE-SERVICES", "kubernetes service portals", ("-m", "conntrack", "--ctstate", "NEW")),
    Jump("filter", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", ("-m", "conntrack", "--ctstate", "NEW")),
    Jump("filter", "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules"),
    Jump(
        "filter", "INPUT", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules", ("-m", "conntrack", "--ctstate", "NEW")
    ),
    Jump(
        "filter", "OUTPUT", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules", ("-m", "conntrack", "--ctstate", "NEW")
    ),
    Jump(
        "filter", "FORWARD", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules", ("-m", "conntrack", "--ctstate", "NEW")
    ),
    Jump("nat", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals"),
    Jump("nat", "PREROUTING", "KUBE-SERVICES", "kubernetes service portals"),
    Jump("nat", "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"),
    Jump("filter", "INPUT", "KUBE-FIREWALL", ""),
    Jump("filter", "OUTPUT", "KUBE-FIREWALL", ""),
)


@dataclass(slots=True)
class Match:
    name: str
    options: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ParsedRule:
    chain: str
    source: str | None = None
    source_negated: bool = False
    destination: str | None = None
    destination_negated: bool = False
    protocol: str | None = None
    matches: list[Match] = field(default_factory=list)
    target: str | None = None
    target_options: list[str] = field(default_factory=list)

    def option(self, match: str, name: str) -> str | None:
        for m in self.matches:
            if m.name == match and name in m.options:
                return m.options[m.options.index(name) + 1]
        return None


def _host(address: str) -> str:
    return address if "/" in address else f"{address}/32"


def parse(rule: Sequence[str]) -> ParsedRule:
    """One `-A CHAIN …` token tuple, as kube-proxy writes it, into its parts."""
    parsed = ParsedRule(chain=rule[1])
    tokens = list(rule[2:])
    negate = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "!" and index + 1 < len(tokens) and tokens[index + 1] in ("-s", "-d"):
            negate = True
            index += 1
            continue
        index = _consume(parsed, tokens, index, negate)
        negate = False
    return parsed


def _consume(parsed: ParsedRule, tokens: list[str], index: int, negate: bool) -> int:
    token = tokens[index]
    if token == "-s":
        parsed.source, parsed.source_negated = _host(tokens[index + 1]), negate
        return index + 2
    if token == "-d":
        parsed.destination, parsed.destination_negated = _host(tokens[index + 1]), negate
        return index + 2
    if token == "-p":
        parsed.protocol = tokens[index + 1]
        return index + 2
    if token == "-m":
        parsed.matches.append(Match(tokens[index + 1]))
        return index + 2
    if token == "-j":
        parsed.target = tokens[index + 1]
        parsed.target_options = tokens[index + 2 :]
        return len(tokens)
    if token == "--dport":
        protocol_match = next(m for m in parsed.matches if m.name in PROTOCOL_NUMBERS)
        protocol_match.options += [token, tokens[index + 1]]
        return index + 2
    parsed.matches[-1].options.append(token)
    return index + 1


def quantised_probability(text: str) -> str:
    """The statistic match stores round(p × 2^31); iptables prints that back with 11 decimals."""
    stored = round(float(text) * 0x80000000)
    return f"{stored / 0x80000000:.11f}"


def _comment_text(options: list[str]) -> str:
    return options[options.index("--comment") + 1].strip('"')


# ----------------------------------------------------------------------------------- iptables-save


def _save_match(match: Match) -> str:
    options = match.options
    if match.name == "comment":
        return f'-m comment --comment "{_comment_text(options)}"'
    if match.name == "statistic":
        return f"-m statistic --mode random --probability {quantised_probability(options[-1])}"
    if match.name == "recent":
        action = [o for o in options if o in ("--set", "--rcheck", "--seconds", "--reap") or o.isdigit()]
        name = options[options.index("--name") + 1]
        return " ".join(["-m", "recent", *action, "--name", name, *_RECENT_TAIL])
    if match.name == "nfacct":
        return f"-m nfacct --nfacct-name  {options[-1]}"
    return " ".join(["-m", match.name, *options])


def _save_target(rule: ParsedRule) -> str:
    options = rule.target_options
    if rule.target == "MARK" and options[0] == "--or-mark":
        return f"-j MARK --set-xmark {options[1]}/{options[1]}"
    if rule.target == "MARK" and options[0] == "--xor-mark":
        return f"-j MARK --set-xmark {options[1]}/0x0"
    if rule.target == "REJECT":
        return "-j REJECT --reject-with icmp-port-unreachable"
    return " ".join(["-j", str(rule.target), *options])


def save_line(rule: ParsedRule) -> str:
    parts = ["-A", rule.chain]
    if rule.source:
        parts += (["!"] if rule.source_negated else []) + ["-s", rule.source]
    if rule.destination:
        parts += (["!"] if rule.destination_negated else []) + ["-d", rule.destination]
    if rule.protocol:
        parts += ["-p", rule.protocol]
    parts += [_save_match(match) for match in rule.matches]
    if rule.target:
        parts.append(_save_target(rule))
    return " ".join(parts)


def _jump_rule(jump: Jump) -> ParsedRule:
    # kube-proxy puts the extra matches before the comment.
    tokens: list[str] = ["-A", jump.source_chain, *jump.extra]
    if jump.comment:
        tokens += ["-m", "comment", "--comment", f'"{jump.comment}"']
    tokens += ["-j", jump.target_chain]
    return parse(tuple(tokens))


def _jumps_into(table: str, chain: str) -> list[ParsedRule]:
    """The built-in chain's rules from kube-proxy's jumps, top first (each was prepended)."""
    return [_jump_rule(j) for j in reversed(JUMPS) if j.table == table and j.source_chain == chain]


def node_save(rules: RuleSet, table: str) -> str:
    """`iptables-save -t TABLE` on the node, without its timestamped comment lines."""
    source = rules.table(table)
    builtins = _BUILTIN_CHAINS[table]
    lines = [f"*{table}", *(f":{chain} ACCEPT [0:0]" for chain in builtins)]
    lines += [f":{chain} - [0:0]" for chain in sorted(source.chains)]
    for chain in builtins:
        lines += [save_line(rule) for rule in _jumps_into(table, chain)]
    for chain in sorted(source.chains):
        lines += [save_line(parse(rule)) for rule in source.rules_of(chain)]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- iptables -L -n --line-numbers


def _list_match(match: Match) -> str:
    options = match.options
    if match.name == "comment":
        return f"/* {_comment_text(options)} */"
    if match.name in PROTOCOL_NUMBERS:
        return f"{match.name} dpt:{options[-1]}" if "--dport" in options else match.name
    if match.name == "addrtype":
        return f"ADDRTYPE match {options[0].removeprefix('--')} {options[1]}"
    if match.name == "mark":
        return "mark match " + " ".join(o for o in options if o != "--mark")
    if match.name == "conntrack":
        negated = "! " if options[0] == "!" else ""
        return f"{negated}ctstate {options[-1]}"
    if match.name == "statistic":
        return f"statistic mode random probability {quantised_probability(options[-1])}"
    if match.name == "nfacct":
        return f"nfacct-name  {options[-1]}"
    return _list_recent(options)


def _list_recent(options: list[str]) -> str:
    name = options[options.index("--name") + 1]
    if "--set" in options:
        return f"recent: SET name: {name} side: source mask: 255.255.255.255"
    seconds = options[options.index("--seconds") + 1]
    return f"recent: CHECK seconds: {seconds} reap name: {name} side: source mask: 255.255.255.255"


def _list_target(rule: ParsedRule) -> str | None:
    options = rule.target_options
    if rule.target == "DNAT":
        return f"to:{options[-1]}"
    if rule.target == "MARK":
        return f"MARK {'or' if options[0] == '--or-mark' else 'xor'} {options[1]}"
    if rule.target == "REJECT":
        return "reject-with icmp-port-unreachable"
    return None


def _address(address: str | None, negated: bool) -> str:
    shown = (address or "0.0.0.0/0").removesuffix("/32")
    return f"{'!' if negated else ' '}{shown:<19} "


def list_line(number: int, rule: ParsedRule) -> str:
    protocol = str(PROTOCOL_NUMBERS.get(rule.protocol or "", 0))
    head = f"{number:<4} {rule.target or '':<9}  {protocol:<5}-- "
    head += _address(rule.source, rule.source_negated) + _address(rule.destination, rule.destination_negated)
    extras = [_list_match(match) for match in rule.matches]
    target = _list_target(rule)
    if target:
        extras.append(target)
    return (head + "".join(f" {extra}" for extra in extras)).rstrip()


def _references(rules: RuleSet, table: str, chain: str) -> int:
    inside = sum(1 for rule in rules.table(table).rules if "-j" in rule and rule[rule.index("-j") + 1] == chain)
    return inside + sum(1 for jump in JUMPS if jump.table == table and jump.target_chain == chain)


def list_chain(rules: RuleSet, table: str, chain: str) -> str:
    """`iptables -t TABLE -L CHAIN -n --line-numbers` on the node (trailing blanks trimmed)."""
    lines = [
        f"Chain {chain} ({_references(rules, table, chain)} references)",
        "num  target     prot opt source               destination",
    ]
    lines += [list_line(n, parse(rule)) for n, rule in enumerate(rules.table(table).rules_of(chain), start=1)]
    return "\n".join(lines) + "\n"
