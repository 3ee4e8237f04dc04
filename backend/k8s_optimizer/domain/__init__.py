"""Pure value types shared by every layer: no I/O, no async, no client library types."""
