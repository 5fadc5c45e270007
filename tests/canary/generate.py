"""Canary requests (issue 12 item 5): every error vector whose body is JSON, with a canary
planted in every value the request carries — each string of the body (and each key), each
number, every header value and the URL's query — read with verification skipped, so the
malformed payload reaches the parser. Whatever each runtime answers, no error message, Debug,
repr or inspect output may contain the canary: errors name the field and what was expected,
never a value from the request.

The planting is written once, here; the Rust, Node and Python runners only read the files.
Usage: generate.py [OUT_DIR]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "vectors"
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
CANARY = "zq-CANARY-7f3e"
# A number no vector uses, as long as the int64s the payloads carry.
CANARY_NUMBER = 7373737373737373


def plant(value, depth=0):
    """The canary in every value; each object gains a canary-named copy of its keys down to
    depth 2 (deeper copies would double the body per level)."""
    if isinstance(value, str):
        return value + CANARY
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return CANARY_NUMBER
    if isinstance(value, list):
        return [plant(item, depth + 1) for item in value]
    planted = {key: plant(item, depth + 1) for key, item in value.items()}
    if depth < 2:
        planted.update({key + CANARY: item for key, item in planted.items()})
    return planted


def planted_url(url):
    if not url or "?" not in url:
        return url
    path, query = url.split("?", 1)
    return path + "?" + "&".join(pair + CANARY for pair in query.split("&"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    written = 0
    for path in sorted(VECTORS.glob("*/*.json")):
        vector = json.loads(path.read_text("utf-8"))
        request = vector["request"]
        if "error" not in vector["expect"] or "body" not in request or not vector.get("provider"):
            continue
        if len(request["body"]) > 16384:  # the size vectors: nothing to plant in
            continue
        try:
            body = json.loads(request["body"])
        except (ValueError, RecursionError):
            continue
        headers = request.get("headers") or {}
        pairs = headers if isinstance(headers, list) else [
            [name, item] for name, value in headers.items() for item in (value if isinstance(value, list) else [value])]
        method = request.get("method", "POST")
        canary_request = {"method": method if method.upper() == "POST" else method + CANARY,
                          "headers": [[name, value + CANARY] for name, value in pairs],
                          "body": json.dumps(plant(body))}
        if request.get("url"):
            canary_request["url"] = planted_url(request["url"])
        name = f"{path.parent.name}__{path.stem}"
        canary = {"description": f"{path.parent.name}/{path.name} with a canary in every value",
                  "provider": vector["provider"], "request": canary_request,
                  "credentials": {"insecure_skip_verification": True}, "now": vector["now"],
                  "canary": CANARY, "canary_number": str(CANARY_NUMBER)}
        (OUT / f"{name}.json").write_text(json.dumps(canary, indent=1) + "\n", "utf-8")
        written += 1
    print(f"wrote {written} canary requests")


if __name__ == "__main__":
    main()
