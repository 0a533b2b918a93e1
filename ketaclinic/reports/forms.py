"""The reports' forms: the filters every report page takes (read from the query string on a report page, from the
posted fields when a whole report is exported in the background), and a patient's research consent decision."""

from __future__ import annotations

from django import forms

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.formfields import IsoDateField, TextField
from ketaclinic.reports.base import DIAGNOSIS_GROUPS, ReportFilters
from ketaclinic.reports.models import ResearchConsent

DIAGNOSIS_LABELS = dg.LABELS
ROUTE_CHOICES = [("iv", "IV infusion"), ("im", "IM injection"), ("intranasal", "Intranasal (esketamine)")]


class NetworkFilterForm(forms.Form):
    """The filters every clinic of a network shares: the period, the diagnosis group and the route. Every field may
    be left empty (= all). A report across the clinics takes these; one clinic's report adds its own prescriber
    and room (:class:`ReportFilterForm`)."""

    start = IsoDateField(required=False, label="From (day, inclusive)")
    end = IsoDateField(required=False, label="To (day, inclusive)")
    diagnosis = forms.ChoiceField(required=False, label="Diagnosis group",
                                  choices=[("", "All diagnoses"), *((g, DIAGNOSIS_LABELS.get(g, g))
                                                                    for g in DIAGNOSIS_GROUPS)])
    route = forms.ChoiceField(required=False, label="Route", choices=[("", "All routes"), *ROUTE_CHOICES])

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The last day comes before the first; swap them or widen the range.")
        return data

    def filters(self) -> ReportFilters:
        """The filters of a valid form (call ``is_valid()`` first); an unbound form gives "all records"."""
        data = self.cleaned_data if self.is_bound else {}
        return ReportFilters(start=data.get("start"), end=data.get("end"), diagnosis=data.get("diagnosis") or None,
                             route=data.get("route") or None, **self._clinic_filters(data))

    def _clinic_filters(self, data) -> dict:
        return {}


class NetworkPageForm(NetworkFilterForm):
    """The network page's filters, and how the clinics are shown: pooled into one set of figures (the default), or
    side by side."""

    POOLED, SIDE_BY_SIDE = "pooled", "clinics"
    view = forms.ChoiceField(required=False, label="Show the clinics",
                             choices=[(POOLED, "Pooled"), (SIDE_BY_SIDE, "Side by side")])
    field_order = ["view", "start", "end", "diagnosis", "route"]

    def view_choice(self) -> str:
        data = self.cleaned_data if self.is_bound else {}
        return data.get("view") or self.POOLED


class ReportFilterForm(NetworkFilterForm):
    """One clinic's report's filters: the shared ones, and the prescriber (chosen by their public id) and the room
    (by its name in the list). Two queries at construction: the clinic's prescribers and its rooms."""

    prescriber = forms.ChoiceField(required=False, label="Prescriber (who signed the order)")
    room = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Location (room)")
    field_order = ["start", "end", "prescriber", "room", "diagnosis", "route"]

    def __init__(self, *args, clinic=None, **kwargs):
        super().__init__(*args, **kwargs)
        from ketaclinic.accounts.models import User
        from ketaclinic.clinic.models import Room, current_clinic

        clinic = clinic or current_clinic()
        prescribers = list(User.objects.filter(role_grants__role="prescriber", role_grants__clinic=clinic).distinct()
                           .order_by("last_name", "first_name", "pk").only(
                               "pk", "external_id", "display_name", "first_name", "last_name", "username",
                               "credentials"))
        self._prescriber_pk = {str(u.external_id): u.pk for u in prescribers}
        self.fields["prescriber"].choices = [("", "All prescribers"),
                                             *((str(u.external_id), u.label) for u in prescribers)]
        self.fields["room"].choices = [("", "All rooms"), *Room.objects.filter(clinic=clinic).order_by(
            "name").values_list("pk", "name")]

    def _clinic_filters(self, data) -> dict:
        return {"prescriber_id": self._prescriber_pk.get(data.get("prescriber") or ""), "room_id": data.get("room")}


def filters_to_params(filters: ReportFilters) -> dict:
    """A ReportFilters as JSON (the job's params); :func:`filters_from_params` reads it back."""
    return {"start": filters.start.isoformat() if filters.start else None,
            "end": filters.end.isoformat() if filters.end else None,
            "prescriber_id": filters.prescriber_id, "room_id": filters.room_id,
            "diagnosis": filters.diagnosis, "route": filters.route}


def filters_from_params(params: dict) -> ReportFilters:
    from datetime import date

    return ReportFilters(start=date.fromisoformat(params["start"]) if params.get("start") else None,
                         end=date.fromisoformat(params["end"]) if params.get("end") else None,
                         prescriber_id=params.get("prescriber_id"), room_id=params.get("room_id"),
                         diagnosis=params.get("diagnosis"), route=params.get("route"))


class ResearchConsentForm(forms.Form):
    decision = forms.ChoiceField(choices=ResearchConsent.Decision.choices, label="Decision")
    how = forms.ChoiceField(choices=ResearchConsent.How.choices, label="How it was given")
    note = TextField(max_length=300, required=False, label="Note (kept in the chart, never exported)")


#: What a patient may decide in the portal, given their current decision (None: none recorded yet).
PORTAL_CHOICES = {
    None: (ResearchConsent.Decision.GIVEN, ResearchConsent.Decision.REFUSED),
    ResearchConsent.Decision.REFUSED: (ResearchConsent.Decision.GIVEN,),
    ResearchConsent.Decision.WITHDRAWN: (ResearchConsent.Decision.GIVEN,),
    ResearchConsent.Decision.GIVEN: (ResearchConsent.Decision.WITHDRAWN,),
}
#: What each of those buttons says to the patient (yes and no worded alike).
PORTAL_BUTTONS = {
    ResearchConsent.Decision.GIVEN: "Yes, my de-identified data may be used for research",
    ResearchConsent.Decision.REFUSED: "No, do not use my data for research",
    ResearchConsent.Decision.WITHDRAWN: "Withdraw my consent",
}


class PortalResearchForm(forms.Form):
    """A patient's own decision in the portal: the button they pressed (only the decisions open to them now:
    :data:`PORTAL_CHOICES`), and for a yes, that they have read what would be shared."""

    decision = forms.ChoiceField(error_messages={"required": "Choose yes or no.",
                                                 "invalid_choice": "That choice is not open to you now; the page "
                                                                   "shows your current decision."})
    read_it = forms.BooleanField(required=False, label="I have read what would be shared and what would not")

    def __init__(self, *args, current: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = [(d.value, PORTAL_BUTTONS[d]) for d in PORTAL_CHOICES[current]]
        #: whether yes is open now (the page then shows the "I have read it" box)
        self.yes_open = ResearchConsent.Decision.GIVEN in PORTAL_CHOICES[current]

    def clean(self):
        data = super().clean()
        if data.get("decision") == ResearchConsent.Decision.GIVEN and not data.get("read_it"):
            self.add_error("read_it", "Tick the box to say you have read what would be shared before saying yes.")
        return data


class ReportExportForm(ReportFilterForm):
    """Export one whole report in the background: which report (posted by its page) and its filters (the page's
    query string, or posted fields)."""

    report = forms.ChoiceField(widget=forms.HiddenInput, error_messages={"invalid_choice": "There is no such report."})

    def __init__(self, *args, **kwargs):
        from ketaclinic.reports.registry import REPORTS

        super().__init__(*args, **kwargs)
        self.fields["report"].choices = [(slug, e.title) for slug, e in REPORTS.items()]
