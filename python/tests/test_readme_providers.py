"""README.md's Twilio, Telnyx and Vonage receiver in Flask (<!-- example: providers-flask -->),
executed as written, served by Werkzeug's threaded server on loopback and judged by `telhook
simulate` (the Rust CLI) for each of the three providers: 0 lost, 0 duplicated, 0 forgeries
accepted, and every event delivered processed exactly once by the example's handler."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import tempfile
import threading
from collections import Counter
from typing import Any, Dict, Iterator, List

import pytest
from werkzeug.serving import make_server

ROOT = pathlib.Path(__file__).resolve().parents[2]
TELHOOK = ROOT / "target" / "debug" / "telhook"
MARKER = "<!-- example: providers-flask -->"

# Secrets the test kit can sign for; Telnyx's is RFC 8032's test key (the kit holds its private half).
SECRETS = {
    "TWILIO_AUTH_TOKEN": "twilio-AUTH-token-readme",
    "TELNYX_PUBLIC_KEY": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "VONAGE_SIGNATURE_SECRET": "vonage-SIGNATURE-secret-readme",
}
CREDENTIALS = {
    "twilio": {"auth_token": SECRETS["TWILIO_AUTH_TOKEN"]},
    "telnyx": {"ed25519_public_key": SECRETS["TELNYX_PUBLIC_KEY"]},
    "vonage": {"jwt_hs256": SECRETS["VONAGE_SIGNATURE_SECRET"]},
}


def example() -> str:
    blocks = re.findall(re.escape(MARKER) + r"\n```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"),
                        flags=re.S)
    assert len(blocks) == 1, f"README.md has one {MARKER} block"
    return str(blocks[0])


class Served:
    def __init__(self, base: str, handled: "Counter[str]", public_url: str) -> None:
        self.base, self.handled, self.public_url = base, handled, public_url


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    code = example()
    public_url = re.search(r'public_url="([^"]+)"', code)
    assert public_url, "the example configures Twilio's public_url"
    handled: "Counter[str]" = Counter()
    lock = threading.Lock()

    def handle(event: Dict[str, Any]) -> None:  # stands in for the example's `handle`: counts the calls
        with lock:
            handled[event["id"]] += 1

    namespace: Dict[str, Any] = {"__name__": "readme_providers"}
    exec(code, namespace)
    assert callable(namespace.get("handle")), "the example defines the handle it calls"
    namespace["handle"] = handle  # the example's views look it up when called: counted here
    app = namespace["app"]

    def count() -> Any:  # simulate's --count-url
        with lock:
            return dict(handled)

    app.add_url_rule("/count", "count", count)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", handled, public_url.group(1))
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
def test_readme_flask_receiver_passes_telhook_simulate(provider: str, served: Served) -> None:
    assert TELHOOK.exists(), f"{TELHOOK} is built by make test-python"
    with tempfile.NamedTemporaryFile("w", suffix=".json") as credentials:
        json.dump(CREDENTIALS[provider], credentials)
        credentials.flush()
        args = [str(TELHOOK), "simulate", f"{served.base}/hooks/{provider}", "--provider", provider,
                "--credentials", credentials.name, "--count-url", f"{served.base}/count",
                "--speed", "100000", "--json"]
        if provider == "twilio":
            args += ["--public-url", served.public_url]
        run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    verdict = report["verdict"]
    assert (verdict["lost"], verdict["duplicated"], verdict["forgeries_accepted"]) == ([], [], [])
    assert verdict["duplicates_measured"] is True
    deliveries: List[Dict[str, Any]] = report["deliveries"]
    genuine = [d for d in deliveries if not d["event"].startswith("forged:")]
    accepted = [d for d in genuine if d["status"] == 200 and d["outcome"] == "accepted"]
    duplicates = [d for d in genuine if d["status"] == 200 and d["outcome"] == "duplicate"]
    forged = [d for d in deliveries if d["event"].startswith("forged:")]
    assert len(accepted) >= 3 and len(duplicates) >= 3, genuine
    assert len(forged) >= 2 and {d["status"] for d in forged} == {401}, forged
    labels = {d["event"] for d in accepted}
    if provider == "vonage":
        assert {"message_status", "inbound_message", "delivery_receipt", "inbound_sms", "delivery_receipt (form)",
                "delivery_receipt (GET)", "inbound_sms (form)", "inbound_sms (GET)"} <= labels, labels
    if provider == "twilio":
        assert report["public_url"] == served.public_url
        assert "message_status (GET)" in labels, labels
    # Every event the run delivered was processed exactly once, by the example's handler.
    assert len(served.handled) == len(accepted), served.handled
    assert set(served.handled.values()) == {1}, served.handled
    assert all(event_id.startswith(f"{provider}:") for event_id in served.handled)
    print(f"{provider}: {len(accepted)} events delivered and processed once ({len(genuine)} deliveries, "
          f"{len(duplicates)} answered duplicate), {len(verdict['lost'])} lost, {len(verdict['duplicated'])} "
          f"duplicated, {len(forged)} forgeries refused, {len(verdict['forgeries_accepted'])} accepted")
