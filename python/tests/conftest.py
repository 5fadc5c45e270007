from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from services import start_postgres, start_redis

# The test kit's fixtures (signed_webhook), as a user enables them.
pytest_plugins = ["telhook.testing"]


# In-process Django tests run on SQLite in a temp dir (the served tests use PostgreSQL).
_SQLITE_DIR = tempfile.TemporaryDirectory(prefix="telhook-sqlite-")
os.environ["TELHOOK_TEST_SQLITE"] = os.path.join(_SQLITE_DIR.name, "db.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)


from vector_reader import load_vectors  # noqa: E402


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
