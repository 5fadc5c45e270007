"""The training run of the x86_64 wheels' profile-guided build (`make pgo-profile`).

The extension is first built instrumented (`-Cprofile-generate`); this script then runs it the
way receivers do, and `llvm-profdata` merges what it counted into the profile the wheels are
built with (`-Cprofile-use`). Two parts:

- the per-delivery path, weighted as a server weighs it: every conformance vector
  (tests/vectors, every provider, accepted and refused, read by python/tests/vector_reader.py
  as the suites read them) through `Receiver.normalize`, `HOT_ROUNDS` times;
- everything else a user reaches, once: the vector, handler-vector and receive-machine suites
  (the Django, Flask and Starlette adapters, the sync and async loops, the stores in memory),
  so that no path the profile never saw is laid out as cold code only because training missed it.

Material nobody here wrote is in the vectors (providers' documented examples, SDK fixtures); the
bench payloads are not used, so that the profile is not fitted to what `make bench` times.

    python pgo_train.py REPO_ROOT
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Tuple

HOT_ROUNDS = 20


def hot_path() -> Tuple[int, int]:
    import telhook
    from vector_reader import load_vectors, max_body_bytes, request_of, url_options

    cases: List[Tuple[Any, ...]] = []
    for _, vector in load_vectors():
        if "request" not in vector or "credentials" not in vector:
            continue
        try:
            receiver = telhook.Receiver(vector.get("provider"), vector["credentials"],
                                        max_body_bytes=max_body_bytes(vector), **url_options(vector))
        except telhook.WebhookError:
            continue  # a vector of a refused configuration: nothing per delivery to train
        cases.append((receiver, request_of(vector["request"]), vector.get("now")))
    normalized = refused = 0
    for _ in range(HOT_ROUNDS):
        for receiver, request, now in cases:
            try:
                receiver.normalize(headers=request.headers, body=request.body, now=now, method=request.method,
                                   url=request.url)
                normalized += 1
            except (telhook.WebhookError, TypeError, ValueError):
                refused += 1
    return normalized, refused


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(root / "python"))
    sys.path.insert(0, str(root / "python" / "tests"))
    import pytest

    tests = root / "python" / "tests"
    suites = [str(tests / name) for name in ("test_vectors.py", "test_handler_vectors.py", "test_receive.py")]
    code = pytest.main(["-qq", "-x", "-p", "no:cacheprovider", "--rootdir", str(root / "python"), *suites])
    if code != 0:
        sys.exit(f"pgo_train: the training suites failed ({code}); no profile is made from a failing build")
    normalized, refused = hot_path()
    if normalized == 0 or refused == 0:
        sys.exit("pgo_train: the vectors gave no accepted or no refused request; the training set is wrong")
    print(f"pgo_train: {normalized} deliveries normalized, {refused} refused")


if __name__ == "__main__":
    main()
