"""Run by a fresh venv that has only the built wheel installed: the published artifact works."""

import json
import pathlib
import sys

import telhook

vectors_dir = pathlib.Path(sys.argv[1])
assert pathlib.Path(telhook.__file__).parent.name == "telhook"
assert "site-packages" in telhook.__file__, telhook.__file__
checked = 0
for path in sorted(vectors_dir.glob("*/*.json")):
    vector = json.loads(path.read_text("utf-8"))
    request = vector["request"]
    if "body" not in request or isinstance(request.get("headers"), list):
        continue
    try:
        result = {"event": telhook.normalize_event(
            vector["provider"], headers=request.get("headers"), body=request["body"],
            credentials=vector["credentials"], now=vector["now"], method=request.get("method", "POST"),
            url=request.get("url"), max_body_bytes=(vector.get("options") or {}).get("max_body_bytes"))}
    except telhook.WebhookError as error:
        result = {"error": error.code}
    assert result == vector["expect"], path
    checked += 1
assert checked >= 100, checked
assert (pathlib.Path(telhook.__file__).parent / "py.typed").exists()
print(f"wheel ok: {checked} vectors")
