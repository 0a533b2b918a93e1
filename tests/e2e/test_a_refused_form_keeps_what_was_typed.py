"""A cockpit step the server refuses comes back with what the nurse typed: the page is drawn again from the record
(the refusal changed nothing in it), and static/js/app.js gives the refused form back its fields, so the nurse
corrects the one that was wrong instead of typing the escort's name and phone again. Only the form whose address
was refused gets its fields back: a form that was saved is drawn from the record alone, even when the same page
also says that another step (posted from another tab, say) was refused."""

from __future__ import annotations

from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import IV, book_now, checked_in, make_order, make_rooms


def test_refused_prechecks_keep_what_was_typed_and_save_once_corrected(
        page, live_server, login, clinic, staff, make_patient, console_errors):
    patient = make_patient(legal_given_name="Robin", legal_family_name="Retypeless")
    s = checked_in(book_now(make_order(patient, staff, IV), staff, make_rooms(clinic)), staff)
    login("nurse")
    page.goto(f"{live_server.url}/treatments/sessions/{s.external_id}/")
    before = page.get_by_role("region", name="Before")
    before.get_by_label("Fasting confirmed").check()
    before.get_by_label("Today's weight (kg)").fill("7o")  # a typo: the letter o for a zero
    before.get_by_label("Escort name").fill("Lee Testwood")
    before.get_by_label("Escort phone").fill("(303) 555-0142")
    before.get_by_label("Pregnancy test").select_option("not_applicable")
    before.get_by_role("button", name="Save pre-checks").click()

    expect(page.locator("[data-refused]").first).to_contain_text("Weight")
    expect(before.get_by_label("Today's weight (kg)")).to_have_value("7o")
    expect(before.get_by_label("Escort name")).to_have_value("Lee Testwood")
    expect(before.get_by_label("Escort phone")).to_have_value("(303) 555-0142")
    expect(before.get_by_label("Pregnancy test")).to_have_value("not_applicable")
    expect(before.get_by_label("Fasting confirmed")).to_be_checked()
    s.refresh_from_db()
    assert s.escort_name == "" and s.weight_kg is None  # the refusal saved nothing

    before.get_by_label("Today's weight (kg)").fill("70")
    before.get_by_role("button", name="Save pre-checks").click()
    expect(page.get_by_text("Pre-checks saved.")).to_be_visible()
    s.refresh_from_db()
    assert (s.escort_name, s.escort_phone, s.weight_kg) == ("Lee Testwood", "(303) 555-0142", 70)

    # Another tab's pre-checks are refused while this one saves an observation: the next page says both, and
    # gives nothing back to the observation form, whose text is in the record now.
    page.get_by_label("Observation", exact=True).fill("Patient calm, eyes closed")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    prechecks = reverse("treatments:prechecks", args=[s.external_id])
    other_tab = page.context.request.post(f"{live_server.url}{prechecks}", max_redirects=0,
                                          form={"csrfmiddlewaretoken": token, "weight_kg": "7o"})
    assert other_tab.status == 302
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("Observation saved.")).to_be_visible()
    page.wait_for_load_state("domcontentloaded")  # app.js (deferred) has had its say before the field is read
    expect(page.locator(f'[data-refused="{prechecks}"]')).to_have_count(1)
    expect(page.get_by_label("Observation", exact=True)).to_have_value("")
    assert s.observations.get().text == "Patient calm, eyes closed"
