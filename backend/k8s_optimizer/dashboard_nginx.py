"""Run the dashboard's real nginx config (dashboard/nginx.conf) outside a container.

The container image renders dashboard/nginx.conf with envsubst; `k8s-optimizer demo` and the end-to-end
tests render the very same file here, wrap it in a minimal main config that keeps every path (pid, temp
directories, logs) inside a private prefix, and run nginx in the foreground. That way the routing users get
in Kubernetes is the routing the browser tests exercise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")

# A small MIME table so the wrapper does not depend on where a distribution keeps mime.types.
_MIME_TYPES = {
    "text/html": "html htm",
    "text/css": "css",
    "application/javascript": "js mjs",
    "application/json": "json map",
    "image/svg+xml": "svg svgz",
    "image/png": "png",
    "image/x-icon": "ico",
    "font/woff2": "woff2",
    "text/plain": "txt",
}


class TemplateError(ValueError):
    """The template uses a variable the caller did not provide."""


def find_nginx() -> str | None:
    """The nginx executable, or None when nginx is not installed."""
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def render_template(template: str, variables: dict[str, str]) -> str:
    """envsubst as the nginx image does it: `${NAME}` is replaced; nginx's `$name` is left alone."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise TemplateError(f"nginx template variable ${{{name}}} has no value")
        return variables[name]

    return _VARIABLE.sub(substitute, template)


@dataclass(frozen=True, slots=True)
class NginxLayout:
    """Where a rendered config lives: the prefix directory and its main config file."""

    prefix: Path
    main_config: Path


def write_config(
    template_path: Path, prefix: Path, *, listen: str, root: Path, backend_url: str, read_token: str = ""
) -> NginxLayout:
    """Render the dashboard template into `prefix` and write a foreground main config around it."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    variables = {
        "DASHBOARD_LISTEN": listen,
        "DASHBOARD_ROOT": str(root.resolve()),
        "BACKEND_URL": backend_url,
        "DASHBOARD_READ_TOKEN": read_token,
    }
    server = render_template(template_path.read_text(encoding="utf-8"), variables)
    server_path = prefix / "dashboard.conf"
    server_path.write_text(server, encoding="utf-8")
    main_config = prefix / "nginx.conf"
    main_config.write_text(_main_config(prefix, server_path), encoding="utf-8")
    return NginxLayout(prefix=prefix, main_config=main_config)


def _main_config(prefix: Path, server_path: Path) -> str:
    types = "\n".join(f"        {mime} {extensions};" for mime, extensions in _MIME_TYPES.items())
    temp_paths = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Workers of a root master would switch to an unprivileged user that cannot enter a private temp prefix.
    user = "user root root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        "daemon off;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        "error_log stderr warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"    types {{\n{types}\n    }}\n"
        "    default_type application/octet-stream;\n"
        "    access_log off;\n"
        "    sendfile on;\n"
        f"{temp_paths}\n"
        f"    include {server_path};\n"
        "}\n"
    )


def nginx_command(nginx: str, layout: NginxLayout, *, test_only: bool = False) -> list[str]:
    """The argv that runs (or with test_only, checks) nginx with this layout."""
    command = [nginx, "-p", str(layout.prefix), "-c", str(layout.main_config)]
    return [*command, "-t", "-q"] if test_only else command


def check_config(nginx: str, layout: NginxLayout) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the rendered config; the caller inspects returncode and stderr."""
    (layout.prefix / "tmp").mkdir(exist_ok=True)
    return subprocess.run(nginx_command(nginx, layout, test_only=True), capture_output=True, text=True, check=False)
