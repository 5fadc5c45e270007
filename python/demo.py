"""`make demo`, Python part: the same signed captures as the Rust CLI, through the extension."""

import json
import pathlib
import sys

import telhook

examples, now = pathlib.Path(sys.argv[1]), sys.argv[2]
for provider in ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller"]:
    credentials = json.loads((examples / provider / "credentials.json").read_text())
    for capture in sorted((examples / provider).glob("*.http")):
        request = telhook.from_http_capture(capture.read_bytes())
        event = dict(telhook.normalize_event(
            provider, headers=request.headers, body=request.body, credentials=credentials, now=now,
            method=request.method, url=request.url))
        event.pop("raw")
        print(f"== python {provider}: {capture.name}")
        print(json.dumps(event, ensure_ascii=False))
