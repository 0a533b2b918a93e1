"""The cockpit's predicted-level panel (issue 14): an htmx partial loaded after the cockpit (its band and curves cost
the cockpit nothing; only the Discharge card's one line of advice is computed with the page) and redrawn every
minute while the session runs, and whenever the cockpit reloads after a dosing event. Read-only; the prediction is :func:`ketaclinic.treatments.predictions.predict`."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ketaclinic.clinic.models import current_clinic
from ketaclinic.patients.careteam import guarded
from ketaclinic.treatments import predictions
from ketaclinic.treatments.models import TreatmentSession


@require_GET
def pk_prediction(request, external_id):
    s = guarded(request, get_object_or_404(TreatmentSession.objects.select_related("patient", "patient__clinic", "order"),
                                           external_id=external_id, patient__clinic=current_clinic()))
    p = predictions.predict(s)
    return render(request, "treatments/_pk_panel.html#panel",
                  {"s": s, "p": p, "plot": predictions.plot(p, s.patient.clinic.tz) if p.ok else None})
