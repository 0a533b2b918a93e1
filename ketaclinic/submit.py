"""The one shape of a page's POST that changes something, for every app's views.

A view binds its form (``MyForm(posted(request))``) and hands it to :func:`submit` with the one use case the
POST asks for. A valid form's cleaned data goes to the use case with the acting person; a use case that refuses
raises its app's error, whose ``errors`` (``{field: message}``) go onto the form next to the fields they name.
Nothing changes on a refusal: the page is shown again with the bound form. On success the person is told what
was done and redirected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages

from ketaclinic.audit.services import Actor
from ketaclinic.formfields import show_refusal


def submit(request, form, use_case: Callable[[Actor, dict], Any], *, refused_by: type[Exception],
           done: Callable[[Any], Any], again: Callable[[Any], Any], saved: str | Callable[[Any], str] = ""):
    """Run ``use_case(actor, cleaned_data)`` for a valid ``form``; answer ``done(result)`` after it, else
    ``again(form)``: the page with the refused form (or, on a GET, with the unbound one).

    ``refused_by`` is the use case's error class (it carries ``errors``); ``saved`` is the success message, or a
    function of the use case's result that writes it (empty: no message)."""
    if form.is_valid():
        try:
            result = use_case(Actor.from_request(request), form.cleaned_data)
        except refused_by as e:
            show_refusal(form, e.errors)
        else:
            message = saved(result) if callable(saved) else saved
            if message:
                messages.success(request, message)
            return done(result)
    return again(form)
