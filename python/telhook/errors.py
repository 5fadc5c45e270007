"""Exceptions raised by telhook. The Rust core raises these very classes, with its stable codes."""

from __future__ import annotations


class WebhookError(Exception):
    """Base class: ``code`` is the core's stable error code, the same in every runtime."""

    code: str
    kind: str

    def __init__(self, message: str, code: str, kind: str) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind

    def __reduce__(self) -> "tuple[type, tuple[str, str, str]]":
        # Picklable (multiprocessing, Celery): rebuilt from message, code and kind.
        return (type(self), (str(self), self.code, self.kind))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={str(self)!r})"


class VerificationError(WebhookError):
    """The request is not authentic, or its credentials are missing or garbled."""


class ParseError(WebhookError):
    """The body cannot be understood."""


class ConfigurationError(WebhookError):
    """The receiver is misconfigured (unknown provider, missing or empty credentials)."""


class RequestError(WebhookError):
    """The request is unacceptable before parsing (method, size, undetectable provider)."""


__all__ = ["WebhookError", "VerificationError", "ParseError", "ConfigurationError", "RequestError"]
