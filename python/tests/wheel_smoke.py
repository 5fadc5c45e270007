"""Run by a fresh venv that has only the built wheel installed: the published artifact works, on
every conformance and hostile vector (read by vector_reader.py, as in pytest)."""

import pathlib
import sys

import telhook

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from vector_reader import load_vectors, max_body_bytes, request_of, url_options  # noqa: E402

vectors_dir = pathlib.Path(sys.argv[1])
assert pathlib.Path(telhook.__file__).parent.name == "telhook"
assert "site-packages" in telhook.__file__, telhook.__file__
checked = 0
for name, vector in load_vectors(vectors_dir):
    request = request_of(vector["request"])
    try:
        result = {"event": telhook.normalize_event(
            vector["provider"], headers=request.headers, body=request.body, credentials=vector["credentials"],
            now=vector["now"], method=request.method, url=request.url, max_body_bytes=max_body_bytes(vector),
            **url_options(vector))}
    except telhook.WebhookError as error:
        result = {"error": error.code}
    assert result == vector["expect"], name
    checked += 1
assert checked >= 400, checked
assert (pathlib.Path(telhook.__file__).parent / "py.typed").exists()
print(f"wheel ok: {checked} vectors")
