"""The WebSocket endpoint's parts: protocol, per-client queues, conversion, snapshots, fan-out hub, handshake.

Layered inside (pyproject.toml's contract): `hub` → `snapshots` | `clients` | `handshake` → `convert`
→ `protocol`. docs/api.md describes the protocol.
"""
