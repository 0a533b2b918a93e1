"""What the staff and the portal password tests share: whether a password signs in, and the password-change form
posted."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def can_sign_in(username: str, password: str) -> bool:
    """Whether the sign-in page, in a browser of its own, lets ``username`` in with ``password``."""
    c = Client()
    c.post(reverse("accounts:login"), {"username": username, "password": password})
    return "_auth_user_id" in c.session


def change_password(client: Client, url_name: str, old: str, new: str):
    """``client`` posts the password-change form of ``url_name``: ``old`` as the current password, ``new`` twice."""
    return client.post(reverse(url_name), {"old_password": old, "new_password1": new, "new_password2": new})
