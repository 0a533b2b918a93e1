"""Sign-in (password, then the second factor), the authenticator set-up, password change and reset, and the clinic
admin's sign-in security page. Views bind a form and call one use case of ``accounts/services.py``."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts import secondfactor, services, throttle
from ketaclinic.accounts.forms import (
    AdminUnlockForm,
    EnrolForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    RemoveSecondFactorForm,
    SecondFactorForm,
    SetPasswordForm,
    SignInForm,
    UnlockForm,
    safe_next,
)
from ketaclinic.accounts.models import SignInCounter, User, managed_by
from ketaclinic.accounts.services import AccountError, SignInRefused, sign_in
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, client_ip
from ketaclinic.formfields import posted, show_refusal

#: A correct password waiting for its second factor: {"user", "at", "next", "step"} in the (not yet signed-in)
#: session. The person is signed in only once the second factor is proved.
PENDING = "kc_pending_sign_in"
PENDING_SECONDS = 5 * 60
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _landing(user, next_url: str) -> str:
    if next_url:
        return next_url
    return reverse("portal:home") if hasattr(user, "patient_account") else reverse("clinic:today")


def _complete(request, user, next_url: str):
    request.session.pop(PENDING, None)
    login(request, user, backend=BACKEND)  # a new session key: nothing from before the sign-in carries over
    return redirect(_landing(user, next_url))


def _pending(request) -> tuple[User | None, dict]:
    """The account whose password was accepted in this browser a moment ago, if still waiting."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, {}
    return User.objects.filter(pk=data.get("user"), is_active=True).first(), data


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = SignInForm(posted(request), initial={"next": safe_next(request.GET.get("next"), request.get_host())})
    if request.method == "POST" and form.is_valid():
        try:
            accepted = sign_in(request, form.cleaned_data["username"], form.cleaned_data["password"])
        except SignInRefused as refused:
            form.add_error(None, str(refused))
        else:
            next_url = form.cleaned_data["next"]
            if not (next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()})):
                next_url = ""
            if not accepted.step:
                return _complete(request, accepted.user, next_url)
            request.session[PENDING] = {"user": accepted.user.pk, "at": int(time.time()), "next": next_url,
                                        "step": accepted.step}
            return redirect("accounts:second_factor" if accepted.step == "verify" else "accounts:enrol")
    return render(request, "accounts/login.html", {"form": form})


@require_http_methods(["GET", "POST"])
def second_factor(request):
    """After the password: the code from the authenticator app, or a recovery code."""
    user, data = _pending(request)
    if user is None:
        return render(request, "accounts/second_factor.html", {"expired": True})
    if data.get("step") == "enrol":
        return redirect("accounts:enrol")
    form = SecondFactorForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            how = services.verify_second_factor(user=user, code=form.cleaned_data["code"], client_ip=client_ip(request))
        except SignInRefused as refused:
            form.add_error("code", str(refused))
        else:
            response = _complete(request, user, data.get("next", ""))
            if how == "recovery code":
                left = secondfactor.recovery_codes_left(user)
                messages.warning(request, f"You signed in with a recovery code; {left} left. Each works once: if your "
                                          "phone is lost, set up a new authenticator (Password → Authenticator app).")
            return response
    return render(request, "accounts/second_factor.html", {"form": form, "expired": False,
                                                            "has_passkeys": user.passkeys.exists()})


@never_cache  # shows an authenticator secret, then recovery codes, maybe before the person is signed in
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Set up an authenticator app: during a sign-in that requires one, or later by a signed-in staff member."""
    signing_in = not request.user.is_authenticated
    if signing_in:
        user, data = _pending(request)
        if user is None:
            return render(request, "accounts/second_factor.html", {"expired": True})
        if data.get("step") != "enrol":
            # A password alone never sets up (and so never replaces) an authenticator: an account that has one
            # proves it on the code page.
            return redirect("accounts:second_factor")
    else:
        user, data = request.user, {}
        if not secondfactor.is_staff_account(user):
            return redirect("portal:home")
    has_authenticator = secondfactor.authenticator(user) is not None
    form = EnrolForm(posted(request), replacing=has_authenticator)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.confirm_enrolment(user=user, code=form.cleaned_data["code"], client_ip=client_ip(request),
                                               signing_in=signing_in,
                                               current_code=form.cleaned_data.get("current_code", ""))
        except AccountError as e:
            show_refusal(form, e.errors)
        else:
            if signing_in:
                request.session.pop(PENDING, None)
                login(request, user, backend=BACKEND)
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "next": _landing(user, data.get("next", ""))})
    device = services.start_enrolment(user)
    return render(request, "accounts/enrol.html", {
        "form": form, "qr": secondfactor.qr_svg(device), "secret": secondfactor.secret_text(device),
        "required": secondfactor.required_for(user), "signing_in": signing_in,
        "has_authenticator": has_authenticator,
    })


@require_http_methods(["GET", "POST"])
def unlock(request):
    """Lift the sign-in delay on one's own username with the authenticator (or a recovery code)."""
    form = UnlockForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.unlock_with_second_factor(username=form.cleaned_data["username"], code=form.cleaned_data["code"],
                                               client_ip=client_ip(request))
        except SignInRefused as refused:  # this source address tried too often (says nothing of the username)
            form.add_error(None, str(refused))
        else:
            # The same answer whether the username exists, has an authenticator, or the code was right.
            messages.info(request, "If that code was right, the delay on that username is lifted: sign in now. If "
                                   "you are still asked to wait, ask a clinic admin.")
            return redirect("accounts:login")
    return render(request, "accounts/unlock.html", {"form": form})


@require_POST
def logout_view(request):
    audit.record(Actor.from_request(request), AuditAction.AUTH_SIGN_OUT, subject=request.user)
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


# ------------------------------------------------------------------------------------------ passwords
def change_password_page(request, *, template: str, done: str):
    """Change one's own password (staff and portal patients share the use case; each has its page)."""
    form = PasswordChangeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(actor=Actor.from_request(request), user=request.user, **form.cleaned_data)
        except AccountError as e:
            show_refusal(form, e.errors)
        else:
            update_session_auth_hash(request, request.user)  # this session stays; every other one is signed out
            messages.success(request, "Your password is changed. Other devices signed in as you are signed out.")
            return redirect(done)
    return render(request, template, {"form": form,
                                      "has_authenticator": secondfactor.authenticator(request.user) is not None})


@require_http_methods(["GET", "POST"])
def password_change(request):
    return change_password_page(request, template="accounts/password_change.html",
                                done=reverse("accounts:password_change_done"))


def password_change_done(request):
    return render(request, "accounts/password_change_done.html")


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """Ask for a reset link by email: the same answer whether or not an account uses the address."""
    form = PasswordResetRequestForm(posted(request))
    if request.method == "POST" and form.is_valid():
        sent = services.request_password_reset(
            email=form.cleaned_data["email"], client_ip=client_ip(request),
            link_for=lambda uid, token: request.build_absolute_uri(reverse("accounts:password_reset_confirm",
                                                                           args=[uid, token])))
        return render(request, "accounts/password_reset.html", {"sent": sent, "form": None,
                                                                "minutes": services.reset_minutes()})
    return render(request, "accounts/password_reset.html", {"form": form, "minutes": services.reset_minutes()})


@never_cache  # the link's page is for one person, who is not signed in (the no-store middleware does not cover it)
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request, uidb64: str, token: str):
    """The link from the email: choose a new password. Works once, for PASSWORD_RESET_TIMEOUT."""
    if services.user_for_reset(uidb64, token) is None:
        services.refuse_reset_link(client_ip=client_ip(request))
        return render(request, "accounts/password_reset_confirm.html", {"expired": services.EXPIRED_LINK})
    form = SetPasswordForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_password(uidb64=uidb64, token=token, client_ip=client_ip(request), **form.cleaned_data)
        except AccountError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Your password is set. Sign in with it now.")
            return redirect("accounts:login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form, "expired": ""})


# ------------------------------------------------------------------------------------------ clinic admin
def sign_in_security(request, *, unlock_form=None, remove_form=None, status=200):
    """Clinic admin: usernames and addresses with counted failures or a delay, with the button that lifts it; and
    removing a staff member's lost authenticator."""
    now = timezone.now()
    # a username's counter only for an account the admin manages (or one no account has)
    others = {u.lower() for u in User.objects.filter(~managed_by(request.user)).values_list("username", flat=True)}
    counters = [c for c in throttle.blocked(now) if c.kind != SignInCounter.Kind.USERNAME or c.key not in others]
    for c in counters:
        c.waiting = throttle.wait_seconds(c.blocked_until, now) if c.blocked_until and c.blocked_until > now else 0
    return render(request, "accounts/sign_in_security.html", {
        "counters": counters, "unlock_form": unlock_form or AdminUnlockForm(),
        "remove_form": remove_form or RemoveSecondFactorForm(),
    }, status=status)


@require_POST
def lift_delay(request):
    form = AdminUnlockForm(posted(request))
    if not form.is_valid():
        return sign_in_security(request, unlock_form=form, status=400)
    try:
        lifted = services.unlock_sign_in(actor=Actor.from_request(request), kind=form.cleaned_data["kind"],
                                         key=form.cleaned_data["key"])
    except AccountError as e:
        show_refusal(form, e.errors)
        return sign_in_security(request, unlock_form=form, status=400)
    messages.success(request, f"Delay lifted on {form.cleaned_data['key']}." if lifted
                     else f"{form.cleaned_data['key']} had no delay or failures to lift.")
    return redirect("accounts:sign_in_security")


@require_POST
def remove_second_factor(request):
    form = RemoveSecondFactorForm(posted(request))
    if form.is_valid():
        try:
            user, removed = services.remove_second_factor(actor=Actor.from_request(request),
                                                          username=form.cleaned_data["username"])
        except AccountError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, f"Removed {removed} second-factor device(s) of {user.username}; they set up a "
                                      "new authenticator at their next sign-in.")
            return redirect("accounts:sign_in_security")
    return sign_in_security(request, remove_form=form, status=400)
