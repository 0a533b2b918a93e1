"""The clinic admin's pages for backend clients: the list with the registration form, one client (its client id,
the token URL, its keys and scopes), and revoking it."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.clinic.models import current_clinic
from ketaclinic.fhir import services
from ketaclinic.fhir.forms import INTERACTIONS, ClientForm, RevokeForm
from ketaclinic.fhir.models import BackendClient
from ketaclinic.fhir.token_views import token_url
from ketaclinic.formfields import posted
from ketaclinic.submit import submit


@require_http_methods(["GET", "POST"])
def clients(request):
    clinic = current_clinic()
    form = ClientForm(posted(request))

    def again(form):
        return render(request, "fhir/clients.html", {
            "form": form, "clients": BackendClient.objects.filter(clinic=clinic), "interactions": INTERACTIONS,
            "token_url": token_url(request)})

    return submit(request, form, lambda actor, data: services.register_client(actor=actor, clinic=clinic, **data),
                  refused_by=services.ClientError, again=again,
                  saved=lambda c: f"{c.name} is registered. Give its developer the client id and the token URL.",
                  done=lambda c: redirect("fhir:client", client=c.external_id))


@require_http_methods(["GET"])
def client(request, client):
    c = get_object_or_404(BackendClient, external_id=client, clinic=current_clinic())
    return render(request, "fhir/client.html", {"client": c, "token_url": token_url(request),
                                                "revoke_form": RevokeForm()})


@require_POST
def client_revoke(request, client):
    c = get_object_or_404(BackendClient, external_id=client, clinic=current_clinic())
    return submit(request, RevokeForm(posted(request)),
                  lambda actor, data: services.revoke_client(actor=actor, client=c),
                  refused_by=services.ClientError, saved=lambda c: f"{c.name} is revoked: its tokens no longer work.",
                  done=lambda c: redirect("fhir:client", client=c.external_id),
                  again=lambda form: _refused(request, form, c))


def _refused(request, form, c):
    for error in form.non_field_errors():
        messages.error(request, error)
    return redirect("fhir:client", client=c.external_id)
