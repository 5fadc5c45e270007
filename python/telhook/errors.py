"""Exceptions raised by telhook. The Rust core raises these very classes, with its stable codes."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Tuple


class WebhookError(Exception):
    """Base class: ``code`` is the core's stable error code, the same in every runtime; ``kind``
    its family; ``field`` where the problem is (``headers.x-lime-signature``, ``now``) and
    ``expected`` what belongs there, when known. JavaScript's ``TelhookError`` takes the same
    arguments in the same order and has the same attributes."""

    code: str
    kind: str
    field: Optional[str]
    expected: Optional[str]

    def __init__(
        self, code: str, message: str, kind: str, field: Optional[str] = None, expected: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.field = field
        self.expected = expected

    @property
    def message(self) -> str:
        return str(self)

    def __reduce__(self) -> Tuple[type, Tuple[str, str, str, Optional[str], Optional[str]]]:
        # Picklable (multiprocessing, Celery): rebuilt from the constructor's arguments.
        return (type(self), (self.code, str(self), self.kind, self.field, self.expected))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={str(self)!r}, field={self.field!r})"


class VerificationError(WebhookError):
    """The request is not authentic, or its credentials are missing or garbled."""


class ParseError(WebhookError):
    """The body cannot be understood."""


class ConfigurationError(WebhookError):
    """The receiver is misconfigured (unknown provider, missing or empty credentials)."""


class RequestError(WebhookError):
    """The request is unacceptable before parsing (method, size, undetectable provider)."""


_CLASSES = {"verification": VerificationError, "parse": ParseError, "configuration": ConfigurationError,
            "request": RequestError}


def _from_core(text: str) -> WebhookError:
    """The core's error record (``api::Failure``: code, kind, message, field, expected), as JSON."""
    record: Mapping[str, Any] = json.loads(text)
    error_class = _CLASSES.get(record["kind"], WebhookError)
    return error_class(record["code"], record["message"], record["kind"], record["field"], record["expected"])


__all__ = ["WebhookError", "VerificationError", "ParseError", "ConfigurationError", "RequestError"]
