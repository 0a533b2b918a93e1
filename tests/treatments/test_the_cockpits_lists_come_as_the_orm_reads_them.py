"""The cockpit reads its session's lists (dosing events, adverse events, ratings, observations, pre-dose overrides,
alert acknowledgements) by statements written once (``ketaclinic.loading.children``) rather than built by the ORM
on every load: each list must come back as ``session.<list>.all()`` reads it, the same rows with the same values
in the model's own order, also where the order of entry is not the order in time (a rating recorded after the
fact)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic import loading
from ketaclinic.accounts.models import RoleGrant
from ketaclinic.treatments import services
from ketaclinic.treatments.models import (
    AdverseEvent,
    AlertAcknowledgement,
    ConsentSignature,
    Observation,
    PredoseOverride,
    SessionEvent,
    SessionRating,
)
from tests.factories import IV, actor, back_at, book_now, make_order, ready_to_start

pytestmark = pytest.mark.django_db

LISTS = {SessionEvent: "events", AdverseEvent: "adverse_events", SessionRating: "ratings",
         Observation: "observations", PredoseOverride: "predose_overrides", AlertAcknowledgement: "alert_acks"}


def _values(rows) -> list[tuple]:
    return [tuple(getattr(r, f.attname) for f in type(r)._meta.concrete_fields) for r in rows]


def test_each_list_is_the_orms_rows_in_the_orms_order(patient, staff, rooms):
    nurse, prescriber = actor(staff["nurse"]), actor(staff["prescriber"])
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff,
                       minutes_ago=60, bp=("172", "96"))  # a pre-dose reading at HOLD...
    held = s.vitals.order_by("-taken_at").first()
    services.override_predose_hold(actor=prescriber, session=s, reason="Anxious on arrival; rechecked",
                                   reading=held)  # ...that the prescriber overrides
    s = services.start_dose(actor=nurse, session=s, at=timezone.now() - timedelta(minutes=40))
    services.acknowledge_alert(actor=prescriber, session=s, reading_id=held.pk)
    services.dosing_event(actor=nurse, session=s, kind="pause", note="nausea")
    services.dosing_event(actor=nurse, session=s, kind="resume")
    services.add_adverse_event(actor=nurse, session=s, data={"kind": "nausea", "severity": "mild"})
    services.add_observation(actor=nurse, session=s, text="Calm, eyes closed")
    services.add_rating(actor=nurse, session=s, scale="moaas", timepoint="peak", answers={"level": 4})
    with back_at(timezone.now() - timedelta(minutes=20)):  # entered after the fact: earlier in time, later in pk
        services.add_observation(actor=nurse, session=s, text="Dissociated, responsive to voice")
        services.add_rating(actor=nurse, session=s, scale="moaas", timepoint="other", answers={"level": 3})
        services.add_adverse_event(actor=nurse, session=s, data={"kind": "dizziness", "severity": "mild"})

    for model, name in LISTS.items():
        orm = list(getattr(s, name).all())
        assert orm, f"{name}: the session has none, so this compares nothing"
        assert _values(loading.children(model, "session", s.pk)) == _values(orm), name
    for name in ("observations", "ratings"):
        by_entry = sorted(getattr(s, name).all(), key=lambda r: r.pk)
        assert [r.pk for r in getattr(s, name).all()] != [r.pk for r in by_entry], f"{name}: the order is in time"

    # a newest-first ordering (a patient's consent signatures) is read newest first
    assert loading._children_where(ConsentSignature, "patient").endswith('ORDER BY {signed_at} DESC, {id} DESC')
    assert _values(loading.children(ConsentSignature, "patient", patient.pk)) == _values(
        patient.consent_signatures.all())

    # an ordering that follows a relation (a role grant by its clinic) is the related model's ordering to the ORM:
    # refused, not read by the key
    with pytest.raises(ValueError, match="follows a relation"):
        loading.children(RoleGrant, "user", staff["nurse"].pk)
