"""`make demo`, Python part: the same signed captures as the Rust CLI, through the extension.

Run: python demo.py EXAMPLES_DIR NOW PROVIDER...  (the registry's, as `telhook providers` lists them)"""

import json
import pathlib
import sys

import telhook

examples, now, providers = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
if not providers:
    sys.exit("usage: demo.py EXAMPLES_DIR NOW PROVIDER...")
for provider in providers:
    credentials = json.loads((examples / provider / "credentials.json").read_text())
    for capture in sorted((examples / provider).glob("*.http")):
        request = telhook.from_http_capture(capture.read_bytes())
        event = dict(telhook.normalize_event(
            provider, headers=request.headers, body=request.body, credentials=credentials, now=now,
            method=request.method, url=request.url))
        event.pop("raw")
        print(f"== python {provider}: {capture.name}")
        print(json.dumps(event, ensure_ascii=False))
