"""dashboard/nginx.conf as a template: rendering like the nginx image's envsubst, and `nginx -t` on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8s_optimizer.dashboard_nginx import TemplateError, check_config, find_nginx, render_template, write_config
from tests.dashboard_servers import TEMPLATE


def test_render_substitutes_braced_variables_and_leaves_nginx_variables() -> None:
    rendered = render_template("listen ${PORT}; proxy_set_header Host $host; x ${PORT}", {"PORT": "8080"})
    assert rendered == "listen 8080; proxy_set_header Host $host; x 8080"


def test_render_names_a_missing_variable() -> None:
    with pytest.raises(TemplateError, match=r"\$\{BACKEND_URL\} has no value"):
        render_template("proxy_pass ${BACKEND_URL};", {})


def test_the_template_uses_exactly_the_documented_variables() -> None:
    text = TEMPLATE.read_text()
    rendered = render_template(
        text,
        {
            "DASHBOARD_LISTEN": "8080",
            "DASHBOARD_ROOT": "/usr/share/nginx/html",
            "BACKEND_URL": "http://optimizer-backend:8080",
            "DASHBOARD_READ_TOKEN": "",
        },
    )
    assert "${" not in rendered
    assert "listen 8080;" in rendered
    assert rendered.count("proxy_pass http://optimizer-backend:8080;") == 3  # /ws, /api/, /health|/ready
    assert "proxy_read_timeout 3600s;" in rendered


def _nginx() -> str:
    nginx = find_nginx()
    assert nginx is not None, "nginx is not installed: `make system-deps` installs it"
    return nginx


@pytest.mark.parametrize("listen", ["8080", "127.0.0.1:18080"])
def test_nginx_t_accepts_the_rendered_config(tmp_path: Path, listen: str) -> None:
    (tmp_path / "dist").mkdir()
    layout = write_config(
        TEMPLATE, tmp_path / "prefix", listen=listen, root=tmp_path / "dist", backend_url="http://127.0.0.1:8080"
    )
    result = check_config(_nginx(), layout)
    assert result.returncode == 0, result.stderr
    main = layout.main_config.read_text()
    assert "daemon off;" in main
    assert f"pid {layout.prefix / 'nginx.pid'};" in main
    assert ("user root root;" in main) == (os.geteuid() == 0)


def test_nginx_t_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "broken.conf"
    broken.write_text(TEMPLATE.read_text().replace("location /api/ {", "location /api/ {{"))
    layout = write_config(
        broken, tmp_path / "prefix", listen="8080", root=tmp_path, backend_url="http://127.0.0.1:8080"
    )
    result = check_config(_nginx(), layout)
    assert result.returncode != 0
    assert "dashboard.conf" in result.stderr
