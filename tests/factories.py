"""The one set of test builders. Every state is reached only through the app's own service functions (the ones its
views call), so a fixture can never hold a state the product cannot reach.

A journey step takes the session the previous step returned:

    s = book_now(make_order(patient, staff), staff, rooms)     # consult signed, order signed, session booked
    s = ready_to_start(s, staff)                                # checked in, pre-checks, vitals, dose verified
    s = dosing_stopped(dosing_started(s, staff), staff)         # dose given, observation running
    s = discharged(s, staff)                                    # observed (the clock moves on), discharged
    s = signed(s, staff)                                        # nurse and prescriber signatures

A step that needs time to pass moves the test clock (time-machine) forward; :func:`back_at` runs a whole journey
at an earlier moment (a session "three weeks ago") and then returns to the test's "now". Sessions are booked only
inside the clinic's hours on its working days: a session booked "now" when the clinic does not book then (CI's date
matrix: a Saturday, 01:30, New Year's Eve at 23:30) first moves the test clock on to the clinic's next bookable time
(:func:`open_now`); history is placed on the clinic's own days (:func:`open_day`, :func:`open_run`). Nothing here
reads the wall clock or writes a model field by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import time_machine
from django.utils import timezone

from ketaclinic.audit.services import Actor
from ketaclinic.clinic import services as clinic_services
from ketaclinic.clinic.hours import first_bookable, hours_of, outside_hours
from ketaclinic.clinic.models import Room
from ketaclinic.custody import services as custody
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.patients.services import record_measurement
from ketaclinic.screening import services as screening
from ketaclinic.treatments import demo, services
from ketaclinic.treatments.models import TreatmentSession

# The same order templates the demo clinic uses.
IV, IM, ESK = demo.IV, demo.IM, demo.ESK
TEMPLATES = {"iv": IV, "im": IM, "intranasal": ESK}


def actor(user) -> Actor:
    return Actor(user=user, roles=user.role_set(), client_ip="127.0.0.1")


# --------------------------------------------------------------------------------------------- the clock
def local(day: date, at: time, tz) -> datetime:
    """``day`` at clinic-local ``at`` (an aware datetime in the clinic's zone)."""
    return datetime.combine(day, at, tzinfo=tz)


@contextmanager
def back_at(moment: datetime) -> Iterator[None]:
    """Run the block with the test clock at ``moment`` (it ticks on from there), then return to the test's own
    timeline. For building history through the services: a session dosed and discharged weeks ago."""
    with time_machine.travel(timezone.localtime(moment), tick=True):  # keeps the process in the clinic's zone
        yield


def let_time_pass(minutes: float) -> None:
    """Let ``minutes`` pass on the test clock (time-machine's active traveller): everything recorded so far is
    that much further in the past."""
    if not time_machine.traveller_stack:  # pragma: no cover - every test runs under the autouse clock fixture
        raise RuntimeError("No test clock is running.")
    time_machine.traveller_stack[-1].shift(timedelta(minutes=minutes))


# --------------------------------------------------------------------------------------------- the clinic
def make_rooms(clinic, admin=None) -> dict:
    """The demo clinic's rooms, added through the clinic's own service: an infusion room and a Spravato suite
    with two chairs each, a consult room and an integration room."""
    by = actor(admin) if admin is not None else Actor.system("test clinic setup")
    add = clinic_services.add_room
    a = add(actor=by, clinic=clinic, name="Infusion Room A", kind=Room.Kind.INFUSION, chairs=2)
    spr = add(actor=by, clinic=clinic, name="Spravato Suite", kind=Room.Kind.INTRANASAL, chairs=2)
    consult = add(actor=by, clinic=clinic, name="Consult Room", kind=Room.Kind.CONSULT, chairs=0)
    therapy = add(actor=by, clinic=clinic, name="Integration Room", kind=Room.Kind.THERAPY, chairs=0)
    a1, a2 = a.chairs.order_by("label")
    s1, s2 = spr.chairs.order_by("label")
    return {"infusion": a, "spravato": spr, "consult": consult, "therapy": therapy,
            "a1": a1, "a2": a2, "s1": s1, "s2": s2}


def free_chair(room, start: datetime | None = None, minutes: int = 240):
    """A chair of ``room`` with no live session overlapping ``start`` (now by default)."""
    start = start or timezone.now()
    end = start + timedelta(minutes=minutes)
    busy = set(TreatmentSession.objects.exclude(status__in=services.CLOSED)
               .filter(room=room, scheduled_start__lt=end, scheduled_start__gt=start - timedelta(hours=6))
               .values_list("chair_id", flat=True))
    for chair in room.chairs.filter(active=True).order_by("label"):
        if chair.pk not in busy:
            return chair
    raise AssertionError(f"No free chair in {room.name}: give the test room more chairs.")


# --------------------------------------------------------------------------------------------- the clinic's hours
# A session is booked only on the clinic's working days, inside its booking hours, on a day it has not closed
# (ketaclinic.clinic.hours). The test clock may stand anywhere (CI's date matrix: a Saturday, a night the clocks
# change, New Year's Eve at 23:30), so a test picks its sessions' times through the clinic's own rules, as below,
# never by walking back to a weekday from the clock.
def chair_minutes(order) -> int:
    """The chair time ``order``'s sessions are booked for by default."""
    return services.default_minutes(order, services.limits_for(order.patient))


def template_minutes(clinic, data=None) -> int:
    """The chair time a session of an order written from ``data`` (a demo template; IV by default) is booked for at
    ``clinic``, before the order is written."""
    from ketaclinic.treatments.models import TreatmentOrder

    data = data or IV
    draft = TreatmentOrder(route=data["route"], infusion_minutes=int(data.get("infusion_minutes") or 0) or None)
    return services.default_minutes(draft, clinic.limits())


def bookable(clinic, start: datetime, minutes: int) -> bool:
    """Whether the clinic books a session of ``minutes`` from ``start``: a working day it has not closed, inside
    its hours."""
    day = timezone.localtime(start, clinic.tz).date()
    return not outside_hours(clinic, start, minutes) and not clinic.closed_days(day, day)


def next_bookable(clinic, moment: datetime, minutes: int = 240) -> datetime:
    """The clinic's first bookable start (its calendar's grid) at or after ``moment`` for a session of
    ``minutes``."""
    found = first_bookable(clinic, moment, moment + timedelta(weeks=3), minutes)
    assert found is not None, f"The clinic books no {minutes}-minute session in the 3 weeks from {moment}."
    return found


def set_booking_hours(clinic, staff, *, opens: time, closes: time, weekdays: str | None = None, slot: int = 15):
    """The clinic admin sets the clinic's booking hours (the calendar's, scheduling ``set_clinic_hours``) and, if
    given, its working weekdays ("0,1,2,3,4,5,6"), through their services."""
    from ketaclinic.scheduling import services as scheduling

    admin = actor(staff["clinic_admin"])
    if weekdays is not None:
        clinic_services.update_clinic(actor=admin, clinic=clinic, data={"working_weekdays": weekdays})
        clinic.refresh_from_db()
    scheduling.set_clinic_hours(actor=admin, clinic=clinic, opens=opens, closes=closes, slot_minutes=slot)
    return clinic


def open_day(clinic, n: int, at: time = time(10, 0)) -> datetime:
    """``at`` (clinic time) on the ``n``-th day after the clinic's today (``n`` > 0) or before it (``n`` < 0) that
    the clinic works and has not closed: sessions a fixed number of clinic days away, whatever day the test clock
    says. 10:00 fits any session in the default hours (08:00-18:00)."""
    day = timezone.localdate(timezone.now(), clinic.tz)
    hours = hours_of(clinic)
    step = timedelta(days=1 if n > 0 else -1)
    for _ in range(abs(n)):
        day += step
        while day.weekday() not in hours.weekdays or clinic.closed_days(day, day):
            day += step
    moment = wall_clock_moment(day, at, clinic.tz)
    assert moment is not None, f"{day} {at} does not exist in {clinic.tz}"
    return moment


def open_run(clinic, offsets, *, near: datetime, at: time = time(10, 0), minutes: int = 240) -> list[datetime]:
    """Starts at ``at`` (clinic time) on days ``offsets`` apart (calendar days from the first), from the latest first
    day on or before ``near``'s day on which the clinic books every one of them (:func:`bookable`): a series that
    keeps its own rhythm (three a week, say) on the clinic's working days, whatever day the test clock says."""
    day = timezone.localdate(near, clinic.tz)
    for _ in range(62):
        moments = [wall_clock_moment(day + timedelta(days=offset), at, clinic.tz) for offset in offsets]
        if all(m is not None and bookable(clinic, m, minutes) for m in moments):
            return moments
        day -= timedelta(days=1)
    raise AssertionError(f"The clinic books no days {offsets} apart in the two months before {near}.")


def clinic_open(clinic, *, minutes: int = 240, minutes_ago: int = 0) -> datetime:
    """The start of a session of ``minutes`` begun ``minutes_ago`` before now (to the minute), when the clinic books
    it then. Otherwise (a weekend, a closed day, the night) the test clock moves on to the clinic's next bookable
    time (:func:`next_bookable`) plus ``minutes_ago``, and that time is the start: a session "now" is one the clinic
    can book now. Called before a test builds history with :func:`open_day`, it makes "now" a clinic day."""
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    if bookable(clinic, start, minutes):
        return start
    start = next_bookable(clinic, start, minutes)
    if not time_machine.traveller_stack:  # pragma: no cover - every test runs under the autouse clock fixture
        raise RuntimeError("No test clock is running.")
    time_machine.traveller_stack[-1].move_to(timezone.localtime(start + timedelta(minutes=minutes_ago)))
    return start


def open_now(order, *, minutes_ago: int = 0) -> datetime:
    """:func:`clinic_open` for a session of ``order`` (its default chair time)."""
    return clinic_open(order.patient.clinic, minutes=chair_minutes(order), minutes_ago=minutes_ago)


# --------------------------------------------------------------------------------------------- consult and order
def record_weight(patient, staff, weight="70.0", measured_at=None):
    return record_measurement(actor=actor(staff["nurse"]), patient=patient, unit="metric", weight=Decimal(weight),
                              height=Decimal("170"), measured_at=measured_at).measurement


def make_eligible(patient, staff, drug="ketamine", weight="70.0", flags=(), sign=True):
    """A consult with MDD, two failed adequate trials, normal baseline BP; assessed and (by default) signed."""
    record_weight(patient, staff, weight, measured_at=timezone.now() - timedelta(days=7))
    nurse, prescriber = actor(staff["nurse"]), actor(staff["prescriber"])
    consult = screening.start_consult(actor=nurse, patient=patient, drug=drug)
    screening.update_intake(actor=nurse, consult=consult, data={
        "diagnoses": ["F33.2"], "history_flags": list(flags), "medication_classes": [], "weight_kg": weight,
        "height_cm": "170", "baseline_systolic_mmHg": "122", "baseline_diastolic_mmHg": "78",
        "baseline_heart_rate_bpm": "72", "baseline_spo2_percent": "98"})
    for d in ("sertraline", "bupropion"):
        screening.add_trial(actor=nurse, consult=consult, drug=d, dose="adequate", weeks="8", adequate_dose=True,
                            outcome="no_response")
    assessment = screening.assess(actor=nurse, consult=consult)
    if sign and assessment.has_absolute:
        assessment = screening.sign_assessment(actor=prescriber, assessment=assessment, decision="decline")
    elif sign:
        reason = "" if assessment.outcome == "eligible" else "Benefit outweighs risk after discussion."
        assessment = screening.sign_assessment(actor=prescriber, assessment=assessment, decision="accept",
                                               override_reason=reason)
    return consult, assessment


def make_order(patient, staff, data=IV, drug=None, weight="70.0"):
    """An eligibility signed for the drug and a signed, active order from ``data`` (a demo template)."""
    drug = drug or data["drug"]
    make_eligible(patient, staff, drug=drug, weight=weight)
    return services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=data)


# --------------------------------------------------------------------------------------------- the session
def book_at(order, staff, start: datetime, chair=None, room=None):
    """Book ``order`` at ``start`` (aware) in ``chair`` (or a free chair of ``room``)."""
    if chair is None and room is not None and room.chairs.filter(active=True).exists():
        chair = free_chair(room, start)
    room = chair.room if chair is not None else room
    return services.book_session(actor=actor(staff["front_desk"]), order=order, start=start, room=room, chair=chair)


def book_now(order, staff, rooms, minutes_ago=0, chair=None):
    """Book ``order`` for now (to the minute), ``minutes_ago`` earlier if given, in Chair 1 of its room unless
    ``chair`` is given. When the clinic does not book a session then, the test clock first moves on to the next time
    it does (:func:`open_now`)."""
    chair = chair or (rooms["s1"] if order.route == "intranasal" else rooms["a1"])
    return book_at(order, staff, open_now(order, minutes_ago=minutes_ago), chair=chair)


def checked_in(session, staff, minutes_ago=0):
    """Checked in now, or ``minutes_ago`` earlier (the clock is moved back for the check-in)."""
    if minutes_ago:
        with back_at(timezone.now() - timedelta(minutes=minutes_ago)):
            return services.check_in(actor=actor(staff["front_desk"]), session=session)
    return services.check_in(actor=actor(staff["front_desk"]), session=session)


def consent_signed(session, staff):
    """The patient signs the consent version in force for the session's drug (a first version is added by the
    clinic admin when the clinic has none yet)."""
    if services.current_consent(session.drug) is None:
        services.add_consent_document(actor=actor(staff["clinic_admin"]), drug=session.drug, version="T-1",
                                      title=f"Consent to {session.drug} treatment (test)",
                                      text="Synthetic test consent text.",
                                      effective_from=timezone.localdate() - timedelta(days=3650))
    return services.sign_consent(actor=actor(staff["nurse"]), session=session,
                                 signer_name=session.patient.legal_name)


def prechecked(session, staff, weight="70.0", escort=True):
    if services.valid_consent(session) is None:
        consent_signed(session, staff)
    services.save_prechecks(actor=actor(staff["nurse"]), session=session, data={
        "identity_confirmed": True, "fasting_confirmed": True,
        "no_driving_acknowledged": True, "weight_kg": weight, "pregnancy_test": "negative",
        "escort_name": "Lee Sampleton" if escort else "", "escort_phone": "(303) 555-0111" if escort else ""})
    session.refresh_from_db()
    return session


def predose_vitals(session, staff, bp=("124", "78"), taken_at=None):
    return services.add_vitals(actor=actor(staff["nurse"]), session=session, values={
        "systolic_mmHg": bp[0], "diastolic_mmHg": bp[1], "heart_rate_bpm": "72", "spo2_percent": "98",
        "respiratory_rate_per_min": "14"}, taken_at=taken_at)


def dose_prepared(session, staff):
    """The dose computed and prepared by the nurse (vial or device and lot recorded); not yet verified. Where
    the clinic keeps its stock in KetaClinic, the lot is the first one on offer (as the nurse picks it from the
    cockpit's list, 50 mg/mL for a vial); otherwise "LOT123"."""
    from ketaclinic.treatments import stock

    account = stock.account(session)
    lot = "LOT123"
    if account is not None and account.stock_known:
        lot = next((o.lot_number for o in account.options
                    if session.route == "intranasal" or o.strength_mg_per_mL == Decimal("50")), lot)
    services.prepare_dose(actor=actor(staff["nurse"]), session=session, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "Ketamine 50 mg/mL 10 mL vial"
        if session.route != "intranasal" else "Spravato 28 mg device", "lot_number": lot})
    session.refresh_from_db()
    return session


def dose_signed(session, staff):
    """Under a titration plan, a later session's dose signed by the prescriber as proposed (nothing to do for an
    order without a plan, or for the plan's first dose)."""
    from ketaclinic.treatments.services import titration

    if titration.prepare_blocker(session):
        shown = titration.propose_for(session)
        services.sign_dose(actor=actor(staff["prescriber"]), session=session, dose=shown.proposal.dose)
    return session


def dose_verified(session, staff):
    """The prepared dose independently verified by the prescriber (weight and dose entered again)."""
    services.verify_dose(actor=actor(staff["prescriber"]), session=session, weight_kg=session.weight_kg,
                         dose_mg=session.prepared_dose_mg, concentration_mg_per_mL=session.concentration_mg_per_mL,
                         bag_volume_mL=session.bag_volume_mL)
    session.refresh_from_db()
    return session


def ready_to_start(session, staff, *, minutes_ago=0, bp=("124", "78"), verified=True, weight="70.0"):
    """Checked in (``minutes_ago``), pre-checks done, pre-dose vitals, dose prepared and (by default) verified."""
    s = checked_in(session, staff, minutes_ago=minutes_ago)
    s = prechecked(s, staff, weight=weight)
    predose_vitals(s, staff, bp=bp, taken_at=timezone.now() - timedelta(minutes=max(0, minutes_ago - 5)))
    s = dose_signed(s, staff)
    s = dose_prepared(s, staff)
    return dose_verified(s, staff) if verified else s


def dosing_started(session, staff):
    """Dosing started by the nurse (an IM injection is given and finished at once; esketamine: first device)."""
    return services.start_dose(actor=actor(staff["nurse"]), session=session)


def dosing_stopped(session, staff, administered_mg=None):
    """End of dosing: every esketamine device given (the clock moves on by the label's interval between
    devices), an IV infusion run for its planned minutes (the clock moves on), then the stop recorded: the dose
    the events give, or ``administered_mg`` with the nurse's reason."""
    session.refresh_from_db()
    if session.route == "intranasal":
        gap = int(services.limits_for(session.patient)["dosing.esketamine_device_interval_minutes"])
        while session.events.filter(kind="device").count() < int(session.devices or 0):
            let_time_pass(gap + 0.5)
            services.dosing_event(actor=actor(staff["nurse"]), session=session, kind="device")
    if session.route == "iv" and administered_mg is None:  # the pump runs its planned time
        let_time_pass(int(session.infusion_minutes or 0))
    if session.route != "im":
        short = administered_mg is not None and Decimal(str(administered_mg)) != session.prepared_dose_mg
        services.dosing_event(actor=actor(staff["nurse"]), session=session, kind="stop",
                              administered_mg=administered_mg,
                              note="stopped at the patient's request" if short or administered_mg is not None else "")
    session.refresh_from_db()
    return session


def normal_vitals(session, staff, when=None):
    return services.add_vitals(actor=actor(staff["nurse"]), session=session, values={
        "systolic_mmHg": "126", "diastolic_mmHg": "80", "heart_rate_bpm": "76", "spo2_percent": "98",
        "respiratory_rate_per_min": "14"}, taken_at=when)


#: Observation long enough for every route's default minimum (IV 90 min after the end, IM 120, esketamine
#: 120 from the last device), so a discharge is ready without any override.
OBSERVATION_MINUTES = 125


def discharged(session, staff):
    """Observed (the clock moves on by :data:`OBSERVATION_MINUTES`), normal vitals, recovered, discharged by
    the nurse as ready."""
    let_time_pass(OBSERVATION_MINUTES)
    normal_vitals(session, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=session, alert_and_oriented=True, steady_gait=True)
    s = services.discharge(actor=actor(staff["nurse"]), session=session)
    s.refresh_from_db()
    return s


def drug_accounted(session, staff):
    """The session's drug account balanced through custody, as the nurse does it from the cockpit: the prepared
    lot received first if the clinic holds none of it (a synthetic supplier, a store for every room), the dose
    drawn from it, the administration posted, and any residue wasted with the prescriber as witness."""
    from ketaclinic.treatments import stock

    session.refresh_from_db()
    account = stock.account(session)
    if account.balanced:
        return session
    clinic = session.patient.clinic
    nurse = actor(staff["nurse"])
    if not account.draws:
        option = next((o for o in account.options if o.lot_number == session.lot_number), None)
        if option is None:
            stocked(staff, clinic=clinic, drug=session.drug, lot=session.lot_number,
                    packages=max(1, int(session.devices or 1)))
            option = next(o for o in stock.account(session).options if o.lot_number == session.lot_number)
        quantity = session.devices if session.route == "intranasal" else session.prepared_volume_mL
        custody.draw(nurse, container=custody_container(option.key), session=session, quantity=quantity,
                     clinic=clinic)
    if session.administered_mg is not None and not stock.account(session).administered:
        custody.record_administration(nurse, session)
    residue = stock.account(session).residue
    if residue > 0:
        event = custody.request_waste(nurse, session=session, quantity=residue, method="drug-disposal container",
                                      clinic=clinic)
        for _ in range(event.witnesses_required):
            custody.attest(actor(staff["prescriber"]), event, residue)
    session.refresh_from_db()
    return session


def stocked(staff, *, clinic, drug="ketamine", lot="LOT-A1", packages=1):
    """Stock of ``drug`` received and countersigned through custody: a synthetic supplier, a store that supplies
    every room of the clinic, 50 mg/mL 10 mL vials of ketamine or 28 mg esketamine devices (the product made
    once). Returns the containers."""
    from ketaclinic.custody.models import Product, Supplier

    admin = actor(staff["clinic_admin"])
    device = drug == "esketamine"
    product = (Product.objects.filter(drug=drug, form="device" if device else "vial",
                                      **({} if device else {"strength_mg_per_mL": Decimal("50")})).first()
               or (custody.add_product(admin, ndc="00000-0901-01", name="Spravato 28 mg device (test)",
                                       drug="esketamine", form="device", device_mg="28", units_per_package=1)
                   if device else
                   custody.add_product(admin, ndc="00000-0902-01", name="Ketamine HCl 50 mg/mL 10 mL (test)",
                                       drug="ketamine", form="vial", strength_mg_per_mL="50",
                                       container_volume_mL="10")))
    supplier = (Supplier.objects.filter(kind=Supplier.Kind.DISTRIBUTOR).first()
                or custody.add_supplier(admin, name="Test Supply (synthetic)", address="1 Test Way, Denver, CO",
                                        dea_number="PS1234563"))
    location = custody.add_location(admin, clinic=clinic, name=f"Safe for {lot}")
    return received(staff, supplier=supplier, location=location, product=product, lot=lot, packages=packages)


def custody_container(key: str):
    from ketaclinic.custody.models import Container

    return Container.objects.get(external_id=key)


def signed(session, staff, summary="Uneventful session."):
    """The drug account balanced (:func:`drug_accounted`), then the nurse signs and the prescriber co-signs."""
    drug_accounted(session, staff)
    services.sign_note(actor=actor(staff["nurse"]), session=session, as_role="nurse", summary=summary)
    services.sign_note(actor=actor(staff["prescriber"]), session=session, as_role="prescriber")
    session.refresh_from_db()
    return session


def transferred(session, staff, *, after_minutes=30, administered_mg=None,
                note="Ambulance to the emergency department"):
    """``after_minutes`` later, the patient leaves for emergency care after a severe adverse event
    (treatments' ``transfer_to_emergency``; dosing is ended if it was still running)."""
    let_time_pass(after_minutes)
    s = services.transfer_to_emergency(actor=actor(staff["prescriber"]), session=session, note=note,
                                       adverse_event={"kind": "hypertension", "severity": "severe",
                                                      "description": "BP 190/115 not settling"},
                                       administered_mg=administered_mg)
    s.refresh_from_db()
    return s


def dosed_session(patient, staff, *, order=None, start=None, chair=None, room=None, rooms=None, data=IV,
                  administered_mg=None, end="discharged", weight="70.0"):
    """A whole visit through the services: booked at ``start`` (now by default, or the clinic's next bookable time:
    :func:`open_now`; a past ``start`` runs the visit back then with :func:`back_at`), checked in, pre-checks, dose
    prepared and verified, dosed, and then ``end``: "prepared" or "verified" (stop before dosing), "dosing",
    "stopped", "discharged", "signed",
    "transferred" (to emergency care during dosing) or "transferred after dosing".
    ``order`` defaults to a new one from ``data``; its consult and order are written at ``start``."""
    if start is None:  # now, or the clinic's next bookable time (the test clock moves on to it: open_now)
        order = order or make_order(patient, staff, data, weight=weight)
        start = open_now(order)
    start = start.replace(second=0, microsecond=0)
    travel = back_at(start) if start < timezone.now() - timedelta(minutes=5) else _here()
    with travel:
        order = order or make_order(patient, staff, data, weight=weight)
        if chair is None and room is None:
            room = (rooms or {}).get("spravato" if order.route == "intranasal" else "infusion")
        s = ready_to_start(book_at(order, staff, start, chair=chair, room=room), staff, weight=weight,
                           verified=end != "prepared")
        if end in ("prepared", "verified"):
            return s
        s = dosing_started(s, staff)
        if end == "dosing":
            s.refresh_from_db()
            return s
        if end == "transferred":  # during dosing: the transfer ends it
            return transferred(s, staff, administered_mg=administered_mg)
        s = dosing_stopped(s, staff, administered_mg=administered_mg)
        if end == "stopped":
            return s
        if end == "transferred after dosing":
            return transferred(s, staff)
        s = discharged(s, staff)
        return signed(s, staff) if end == "signed" else s


@contextmanager
def _here() -> Iterator[None]:
    yield


# --------------------------------------------------------------------------------------------- custody
def received(staff, *, supplier, location, product, packages=1, lot="LOT-A1", expiry=None, received_on=None):
    """A receipt entered by the nurse and countersigned by the prescriber; returns the containers."""
    today = received_on or timezone.localdate()
    receipt = custody.enter_receipt(
        actor(staff["nurse"]), supplier=supplier, invoice_number=f"INV-{lot}", invoice_date=today,
        received_on=today, product=product, lot_number=lot, expiry=expiry or today + timedelta(days=365),
        packages=packages, location=location)
    return custody.countersign_receipt(actor(staff["prescriber"]), receipt)


def drawn(staff, *, container, session, quantity):
    """A draw (mL from a vial, whole devices) by the nurse for a session whose dose is verified."""
    return custody.draw(actor(staff["nurse"]), container=container, session=session, quantity=quantity)
