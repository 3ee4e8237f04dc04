"""Secrets out of logs: a logging filter that blanks tokens and Authorization values wherever they appear.

Why: whoever reads pod logs must not learn the apply token. Clients are told never to put it in a URL
(the WebSocket refuses `?token=`), but a mistaken client still would, and uvicorn's access log prints
the query string; a debug line may echo a header. The filter rewrites the message and every string
argument (and object printed as text) of each record before any handler formats it, so the access log keeps its shape.
`log_config()` is the dictConfig the CLI hands uvicorn: its own handlers plus the root logger's, all
filtered.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_PATTERNS = (
    # token=..., apply_token=..., access_token=... in query strings and key=value text
    re.compile(r"(?i)(\b[\w-]*token=)[^&\s\"',;]+"),
    # Authorization: Bearer x / 'authorization': 'x' / authorization=x
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?)[^\s\"',;&]+"),
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',;&]+"),
    # the WebSocket token subprotocol
    re.compile(r"(?i)(base64url\.bearer\.authorization\.k8s\.io\.)[\w-]+"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


def _redact_value(value: Any) -> Any:
    """Strings redacted; other objects (a URL, a headers mapping) replaced by their redacted text only when
    that text held a secret, so numbers keep their `%d` formatting."""
    if value is None or isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    redacted = redact(text)
    return redacted if redacted != text or isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Blank secrets in a record's message and string arguments (tuple or mapping); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(value) for value in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        if isinstance(record.msg, str) and redact(record.msg) != record.msg:
            # The secret is in the format string itself (a pattern may also have eaten a `%s`): format first,
            # then redact the whole text, so no argument is left over for logging to print raw.
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = record.msg
            record.msg, record.args = redact(message), ()
        return True


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's own logging set-up (same formats) plus the root logger, every handler filtered."""
    level = level.upper()
    redacting = {"redact": {"()": f"{__name__}.RedactSecrets"}}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": redacting,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
        },
        "handlers": {
            name: {"formatter": name, "class": "logging.StreamHandler", "stream": stream, "filters": ["redact"]}
            for name, stream in (
                ("plain", "ext://sys.stderr"),
                ("default", "ext://sys.stderr"),
                ("access", "ext://sys.stdout"),
            )
        },
        "root": {"handlers": ["plain"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }
