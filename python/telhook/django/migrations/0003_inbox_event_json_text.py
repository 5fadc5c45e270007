from django.db import migrations

import telhook.django.models


class Migration(migrations.Migration):
    """The stored event as JSON text: PostgreSQL's jsonb refuses a NUL character in a document."""

    dependencies = [
        ('telhook', '0002_inbox_event'),
    ]

    operations = [
        migrations.AlterField(
            model_name='inboxevent',
            name='event',
            field=telhook.django.models.JSONTextField(),
        ),
    ]
