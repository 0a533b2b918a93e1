"""Passkey pages: a staff member's passkeys (add, remove), and the passkey step of signing in. Each view binds a form
(``passkey_forms.py``) and calls one function of ``passkeys.py``; the browser's half of each ceremony is
``static/js/passkeys.js``."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts import passkeys, services
from ketaclinic.accounts.passkey_forms import AddPasskeyForm, PasskeyAnswerForm, ProveItIsYouForm, StartForm
from ketaclinic.accounts.views import _complete, _pending
from ketaclinic.audit.services import Actor
from ketaclinic.formfields import posted


def _json(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, content_type="application/json", status=status)


def _list_page(request, form, status=200):
    return render(request, "accounts/passkeys.html", {"passkeys": request.user.passkeys.all(), "form": form,
                                                      "prove": ProveItIsYouForm()}, status=status)


@require_GET
def passkey_list(request):
    return _list_page(request, AddPasskeyForm())


@never_cache
@require_POST
def passkey_add_options(request):
    """The options to add a passkey, once the person typed the account's password again."""
    form = ProveItIsYouForm(posted(request))
    if not form.is_valid():
        return _json('{"error": "Type your password to add a passkey."}', status=400)
    try:
        services.confirm_own_password(actor=Actor.from_request(request), user=request.user,
                                      password=form.cleaned_data["password"])
    except services.AccountError as refused:
        return _json(json.dumps({"error": " ".join(str(m) for m in refused.errors.values())}), status=400)
    return _json(passkeys.registration_options(request, request.user))


@require_POST
def passkey_add(request):
    form = AddPasskeyForm(posted(request))
    if form.is_valid():
        try:
            key = passkeys.register(request, request.user, credential=form.cleaned_data["credential"],
                                    name=form.cleaned_data["name"])
        except passkeys.PasskeyError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, f"Passkey “{key.name}” added. Next time, use it after your password.")
            return redirect("accounts:passkeys")
    return _list_page(request, form, status=400)


@require_POST
def passkey_remove(request, passkey_id: int):
    if not StartForm(posted(request)).is_valid():
        return redirect("accounts:passkeys")
    key = get_object_or_404(request.user.passkeys, pk=passkey_id)  # one's own passkeys only
    passkeys.remove(request, Actor.from_request(request), key)
    messages.success(request, f"Passkey “{key.name}” removed.")
    return redirect("accounts:passkeys")


@never_cache
@require_POST
def passkey_sign_in_options(request):
    """After the password: the options for the pending account's passkeys (nothing without a pending sign-in)."""
    user, data = _pending(request)
    if user is None or data.get("step") != "verify" or not StartForm(posted(request)).is_valid():
        return _json('{"error": "Sign in again: type your password first."}', status=400)
    return _json(passkeys.sign_in_options(request, user))


@require_POST
def passkey_sign_in(request):
    user, data = _pending(request)
    if user is None or data.get("step") != "verify":
        return render(request, "accounts/second_factor.html", {"expired": True}, status=400)
    form = PasskeyAnswerForm(posted(request))
    if form.is_valid():
        try:
            passkeys.verify_sign_in(request, user, credential=form.cleaned_data["credential"])
        except passkeys.PasskeyError as e:
            messages.error(request, str(e))
        else:
            return _complete(request, user, data.get("next", ""))
    else:
        messages.error(request, "The passkey's answer did not arrive whole; try again.")
    return redirect("accounts:second_factor")
