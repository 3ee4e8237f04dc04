"""Scenarios: what the embedded cluster contains when it starts (`demo`, `scale`, `broken`)."""
