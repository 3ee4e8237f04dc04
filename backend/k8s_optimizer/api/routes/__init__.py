"""One router per resource, aggregated by api/router.py."""
