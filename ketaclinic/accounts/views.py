from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.forms import SignInForm
from ketaclinic.accounts.services import SignInRefused, sign_in
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.formfields import posted


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = SignInForm(posted(request), initial={"next": request.GET.get("next", "")})
    if request.method == "POST" and form.is_valid():
        try:
            user = sign_in(request, form.cleaned_data["username"], form.cleaned_data["password"])
        except SignInRefused as refused:
            form.add_error(None, str(refused))
        else:
            login(request, user)
            next_url = form.cleaned_data["next"]
            if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                return redirect(next_url)
            if hasattr(user, "patient_account"):
                return redirect("portal:home")
            return redirect("clinic:today")
    return render(request, "accounts/login.html", {"form": form})


@require_POST
def logout_view(request):
    audit.record(Actor.from_request(request), AuditAction.AUTH_SIGN_OUT, subject=request.user)
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        with transaction.atomic():  # the change and its audit entry commit together
            response = super().form_valid(form)
            audit.record(Actor.from_request(self.request), AuditAction.AUTH_PASSWORD_CHANGED, subject=self.request.user)
        return response


class PasswordChangeDone(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
