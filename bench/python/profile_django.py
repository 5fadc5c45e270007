"""Where the Django `@webhook` view's time goes, in process (no server, no load generator):
`.venv/bin/python bench/python/profile_django.py`. Times the view of bench/python/servers.py
against the bare view on the same request (Django's RequestFactory, the request's construction
subtracted), then prints cProfile's costliest functions of the `@webhook` view. Not part of
`make bench`; its findings are in bench/PROFILE.md."""

from __future__ import annotations

import cProfile
import pathlib
import pstats
import sys
import timeit
from typing import Any, Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import servers  # noqa: E402
import telhook  # noqa: E402
from django.test import RequestFactory  # noqa: E402

CALLS = 5000
request = servers.PAYLOAD["request"]
meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in request["headers"].items() if k != "Content-Type"}
factory = RequestFactory()


def build() -> Any:
    return factory.post("/", data=request["body"], content_type="application/json", **meta)


def per_call(fn: Callable[[], Any]) -> float:
    return min(timeit.repeat(fn, number=CALLS, repeat=5)) / CALLS


def main() -> None:
    assert servers.telhook_view(build()).status_code == 200 and servers.bare_view(build()).status_code == 200
    construction = per_call(build)
    view = per_call(lambda: servers.telhook_view(build())) - construction
    bare = per_call(lambda: servers.bare_view(build())) - construction
    headers, body = request["headers"], request["body"].encode()
    receiver = telhook.Receiver("limephone", servers.CREDENTIALS)
    normalize = per_call(lambda: receiver.normalize(headers=headers, body=body, now=servers.PAYLOAD["now"]))
    print(f"@webhook view {view * 1e6:.1f} µs per call, bare view {bare * 1e6:.1f} µs, "
          f"Receiver.normalize alone {normalize * 1e6:.1f} µs")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(CALLS):
        servers.telhook_view(build())
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
