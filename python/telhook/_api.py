"""The core's entry points by name (``telhook._core.call``, ``api::call`` in the core): the
arguments as a JSON array, the result as JSON text; errors arrive as ``WebhookError``s."""

from __future__ import annotations

import json
from typing import Any

from . import _core


def call(name: str, *args: Any, data: bytes = b"") -> Any:
    return json.loads(_core.call(name, json.dumps(args), data))
