"""The HTTP and WebSocket edge: FastAPI routers over the live model."""
