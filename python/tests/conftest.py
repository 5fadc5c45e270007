from __future__ import annotations

import base64
import json
import os
import pathlib
from typing import Any, Dict, List, Tuple

import django
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS_DIR = ROOT / "tests" / "vectors"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")
django.setup()


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
