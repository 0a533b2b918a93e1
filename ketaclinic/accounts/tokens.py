"""The password reset link's token: Django's, with its clock in UTC.

Django's ``PasswordResetTokenGenerator`` stamps a token with the server's local wall-clock time (``datetime.now()``,
naive, in ``TIME_ZONE``) and measures its age on the same wall clock. In a time zone that changes its clocks, the
age is then off by the hour the clocks moved: a link asked for in the hour before the autumn change stayed valid
for up to 90 minutes instead of 30, and one asked for in the half hour before the spring change expired when the
clocks jumped, before its 30 minutes were up.
Here the stamp and the age are read from UTC, which moves evenly. A link asked for before this change counts as
hours older (UTC is ahead of the Americas' clocks) and is refused: the account holder asks for another."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils import timezone


class UtcPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    def _now(self) -> datetime:
        return timezone.now().astimezone(UTC).replace(tzinfo=None)  # naive, as _num_seconds counts


reset_tokens = UtcPasswordResetTokenGenerator()
