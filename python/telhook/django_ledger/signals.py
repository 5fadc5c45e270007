"""Signals in the style of django-anymail's ``tracking``/``inbound``.

``event_received(sender=<provider name>, event=<NormalizedEvent>)``: every event passed to
``ledger.record``. ``message_status_changed(sender=MessageStatus, status=<MessageStatus>,
event=<NormalizedEvent>, verdict="applied")``: a report raised a message's stored status.
"""

from django.dispatch import Signal

event_received = Signal()
message_status_changed = Signal()
