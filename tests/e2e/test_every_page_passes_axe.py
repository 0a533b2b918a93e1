"""Accessibility as a test, on every page of the journey: each GET page of the access table that some role may open
(tests/foundation/access_table.py, so a page added there is checked here too) is opened in real Chromium as a role
the table lets in, with real arguments from the foundation's clinic (tests/foundation/clinic_world.py: a session at
each cockpit phase, custody records, a PHQ-9 with its safety task, a portal patient) and a few more records made
through the services here (a signed visit invoiced and paid, an integration session, an estimate, an appointment,
a waste awaiting its witness, a FHIR client), in the light theme and in the dimmed-room theme: the public pages as a
visitor who is not signed in, the portal's as its patient. axe-core's WCAG 2.2 A/AA rules must find nothing. Pages
that are not HTML (PDF, CSV, JSON), parts of a page fetched by htmx (checked inside their page), the JSON API and the
FHIR API (no browser session gets in) are listed, not checked. One browser page does it all, signed in as each
identity in turn by its session cookie."""

from __future__ import annotations

import time
from datetime import date
from urllib.parse import urlsplit

from django.test import override_settings
from django.utils import timezone

from ketaclinic.access import named_routes
from tests.e2e.axe import violations
from tests.foundation.access_table import ALLOWED, CLIENT_ONLY, METHOD
from tests.foundation.clinic_world import _build, url_of

#: Who opens a page: the first of these the access table lets in (a public page: a visitor not signed in).
PREFERENCE = ("signed_out", "nurse", "prescriber", "front_desk", "billing", "compliance", "clinic_admin",
              "therapist", "patient")
#: Pages opened as someone else, or for another object of the world, than the rule above and clinic_world.OBJECT_FOR
#: give: (identity or None, the world's object or None).
AS = {
    "accounts:enrol": ("nurse", None),  # signed in and enrolling an authenticator: the page with the QR code
    "patients:break_glass": (None, "stranger"),  # a patient outside the nurse's care team (the team goes straight in)
    "integration:detail": (None, "offer"), "scheduling:appointment": (None, "appointment"),
    "records:session": (None, "signed_session"), "custody:witness": (None, "waste"),
    "billing:account": (None, "billed_patient"), "billing:invoice": (None, "invoice"),
    "billing:receipt": (None, "payment"), "billing:estimate": (None, "estimate"),
    "billing:my_invoice": ("patient_2", "invoice"), "billing:my_estimate": (None, "estimate"),
    "fhir:client": (None, "fhir_client"), "portal:fill": (None, "draft"),
    "portal:done": (None, "answered"), "records:session_pdf": (None, "signed_session"),
    "billing:superbill_pdf": (None, "billed_patient"), "portal:visit_pdf": ("patient_2", "signed_session"),
    "reminders:patient": (None, "patient"), "messaging:start": (None, "patient"),
    "messaging:thread": (None, "thread"), "messaging:my_thread": (None, "thread"),
    "messaging:attachment": (None, "attachment"), "messaging:my_attachment": (None, "attachment"),
    "portal:learn_page": (None, "education_page"), "portal:education_edit": (None, "education_page"),
    "scheduling:my_reschedule": (None, "appointment"), "scheduling:my_cancel": (None, "appointment"),
    "reports:research_consent": (None, "patient"),
    "reports:job": (None, "report_job"), "reports:job_progress": (None, "report_job"),
    "reports:job_download": (None, "report_job"),
}
#: The cockpit is opened once more for each other phase the world holds a session at.
MORE_OBJECTS = {"treatments:cockpit": ("prepared_session", "dosing_session", "observing_session")}
#: Pages that send this identity on in the state the world holds, with the reason and where the page is checked.
MOVES_ON = {"portal:verify": "the patient is past the new-device check; the code page is checked by "
                             "test_pages_pass_axe_in_both_themes.py::test_portal_pages_have_no_wcag_violations",
            "portal:accept": "the world's invitation is used (410); a fresh one is opened as well",
            "treatments:rems_pdf": "the world holds no esketamine dose given, so no REMS form (404)",
            "billing:my_estimate": "a patient sees an estimate once it is issued, and an issued estimate's trigger "
                                   "refuses the flush that ends a browser test's database; the staff page of the "
                                   "same estimate is checked"}
#: Settings a page is opened under: the break-glass page is what a clinic that limits charts to the care team shows.
SETTINGS_FOR = {"patients:break_glass": {"KETACLINIC_CHART_ACCESS": "care_team"}}
ROUTES = dict(named_routes())
#: The pages whose address the world holds no record for (filled with an identifier that matches nothing).
UNFILLED: set[str] = set()
IDENTITIES = (*PREFERENCE, "patient_2")


def _pages(world) -> list[tuple[str, str, str]]:
    """(url name, identity, path) of every GET page some identity with a browser session may open."""
    pages = []
    for name in sorted(ALLOWED):
        if METHOD[name] != "GET" or name in CLIENT_ONLY or name.startswith("api-1.0.0:") or not ALLOWED[name]:
            continue
        who, key = AS.get(name, (None, None))
        who = who or next(w for w in PREFERENCE if w in ALLOWED[name])
        route = "admin/" if name == "admin:*" else ROUTES[name]
        path = url_of(name, route, world, key=key)
        if "<" in route and path == url_of(name, route, None):  # no record of the world fills its address
            UNFILLED.add(name)
        pages.append((name, who, path))
        for key in MORE_OBJECTS.get(name, ()):
            pages.append((f"{name} ({key})", who, url_of(name, route, world, key=key)))
    return pages


def _more_of_the_journey(world):
    """What the foundation's clinic does not hold and a page here needs, reached through the services too: a visit
    dosed, discharged and signed yesterday for a second portal patient (invoiced, paid, with an integration session
    offered), a Good Faith Estimate asked for and a follow-up booked next week for the first, a questionnaire the first has
    started in the portal, ketamine drawn for the chair's session and wasted, awaiting its witness, and a FHIR backend client."""
    from datetime import time, timedelta

    from django.test import Client

    from ketaclinic.audit.services import Actor
    from ketaclinic.billing import services as billing
    from ketaclinic.billing.models import Service
    from ketaclinic.clinic.models import Clinic, Room
    from ketaclinic.custody import services as custody
    from ketaclinic.fhir import services as fhir
    from ketaclinic.integration import services as integration
    from ketaclinic.measures import services as measures
    from ketaclinic.measures.models import Administration
    from ketaclinic.patients.services import register_patient
    from ketaclinic.portal import services as portal
    from ketaclinic.scheduling import services as scheduling
    from tests import factories as f
    from tests.fhir.conftest import ec_key, public_jwks
    from tests.foundation.clinic_world import PASSWORD
    from tests.scheduling.conftest import next_week_at, open_every_day

    users, ids = world.users, world.ids
    clinic = Clinic.objects.get()

    def actor(role):
        return Actor(user=users[role], roles=users[role].role_set(), client_ip="127.0.0.1")

    for service, cents in ((Service.IV_INFUSION, 45000), (Service.FOLLOW_UP, 12500)):  # synthetic test prices
        billing.set_price(actor=actor("billing"), clinic=clinic, service=service, amount_cents=cents)
    blair = register_patient(actor=actor("front_desk"), clinic=clinic, confirm_duplicate=True, data={
        "legal_given_name": "Blair", "legal_family_name": "Yesterday", "date_of_birth": date(1979, 8, 30),
        "sex_at_birth": "female", "email": "blair@example.invalid"})
    signed = f.dosed_session(blair, users, start=timezone.now() - timedelta(days=1), end="signed",
                             room=Room.objects.get(name="Infusion Room A"))
    invoice = billing.invoice_session(actor=actor("billing"), session=signed)
    payment = billing.take_payment(actor=actor("billing"), invoice=invoice, method="cash", amount_cents=5000)
    offer = integration.offer_after(actor=actor("nurse"), session=signed)
    _inv, token = portal.invite(actor=actor("front_desk"), patient=blair)
    account = portal.accept_invitation(token=token, password=PASSWORD, password2=PASSWORD)
    blairs = Client()
    blairs.force_login(account.user)
    s = blairs.session
    s[portal.SESSION_VERIFIED] = account.pk
    s.save()
    world.clients["patient_2"] = blairs

    patient = ids["patient"]
    estimate = billing.record_due(actor=actor("billing"), patient=patient, reason="requested",
                                  asked_on=timezone.localdate())
    # left due, not issued: an issued estimate's trigger refuses the flush that ends a browser test's database
    open_every_day(clinic, actor("clinic_admin"), [users["prescriber"]], opens=time(0, 0), closes=time(23, 59))
    follow_up = next(t for t in scheduling.types_for(clinic) if t.code == "follow_up")
    follow_up = scheduling.update_type(actor=actor("clinic_admin"), type=follow_up, minutes=follow_up.minutes,
                                       active=True, self_bookable=True)  # the patient may move it in the portal
    appointment = scheduling.book_appointment(actor=actor("front_desk"), clinic=clinic, type=follow_up,
                                              start=next_week_at(clinic, 11), clinician=users["prescriber"],
                                              room=Room.objects.get(name="Consult Room"), patient=patient)
    answered = measures.record_administration(actor=actor("patient"), patient=patient, scale="phq9",
                                              answers={f"q{i}": 0 for i in range(1, 10)},
                                              source=Administration.Source.PORTAL).administration
    draft = measures.start_administration(actor=actor("patient"), patient=patient, scale="phq9",
                                          source=Administration.Source.PORTAL)
    waste = custody.request_waste(actor("nurse"), session=ids["session"], quantity="0.1", method="expelled into the drug-disposal container")
    client = fhir.register_client(actor=actor("clinic_admin"), clinic=clinic, name="Test backend",
                                  scopes=["system/*.rs"], keys=public_jwks(ec_key()))
    stranger = register_patient(actor=actor("front_desk"), clinic=clinic, confirm_duplicate=True, data={
        "legal_given_name": "Sam", "legal_family_name": "Stranger", "date_of_birth": date(1991, 5, 6),
        "sex_at_birth": "male"})
    from ketaclinic.messaging import services as messaging
    from ketaclinic.messaging.services import Upload
    from ketaclinic.portal import education
    from tests.messaging.conftest import PDF

    sent = messaging.start_thread(actor=actor("nurse"), patient=patient, subject="Before Thursday",
                                  body="Your preparation sheet is attached.",
                                  upload=Upload(data=PDF, name="preparation.pdf", size=len(PDF)))
    education.install_shipped(clinic=clinic)
    first_page = education.EducationPage.objects.filter(clinic=clinic).order_by("position").first()
    education.approve(actor=actor("prescriber"), version=first_page.versions.order_by("number").first())
    from ketaclinic.reports import jobs as report_jobs
    from ketaclinic.reports.base import ReportFilters
    from ketaclinic.reports.tasks import run_report_job

    report_job = report_jobs.start_report_csv(actor=actor("nurse"), clinic=clinic, slug="safety",
                                              filters=ReportFilters())
    run_report_job.call(report_job.pk)  # written, as the task worker would: its page offers the download
    ids.update(report_job=report_job)
    ids.update(thread=sent.message.thread, attachment=sent.attachment, education_page=first_page.slug)
    ids.update(answered=answered, stranger=stranger, signed_session=signed, invoice=invoice, payment=payment, offer=offer, estimate=estimate,
               appointment=appointment, draft=draft, waste=waste, fhir_client=client, billed_patient=blair)


def _sign_in_as(context, live_server, world, who: str):
    context.clear_cookies()
    if who == "signed_out":
        return
    host = urlsplit(live_server.url).hostname
    context.add_cookies([{"name": c.key, "value": c.value, "domain": host, "path": "/"}
                         for c in world.client(who).cookies.values()])


def _settled(page, url: str):
    """Open ``url`` and wait until the page and the parts htmx loads into it have arrived."""
    page.goto(url, wait_until="load")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_every_page_of_the_journey_has_no_wcag_violations_in_either_theme(page, live_server):
    from ketaclinic.patients.services import register_patient
    from ketaclinic.portal import services as portal
    from tests.factories import actor

    started = time.monotonic()
    world = _build()
    _more_of_the_journey(world)
    desk = actor(world.users["front_desk"])
    invitee = register_patient(actor=desk, clinic=world.ids["patient"].clinic, confirm_duplicate=True, data={
        "legal_given_name": "Jordan", "legal_family_name": "Invitee", "date_of_birth": date(1990, 2, 3),
        "sex_at_birth": "male", "email": "jordan@example.invalid"})
    _inv, token = portal.invite(actor=desk, patient=invitee)  # a fresh invitation: the world's own has been used
    pages = _pages(world)
    pages.append(("portal:accept (a fresh invitation)", "signed_out", f"/portal/invite/{token}/"))
    built = time.monotonic() - started
    page.clock.set_system_time(timezone.now())  # the browser's timers read the test's moment
    missing: list[str] = []  # a page, stylesheet, script or image the browser asks for and does not get
    page.on("response", lambda r: missing.append(f"{r.status} {r.request.resource_type} {r.url} (on {page.url})")
            if r.status >= 400 else None)
    console_errors: list[str] = []  # script errors, CSP refusals; the browser's own favicon.ico guess on Django's
    # admin (whose pages name no icon) is left out: it is no request of a page, and /favicon.ico is not served
    page.on("console", lambda m: console_errors.append(f"{m.text} ({m.location.get('url')} on {page.url})")
            if m.type == "error" and not (m.location.get("url", "").endswith("/favicon.ico")
                                          and "/admin/" in page.url) else None)
    page.on("pageerror", lambda exc: console_errors.append(f"{exc} (on {page.url})"))
    found: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    checked = 0
    for theme in ("light", "dim"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.evaluate("(v) => localStorage.setItem('kc-theme', v)", theme)
        for who in IDENTITIES:
            mine = [(n, p) for n, w, p in pages if w == who and n not in skipped]
            if not mine:
                continue
            _sign_in_as(page.context, live_server, world, who)
            for name, path in mine:
                url = f"{live_server.url}{path}"
                with override_settings(**SETTINGS_FOR.get(name, {})):
                    result = _check(page, url, name, who, path, theme, found, skipped)
                if result:
                    checked += 1
    seconds = time.monotonic() - started
    print(f"\naxe: {checked} page views ({checked // 2} pages x 2 themes) in {seconds:.0f} s "
          f"({built:.0f} s of it building the clinic); not checked:\n  "
          + "\n  ".join(f"{n}: {why}" for n, why in sorted(skipped.items())))
    assert not found, "\n".join(f"{page_}: {v}" for page_, vs in found.items() for v in vs)
    assert missing == []
    assert console_errors == []


def _check(page, url, name, who, path, theme, found, skipped) -> bool:
    """Open one page and run axe on it (True), or say why it is not checked (False)."""
    if theme == "light":
        answer = page.context.request.get(url, max_redirects=0)
        kind = answer.headers.get("content-type", "").split(";")[0]
        if name in MOVES_ON and answer.status != 200:
            skipped[name] = f"answers {who} {answer.status}: {MOVES_ON[name]}"
            return False
        if answer.status == 404 and name in UNFILLED:
            skipped[name] = "the world holds no such record (404)"
            return False
        if answer.status != 200:
            found[f"{name} as {who} ({path})"] = [f"answered {answer.status}, not the page"]
            return False
        if kind != "text/html":
            skipped[name] = f"not HTML ({kind})"
            return False
        if "<html" not in answer.text()[:400]:
            skipped[name] = "a part of a page fetched by htmx (checked inside the page)"
            return False
    elif any(k.startswith(f"{name} as ") for k in found):
        return False
    _settled(page, url)
    dimmed = page.evaluate("() => document.documentElement.classList.contains('theme-dim')")
    assert dimmed is (theme == "dim") or name.startswith("admin:"), f"{name}: the theme is not applied"
    got = violations(page)
    if got:
        found[f"{name} as {who}, {theme} ({path})"] = got
    return True
