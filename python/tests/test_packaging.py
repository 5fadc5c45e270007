"""What the packaging promises: picklable errors, cached functions that keep their signatures,
ack_for_error from the core's contract, no import outside the standard library."""

from __future__ import annotations

import ast
import inspect
import pathlib
import pickle
import sys

import pytest

import telhook


def test_errors_survive_pickle_with_class_code_and_kind() -> None:
    # Task queues (Celery, RQ, multiprocessing) pickle exceptions to report them.
    with pytest.raises(telhook.WebhookError) as caught:
        telhook.normalize_event("lisoloo", headers={}, body=b"{}", credentials=None)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is telhook.ConfigurationError
    assert (copy.code, copy.kind, str(copy)) == (caught.value.code, "configuration", str(caught.value))


LIME = {"hmac_sha256": "lime-secret", "bearer": "lime-token"}


def test_ack_for_error_follows_the_receive_contract() -> None:
    with pytest.raises(telhook.RequestError) as wrong_method:
        telhook.normalize_event("limephone", headers={}, body=b"", credentials=LIME, method="GET")
    assert wrong_method.value.code == "method_not_allowed"
    assert telhook.ack_for_error(wrong_method.value) == 405
    with pytest.raises(telhook.RequestError) as too_large:
        telhook.normalize_event("limephone", headers={}, body=b"{}" * 8, credentials=LIME, max_body_bytes=4)
    # Lisoloo drops an event on any 4xx: over the receiver's own cap is a 500 to it, and to a
    # provider not named (it may be Lisoloo).
    assert (too_large.value.code, telhook.ack_for_error(too_large.value)) == ("body_too_large", 500)
    assert telhook.ack_for_error(too_large.value, "lisoloo") == 500
    assert telhook.ack_for_error(too_large.value, "limephone") == 413
    with pytest.raises(telhook.ParseError) as unreadable:
        telhook.parse("limephone", b"{")
    assert telhook.ack_for_error(unreadable.value) == 400


def test_cached_functions_show_their_own_signature() -> None:
    assert list(inspect.signature(telhook.retry_policy).parameters) == ["provider"]
    assert list(inspect.signature(telhook.ack).parameters) == ["provider", "outcome"]
    assert not hasattr(telhook.ack, "cache_info") and not hasattr(telhook.retry_policy, "cache_info")
    assert telhook.retry_policy("lisoloo") is telhook.retry_policy("lisoloo")


def test_the_package_imports_only_the_standard_library_and_optional_framework_extras() -> None:
    # `dependencies = []` in pyproject.toml: anything else must sit behind an extra.
    package = pathlib.Path(telhook.__file__).parent
    # The extras' packages (django with asgiref, flask with werkzeug, fastapi with starlette, redis,
    # sqlalchemy, celery), imported only by the adapter modules of those extras.
    optional = {"django", "asgiref", "flask", "werkzeug", "starlette", "fastapi", "redis", "sqlalchemy", "celery",
                "telhook"}
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in optional, f"{source.name} imports {name}"
