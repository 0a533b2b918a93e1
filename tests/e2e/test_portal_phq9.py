"""A patient completes a PHQ-9 in the portal (through the emailed new-device code); a nurse then sees the new
point on the patient's outcomes chart."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import expect

from ketaclinic.accounts.models import User
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration
from ketaclinic.portal.models import PatientAccount

PHQ9_ITEMS = ["Little interest or pleasure", "Feeling down, depressed", "Trouble falling or staying asleep",
              "Feeling tired", "Poor appetite", "Feeling bad about yourself", "Trouble concentrating",
              "Moving or speaking so slowly", "Thoughts that you would be better off dead"]


def test_patient_completes_phq9_and_nurse_sees_the_point(page, live_server, login, logout, staff, make_patient,
                                                          actor_for, console_errors):
    patient = make_patient(legal_given_name="Rowan", legal_family_name="Portalby", email="rowan@example.invalid")
    user = User.objects.create_user(username="rowan@example.invalid", email="rowan@example.invalid",
                                    password="correct horse battery")
    PatientAccount.objects.create(user=user, patient=patient)
    measures.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    mail.outbox.clear()

    login("rowan@example.invalid")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Sign-in code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=re.compile("Hello, Rowan"))).to_be_visible()

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Questionnaires").click()
    page.get_by_role("button", name="Start PHQ-9").click()
    expect(page.get_by_role("heading", name="PHQ-9")).to_be_visible()
    for n, item in enumerate(PHQ9_ITEMS):
        answer = "Not at all" if n == 8 else "Several days"
        page.get_by_role("group", name=re.compile(re.escape(item))).get_by_label(answer).check()
    page.get_by_role("button", name="Send to my care team").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Your score: 8"))).to_be_visible()
    admin = Administration.objects.get(patient=patient, scale="phq9")
    assert (admin.status, admin.source, admin.total) == ("final", "portal", 8)

    page.get_by_role("button", name="Sign out").click()
    login("nurse")
    page.goto(f"{live_server.url}/patients/{patient.external_id}/")
    outcomes = page.locator("#outcomes")
    expect(outcomes.get_by_text("PHQ-9", exact=True)).to_be_visible()
    expect(outcomes.locator('circle[data-total="8"]')).to_have_count(1)
    outcomes.get_by_role("link", name="Open outcomes").click()
    expect(page.get_by_role("heading", name=re.compile("Outcomes: Rowan Portalby"))).to_be_visible()
    expect(page.locator('svg[data-scale="phq9"] circle[data-total="8"]')).to_have_count(1)
    page.get_by_text("PHQ-9 as a table").click()
    row = page.locator('table[data-scale="phq9"] tbody tr').first
    expect(row).to_contain_text("8")
    expect(row).to_contain_text("portal")
    assert console_errors == []
