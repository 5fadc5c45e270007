from __future__ import annotations

import base64
import json
import os
import pathlib
import tempfile
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from services import start_postgres, start_redis

# The test kit's fixtures (signed_webhook), as a user enables them.
pytest_plugins = ["telhook.testing"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS_DIR = ROOT / "tests" / "vectors"

# In-process Django tests run on SQLite in a temp dir (the served tests use PostgreSQL).
_SQLITE_DIR = tempfile.TemporaryDirectory(prefix="telhook-sqlite-")
os.environ["TELHOOK_TEST_SQLITE"] = os.path.join(_SQLITE_DIR.name, "db.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)


def load_vectors() -> List[Tuple[str, Dict[str, Any]]]:
    vectors = []
    for path in sorted(VECTORS_DIR.glob("*/*.json")):
        vectors.append((f"{path.parent.name}/{path.name}", json.loads(path.read_text("utf-8"))))
    return vectors


def body_of(request: Dict[str, Any]) -> bytes:
    if "body_base64" in request:
        return base64.b64decode(request["body_base64"])
    return str(request.get("body", "")).encode("utf-8")


def header_pairs(request: Dict[str, Any]) -> List[Tuple[str, str]]:
    headers = request.get("headers") or {}
    if isinstance(headers, list):
        return [(k, v) for k, v in headers]
    pairs = []
    for name, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


@pytest.fixture(scope="session")
def vectors() -> List[Tuple[str, Dict[str, Any]]]:
    return load_vectors()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server (Debian package) on a free loopback port, for the whole session."""
    with start_redis() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_port() -> Iterator[int]:
    """A real PostgreSQL (Debian package) in a temp dir on a free loopback port."""
    with start_postgres() as port:
        yield port
