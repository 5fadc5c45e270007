from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="MessageStatus",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=32)),
                ("message_id", models.CharField(max_length=255)),
                ("recipient", models.CharField(blank=True, default="", max_length=32)),
                ("status", models.CharField(max_length=16)),
                ("rank", models.SmallIntegerField()),
                ("is_final", models.BooleanField(verbose_name="final")),
                ("error", models.JSONField(blank=True, null=True)),
                ("seen", models.JSONField(default=dict, help_text="status -> earliest time reported")),
                ("parts", models.PositiveSmallIntegerField(default=1)),
                ("delivered_parts", models.JSONField(default=dict, help_text="event id -> time, per delivered part")),
                ("last_verdict", models.CharField(help_text="what the last report did", max_length=16)),
            ],
            options={
                "verbose_name": "message status",
                "verbose_name_plural": "message statuses",
                "db_table": "telhook_message_status",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("provider", "message_id", "recipient"), name="telhook_message_status_key"
                    )
                ],
            },
        ),
    ]
