"""The inbox of the test project (telhook.django.inbox), served by gunicorn and processed by
`manage.py telhook_worker` processes in tests/test_django_inbox.py.

Every handler call appends "<pid> <event id>" to $TELHOOK_TEST_CONTROL_DIR/calls, then writes a
Processed row in the handler's transaction (a double processing shows as two rows). Behaviour is
steered through files in the control dir: "fail-rate" (a fraction of calls raise after writing
their row, which must roll back), "always-fail", "sleep" (seconds to sleep after writing the
row; "entered" is created first). The policy comes from $TELHOOK_TEST_INBOX_POLICY (JSON)."""

import json
import os
import pathlib
import random
import time

from django.conf import settings

from telhook.django import webhook
from telhook.django.inbox import DjangoInbox
from telhook.inbox import InboxPolicy

from .models import Processed

inbox = DjangoInbox(policy=InboxPolicy(**json.loads(os.environ.get("TELHOOK_TEST_INBOX_POLICY", "{}"))))


def _control() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TELHOOK_TEST_CONTROL_DIR", "/nonexistent"))


class InjectedFailure(Exception):
    pass


@webhook("limephone", credentials=settings.TELHOOK["limephone"], inbox=inbox)
def limephone_inbox_hook(event):
    control = _control()
    with open(control / "calls", "a") as calls:
        calls.write(f"{os.getpid()} {event['id']}\n")
    Processed.objects.create(event_id=event["id"], view="inbox")
    if (control / "sleep").exists():
        (control / "entered").touch()
        time.sleep(float((control / "sleep").read_text() or "10"))
    if (control / "always-fail").exists():
        raise InjectedFailure("the handler always fails")
    rate = control / "fail-rate"
    if rate.exists() and random.random() < float(rate.read_text()):
        raise InjectedFailure("one attempt in ten fails")
