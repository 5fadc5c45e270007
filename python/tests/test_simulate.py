"""`telhook simulate` (the Rust CLI) against the Django project served by gunicorn (4 workers,
real Redis and PostgreSQL): LimePhone's delivery pattern loses nothing, processes nothing twice
and lets no forgery in."""

from __future__ import annotations

import json
import pathlib
import subprocess
import tempfile

from django.conf import settings

from test_served import Served, fresh, served  # noqa: F401  (the gunicorn fixtures)

TELHOOK = pathlib.Path(__file__).resolve().parents[2] / "target" / "debug" / "telhook"


def test_simulate_against_django_under_gunicorn(served: Served) -> None:  # noqa: F811
    assert TELHOOK.exists(), f"{TELHOOK} is built by make test-python"
    base = f"http://127.0.0.1:{served.port}"
    with tempfile.NamedTemporaryFile("w", suffix=".json") as credentials:
        json.dump(settings.TELHOOK["limephone"], credentials)
        credentials.flush()
        run = subprocess.run(
            [str(TELHOOK), "simulate", f"{base}/served/cache", "--provider", "limephone",
             "--credentials", credentials.name, "--count-url", f"{base}/served/count?view=cache",
             "--speed", "100000", "--json"],
            capture_output=True, text=True, timeout=300,
        )
    report = json.loads(run.stdout)
    verdict = report["verdict"]
    assert run.returncode == 0, verdict
    assert (verdict["lost"], verdict["duplicated"], verdict["forgeries_accepted"]) == ([], [], [])
    assert verdict["duplicates_measured"] is True
    copies = [d for d in report["deliveries"] if "concurrent" in d["event"]]
    assert len(copies) >= 3  # three first attempts, plus the retries of those told "in progress"
    assert {d["status"] for d in report["deliveries"] if d["event"].startswith("forged:")} == {401}
    # Every event the simulation sent was processed exactly once, in the database.
    assert served.sql("SELECT count(DISTINCT event_id) = count(*) FROM djangoproject_processed")[0][0] is True
