"""Whatever is typed into the forms that take free text and numbers, the answer is never a server error, and a
refusal writes nothing (no record, no audit entry); what is well formed is still accepted.

Hypothesis sends each form random text (every Unicode category, control characters, other scripts' digits,
signs and underscores, pastes thousands of characters long) in one field at a time, or well-formed values
throughout. Each run counts its outcomes (and reports them as hypothesis events, ``--hypothesis-show-statistics``),
and asserts that both the refusal and the acceptance paths ran in a real share of the examples."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.http import HttpResponse
from django.urls import reverse
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.custody.models import LedgerEntry, PendingEvent
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import WaitlistEntry
from tests.custody.conftest import admin_actor, location, receive, room, supplier, vial_product  # noqa: F401

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Audited reads: the page shown again with a refusal records that it was read, which is not a change.
READS = [AuditAction.CUSTODY_CONTAINER_VIEWED, AuditAction.PATIENT_SEARCH]

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.just("\x7f")
ODD_DIGITS = st.sampled_from(list("١٢٣٠۱۲३१２３²³¹_+-.,eE"))
ANY_CHARACTER = st.characters(exclude_categories=["Cs"])  # a browser cannot send a lone surrogate
#: Random text: any character, with control characters and odd digits mixed in, short or pasted at length.
NASTY = st.one_of(
    st.text(alphabet=st.one_of(ANY_CHARACTER, CONTROL, ODD_DIGITS), max_size=40),
    st.builds(lambda unit, n: unit * n, st.sampled_from(["x", "=", "\x00", "١", "ab\r\n", "9"]),
              st.integers(min_value=200, max_value=6000)),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=5), CONTROL, st.text(max_size=5)),
)
#: Well-formed free text: letters, digits, spaces and punctuation, not blank.
FINE_TEXT = st.text(alphabet=st.characters(categories=["L", "Nd", "P"], max_codepoint=0x2FFF), min_size=1,
                    max_size=40)


def one_field_nasty(fine: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Either every field well formed, or one field (any of them) random and the others well formed."""
    names = sorted(fine)

    @st.composite
    def build(draw):
        data = {name: draw(fine[name]) for name in names}
        bad = draw(st.one_of(st.none(), st.sampled_from(names)))  # about half the examples are well formed
        if bad is not None:
            data[bad] = draw(NASTY)
        event(f"random field: {bad or 'none'}")
        return data

    return build()


def counts(*models) -> tuple[int, ...]:
    """Rows of each model; for the audit trail, the entries that record a change (reading a page is audited too)."""
    return tuple((m.objects.exclude(action__in=READS) if m is AuditEntry else m.objects).count() for m in models)


def both_paths_ran(outcomes: Counter, examples: int = EXAMPLES.max_examples) -> None:
    assert sum(outcomes.values()) >= examples // 2
    assert outcomes["refused"] >= examples // 6, outcomes
    assert outcomes["accepted"] >= examples // 6, outcomes


def refused_or_recorded(form: str, fine: dict[str, st.SearchStrategy], post: Callable[[dict], HttpResponse], *,
                        rows: tuple[type, ...], refusal_shown: Callable[[HttpResponse], None],
                        prepare: Callable[[dict], dict] = lambda data: data) -> None:
    """``post`` each example of :func:`one_field_nasty` over ``fine`` (after ``prepare``, which may write what the
    example needs before the rows are counted): a 302 added exactly one row of ``rows[0]``;
    any other answer is a refusal that ``refusal_shown`` accepts (its status, its message) and that changed no
    row of ``rows`` (nor any audit entry of a change, when AuditEntry is among them). A server error fails (the
    test client raises a view's exception; a 5xx answer is asserted against). Both paths must have run
    (:func:`both_paths_ran`).

    Each ``form`` has its own fixed seed (from its name): under ``derandomize`` Hypothesis seeds from the test
    function's source, which is this one function for every form."""
    outcomes: Counter = Counter()

    @seed(zlib.crc32(form.encode()))
    @EXAMPLES
    @given(one_field_nasty(fine))
    def run(data):
        data = prepare(data)
        before = counts(*rows)
        r = post(data)
        after = counts(*rows)
        assert r.status_code < 500, r.status_code
        if r.status_code == 302:
            assert after[0] == before[0] + 1
            outcome = "accepted"
        else:
            refusal_shown(r)
            assert after == before
            outcome = "refused"
        outcomes[outcome] += 1
        event(outcome)

    run()
    both_paths_ran(outcomes)


def test_destroying_stock_random_input_is_refused_or_recorded_never_an_error(receive, vial_product,  # noqa: F811
                                                                              client_for):
    vial, = receive(vial_product)
    url = reverse("custody:destroy", kwargs={"external_id": vial.external_id})
    client = client_for("nurse")
    fine = {"quantity": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.10"), places=2).map(str),
            "method": FINE_TEXT, "place": FINE_TEXT}

    def refusal_shown(r):
        assert r.status_code == 200 and "destroy_form" in r.context
        assert r.context["destroy_form"].errors

    refused_or_recorded(
        "destroy", fine, lambda data: client.post(url, {**{f"destroy-{k}": v for k, v in data.items()}}),
        rows=(PendingEvent, AuditEntry, LedgerEntry), refusal_shown=refusal_shown)


def test_registering_a_patient_random_input_is_refused_or_registered_never_an_error(client_for):
    client = client_for("front_desk")
    fine = {"legal_given_name": FINE_TEXT, "legal_family_name": FINE_TEXT, "allergies": FINE_TEXT,
            "phone": st.from_regex(r"\(303\) 555-0[0-9]{3}", fullmatch=True),
            "postal_code": st.from_regex(r"80[0-9]{3}", fullmatch=True)}

    def refusal_shown(r):
        assert r.status_code == 200 and r.context["form"].errors

    refused_or_recorded(
        "register", fine, lambda data: client.post(reverse("patients:register"), {
            **data, "date_of_birth": "1980-04-12", "sex_at_birth": "female", "confirm_duplicate": "on"}),
        rows=(Patient, AuditEntry), refusal_shown=refusal_shown)


def test_searching_random_terms_on_the_page_and_the_api_is_answered_never_an_error(client_for, patient):
    client = client_for("front_desk")
    outcomes: Counter = Counter()

    @EXAMPLES
    @given(st.one_of(FINE_TEXT, NASTY, st.just(patient.legal_family_name)))
    def search(term):
        before = AuditEntry.objects.count()
        page = client.get(reverse("patients:search"), {"q": term})
        assert page.status_code == 200
        refused = bool(page.context["refused"])
        searched = AuditEntry.objects.count() - before
        api = client.get("/api/v1/patients", {"q": term})
        assert api.status_code in (200, 422)
        if refused:
            assert searched == 0 and api.status_code == 422
        else:
            assert searched == (1 if term.strip() else 0)
        outcome = "refused" if refused else "accepted"
        outcomes[outcome] += 1
        event(outcome)

    search()
    both_paths_ran(outcomes)


def test_adding_to_the_waitlist_random_input_is_refused_or_added_never_an_error(client_for, clinic, make_patient):
    from ketaclinic.scheduling import services as scheduling

    client = client_for("front_desk")
    kind = scheduling.types_for(clinic)[0]
    new_patient = "(a patient not yet on the waitlist)"
    fine = {"mrn": st.just(new_patient), "note": FINE_TEXT, "earliest": st.sampled_from(["", "09:00", "10:30"])}

    def a_new_patient(data):
        return {**data, "mrn": make_patient().mrn} if data["mrn"] == new_patient else data

    def refusal_shown(r):
        assert r.status_code == 400

    refused_or_recorded("waitlist", fine,
                        lambda data: client.post(reverse("scheduling:waitlist"), {**data, "type": str(kind.pk)}),
                        rows=(WaitlistEntry, AuditEntry), refusal_shown=refusal_shown, prepare=a_new_patient)
