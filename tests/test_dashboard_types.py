"""The dashboard's API types are the backend's: dashboard/src/api-schema.ts is what openapi-typescript makes of
the OpenAPI document today (`make dashboard-types` regenerates it)."""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path

from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard"
COMMITTED = DASHBOARD / "src" / "api-schema.ts"


def generate(document: dict[str, object], workdir: Path) -> str:
    """Run the dashboard's own openapi-typescript (its devDependency, through npx) over `document`."""
    assert (DASHBOARD / "node_modules" / ".bin" / "openapi-typescript").exists(), "run `make dashboard` (npm ci)"
    source, target = workdir / "openapi.json", workdir / "api-schema.ts"
    source.write_text(json.dumps(document), encoding="utf-8")
    subprocess.run(
        ["npx", "--no-install", "openapi-typescript", str(source), "--output", str(target)],
        cwd=DASHBOARD,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target.read_text(encoding="utf-8")


def test_generated_types_match_the_openapi_document(tmp_path: Path) -> None:
    generated = generate(create_app(Settings(data_dir=tmp_path)).openapi(), tmp_path)
    committed = COMMITTED.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(committed.splitlines(True), generated.splitlines(True), "committed", "generated", n=1)
    )
    assert generated == committed, f"dashboard/src/api-schema.ts is stale; run `make dashboard-types`:\n{diff[:3000]}"


def test_the_websocket_messages_are_in_the_document(tmp_path: Path) -> None:
    schemas = create_app(Settings(data_dir=tmp_path)).openapi()["components"]["schemas"]
    variants = [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["ServerMessage"]["oneOf"]]
    assert variants == [
        "SnapshotMessage",
        "DeltaMessage",
        "MetricsMessage",
        "RecommendationsMessage",
        "AnomaliesMessage",
        "HeartbeatMessage",
        "PongMessage",
        "ErrorMessage",
    ]
    assert all({"epoch", "seq", "type"} <= set(schemas[name]["required"]) for name in variants)
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["ClientMessage"]["anyOf"]] == [
        "SubscribeOp",
        "UnsubscribeOp",
        "PingOp",
    ]
