"""Front desk signs in, registers a patient, finds them by search and opens the chart."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ketaclinic.audit.models import AuditEntry


def test_front_desk_registers_finds_and_opens_a_patient(page, live_server, login, staff, console_errors):
    login("front_desk")
    expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Legal given name").fill("Quinn")
    page.get_by_label("Legal family name").fill("Fixturely")
    page.get_by_label("Date of birth").fill("1988-03-14")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_label("Usual escort", exact=True).fill("Lee Fixturely")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile(r"Registered Quinn Fixturely, MRN KC\d{8}"))).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.wait_for_load_state("load")  # htmx listens once the page has loaded; typing earlier sends nothing
    page.get_by_label("Name, MRN or date of birth").fill("fixtur")
    # htmx swaps the results in as the person types.
    result = page.get_by_role("link", name="Fixturely, Quinn")
    expect(result).to_be_visible()
    result.click()
    expect(page.get_by_role("heading", name=re.compile("Quinn Fixturely"))).to_be_visible()
    expect(page.get_by_text("Lee Fixturely")).to_be_visible()
    assert AuditEntry.objects.filter(action="patient.chart.viewed", actor__username="front_desk").exists()
    assert console_errors == []


def test_wrong_role_sees_refusal_and_nav_hides_it(page, live_server, login, staff):
    login("billing")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto(f"{live_server.url}/audit/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
