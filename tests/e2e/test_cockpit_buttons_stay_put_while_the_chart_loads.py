"""The cockpit's predicted-level chart is drawn after the page arrives. Nothing a nurse or prescriber presses may move
while it is drawn in: a button that moves between aim and press sends the press to whatever slid under it. (In the
browser tests it was a co-signature that silently never happened.)"""

from __future__ import annotations

from playwright.sync_api import expect

from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.factories import actor, dosed_session, drug_accounted, make_rooms


def test_the_signature_buttons_do_not_move_when_the_predicted_level_chart_arrives(
        page, live_server, login, staff, clinic, make_patient, console_errors):
    rooms = make_rooms(clinic)
    s = dosed_session(make_patient(), staff, rooms=rooms, end="discharged")
    drug_accounted(s, staff)
    services.sign_note(actor=actor(staff["nurse"]), session=s, as_role="nurse", summary="Uneventful session.")

    held = []  # the chart's request, held until the page has been measured without it

    def hold(route):
        held.append(route)

    page.route("**/predicted-level/", hold)
    login("prescriber")
    with page.expect_request("**/predicted-level/"):
        page.goto(f"{live_server.url}/treatments/sessions/{s.external_id}/")
    chart = page.locator("#pk")
    expect(chart).to_contain_text("Loading the model estimate")
    cosign = page.get_by_role("button", name="Co-sign note as prescriber")
    note = page.locator("#sign")
    before = cosign.bounding_box(), note.bounding_box(), chart.bounding_box()

    held[0].continue_()
    expect(chart.locator("svg.pk-chart")).to_be_visible()
    after = cosign.bounding_box(), note.bounding_box(), chart.bounding_box()

    assert after[2]["height"] > before[2]["height"] + 100, "the chart was drawn in (the panel grew)"
    assert (after[0]["x"], after[0]["y"]) == (before[0]["x"], before[0]["y"]), "the co-sign button stayed put"
    assert after[1]["y"] == before[1]["y"], "the note and signatures stayed put"

    cosign.click()
    expect(page.locator("#sign")).not_to_contain_text("Prescriber: not signed")
    assert TreatmentSession.objects.get(pk=s.pk).prescriber_signed_by == staff["prescriber"]
