"""OperationOutcome answers: every error the FHIR facade gives is one of these (issue 12, "OperationOutcome for every
error with a clear message").

``operation_outcome(400, "invalid", "…", expression="Observation.date")`` returns an ``HttpResponse`` with
``Content-Type: application/fhir+json`` and one ``issue`` (severity ``error``). ``code`` is from the FHIR value set
``issue-type`` (http://hl7.org/fhir/R4/valueset-issue-type.html, a required binding); a code outside it raises
``ValueError`` at once (a programming error, never a client's).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"

#: http://hl7.org/fhir/R4/valueset-issue-type.html (required binding of OperationOutcome.issue.code).
ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired", "forbidden",
    "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found", "deleted", "too-long",
    "code-invalid", "extension", "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store",
    "exception", "timeout", "incomplete", "throttled", "informational",
})
SEVERITIES = frozenset({"fatal", "error", "warning", "information"})


def issue(code: str, message: str, *, severity: str = "error", expression: str | Iterable[str] | None = None) -> dict:
    """One ``OperationOutcome.issue`` (a dict the R4B model reads)."""
    if code not in ISSUE_TYPES:
        raise ValueError(f"{code!r} is not an OperationOutcome issue type")
    if severity not in SEVERITIES:
        raise ValueError(f"{severity!r} is not an OperationOutcome issue severity")
    out: dict = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        out["expression"] = [expression] if isinstance(expression, str) else list(expression)
    return out


def outcome_model(issues: list[dict]) -> OperationOutcome:
    return OperationOutcome(issue=issues)


def outcome_response(status: int, issues: list[dict], *, headers: dict[str, str] | None = None) -> HttpResponse:
    """An OperationOutcome with several issues (an import naming each bad entry)."""
    response = HttpResponse(outcome_model(issues).model_dump_json(exclude_none=True), status=status,
                            content_type=FHIR_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def operation_outcome(status: int, code: str, message: str, *, expression: str | Iterable[str] | None = None,
                      severity: str = "error", headers: dict[str, str] | None = None) -> HttpResponse:
    """The HTTP answer for one error: ``status`` (400, 401, 403, 404, 410, 422 …), the issue-type ``code`` and a
    sentence a client's developer can act on."""
    return outcome_response(status, [issue(code, message, severity=severity, expression=expression)],
                            headers=headers)


class FhirRequestError(Exception):
    """A request the facade refuses (bad parameter, unknown id …); the views turn it into an OperationOutcome."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid", expression: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.expression = expression

    def response(self) -> HttpResponse:
        return operation_outcome(self.status, self.code, self.message, expression=self.expression)


def methods(*allowed: str):
    """Like Django's ``require_http_methods``, but a request with another method gets a 405 OperationOutcome (with
    ``Allow``), not an empty page."""
    from functools import wraps

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in allowed:
                return operation_outcome(405, "not-supported", f"{request.method} is not supported here; this URL "
                                         f"takes {', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)})
            return view(request, *args, **kwargs)
        return wrapped
    return decorator
