"""SMART Backend Services endpoints: the token endpoint (client credentials with a signed JWT assertion) and the
SMART configuration that tells a client where it is and what it accepts. Both are public: the assertion is the
client's credential."""

from __future__ import annotations

from django import forms
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from ketaclinic.audit.services import client_ip
from ketaclinic.fhir import services
from ketaclinic.fhir.outcome import methods

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_url(request) -> str:
    """The token endpoint's absolute URL: what a client assertion's ``aud`` must say."""
    return request.build_absolute_uri(reverse("fhir:token"))


class TokenRequestForm(forms.Form):
    """The token request's form fields (application/x-www-form-urlencoded, RFC 6749 section 4.4 and RFC 7523)."""

    grant_type = forms.CharField(max_length=100)
    client_assertion_type = forms.CharField(max_length=200)
    client_assertion = forms.CharField(max_length=20000, strip=True)
    scope = forms.CharField(max_length=4000, required=False)


def oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status, headers=NO_STORE)


@csrf_exempt  # a client credential in the body, no cookie: nothing for a cross-site request to ride on
@methods("POST")
def token(request):
    form = TokenRequestForm(request.POST)
    if not form.is_valid():
        missing = ", ".join(sorted(form.errors))
        return oauth_error("invalid_request", f"The token request needs grant_type, client_assertion_type and "
                                              f"client_assertion as form fields; wrong or missing: {missing}.")
    data = form.cleaned_data
    try:
        issued = services.exchange_assertion(
            grant_type=data["grant_type"], assertion_type=data["client_assertion_type"],
            assertion=data["client_assertion"], scope=data["scope"] or None, token_url=token_url(request),
            client_ip=client_ip(request))
    except services.TokenError as e:
        response = oauth_error(e.error, e.description, e.status)
        if e.retry_after:
            response["Retry-After"] = str(e.retry_after)
        return response
    return JsonResponse(issued.as_json(), headers=NO_STORE)


@methods("GET", "HEAD")
def smart_configuration(request):
    """``/.well-known/smart-configuration`` (SMART App Launch 2, for backend services)."""
    return JsonResponse({
        "token_endpoint": token_url(request),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": sorted(services.ALGORITHMS),
        "scopes_supported": ["system/*.rs", "system/*.read", "system/Patient.c"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    })
