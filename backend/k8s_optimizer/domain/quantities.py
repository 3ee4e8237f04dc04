"""Kubernetes resource quantities as integers with their unit in the name.

Everything past the Kubernetes boundary carries CPU as millicores and memory as bytes, so arithmetic
never has to guess what "0.5" or "512Mi" meant. Parsing follows the apimachinery quantity grammar
(decimal SI suffixes, binary suffixes, exponents); fractions of a millicore round up, as the API does.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

MIB = 2**20
GIB = 2**30


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(text: str | int | float) -> Decimal:
    """Return the quantity's value in base units (cores, bytes) as an exact Decimal."""
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        value = Decimal(number)
    except InvalidOperation as exc:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return value * (Decimal(10) ** int(suffix[1:]))
    return value * _DECIMAL[suffix]


def parse_cpu_millicores(text: str | int | float) -> int:
    """'250m' -> 250, '0.5' -> 500, '1' -> 1000, '1500000n' -> 2 (rounded up like the API server)."""
    return math.ceil(parse_quantity(text) * 1000)


def parse_cpu_millicores_float(text: str | int | float) -> float:
    """Usage readings keep sub-millicore precision ('1500000n' -> 1.5)."""
    return float(parse_quantity(text) * 1000)


def parse_memory_bytes(text: str | int | float) -> int:
    """'128Mi' -> 134217728, '1G' -> 1000000000, '512Ki' -> 524288."""
    return math.ceil(parse_quantity(text))


def format_cpu(millicores: float) -> str:
    """The shortest canonical form: 1000 -> '1', 1500 -> '1500m', 250 -> '250m'."""
    rounded = math.ceil(millicores)
    if rounded % 1000 == 0:
        return str(rounded // 1000)
    return f"{rounded}m"


def format_memory(memory_bytes: float) -> str:
    """Binary suffix when exact (134217728 -> '128Mi'), else Mi rounded up (the safe side for memory)."""
    value = math.ceil(memory_bytes)
    for suffix, factor in (("Gi", GIB), ("Mi", MIB), ("Ki", 2**10)):
        if value >= factor and value % factor == 0:
            return f"{value // factor}{suffix}"
    if value < MIB:
        return str(value)
    return f"{math.ceil(value / MIB)}Mi"
