"""A patient's own decision about research use of their de-identified data, in the portal: what the research export
would share and what it never shares (read from the export's own settings), their current decision and its history,
and a yes, a no, or a withdrawal of a yes. Each decision is a new row of the append-only history, recorded "in the
patient portal" through the same use case as the staff's page (``research.record_research_consent``). The page
shows and changes only the signed-in patient's own decisions; it takes no id."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.portal.views import portal_page
from ketaclinic.reports import research
from ketaclinic.reports.forms import PortalResearchForm
from ketaclinic.reports.models import ResearchConsent

SAID = {ResearchConsent.Decision.GIVEN: "Thank you: your de-identified data may now go into the clinic's research "
                                        "export. You can withdraw this here at any time.",
        ResearchConsent.Decision.REFUSED: "Saved: your data will not go into the clinic's research export.",
        ResearchConsent.Decision.WITHDRAWN: "Saved: your consent is withdrawn. Your data will not go into any "
                                            "research export from now on."}


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.PORTAL_RESEARCH_VIEWED)
def my_research(request):
    patient = request.patient
    history = list(patient.research_consents.order_by("-recorded_at", "-pk"))
    current = history[0] if history else None
    form = PortalResearchForm(posted(request), current=current.decision if current else None)
    if form.is_bound and form.is_valid():
        try:
            research.record_research_consent(actor=Actor.from_request(request), patient=patient, data={
                "decision": form.cleaned_data["decision"], "how": ResearchConsent.How.PORTAL})
        except research.ConsentError as refused:
            show_refusal(form, refused.errors)
        else:
            messages.success(request, SAID[form.cleaned_data["decision"]])
            return redirect("reports:my_research")
    lo, hi = research.shift_range()
    return render(request, "reports/portal/research.html", {
        "form": form, "current": current, "history": history,
        "shift_weeks": (lo // 7, hi // 7), "small": research.suppress_below() - 1, "k": research.suppress_below(),
    }, status=400 if form.is_bound else 200)
