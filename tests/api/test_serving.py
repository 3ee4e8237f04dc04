"""The server configuration `serve` runs with: loopback by default, the limits wired into uvicorn."""

from __future__ import annotations

from k8s_optimizer.app import create_app
from k8s_optimizer.cli import build_parser
from k8s_optimizer.demo import DemoConfig
from k8s_optimizer.serving import BoundedHttpToolsProtocol, server_config
from k8s_optimizer.settings import Settings


def test_serve_listens_on_loopback_unless_told_otherwise() -> None:
    """Like `kubectl proxy`: a laptop's backend is not on the network; the manifests set 0.0.0.0 (test_wiring)."""
    config = server_config(create_app(Settings()), Settings())
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert server_config(create_app(Settings()), Settings(host="0.0.0.0")).host == "0.0.0.0"


def test_demo_listens_on_loopback_unless_told_otherwise() -> None:
    args = build_parser().parse_args(["demo"])
    assert DemoConfig.from_args(args).host == "127.0.0.1"
    assert DemoConfig.from_args(build_parser().parse_args(["demo", "--host", "0.0.0.0"])).host == "0.0.0.0"


def test_the_limits_reach_uvicorn() -> None:
    settings = Settings(max_header_bytes=4096, max_request_line_bytes=1024, max_connections=64)
    config = server_config(create_app(settings), settings)
    assert isinstance(config.http, type)
    assert issubclass(config.http, BoundedHttpToolsProtocol)
    assert (config.http.max_header_bytes, config.http.max_request_line_bytes) == (4096, 1024)
    assert (config.limit_concurrency, config.ws_max_size) == (64, 64 * 1024)
