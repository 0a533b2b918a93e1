"""The reminders' background work, on Django's task framework (``manage.py worker`` runs it).
``manage.py send_reminders`` enqueues one run; a cron job or systemd timer calls it every few minutes."""

from __future__ import annotations

from django.tasks import task


@task
def run_reminders() -> dict:
    """Plan the reminders that have come due and send them (``engine.run``); returns the counts."""
    from ketaclinic.reminders import engine

    result = engine.run()
    return {"planned": result.planned, "sent": result.sent, "failed": result.failed, "skipped": result.skipped}
