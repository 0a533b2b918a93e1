"""A network's director sees each report pooled over the network's clinics (issue 19, point 4): one set of figures
in which every patient, session, task and invoice of each clinic counts once, medians over all the clinics' records
together; clinics that count differently (another time zone, other clinical settings) are pooled in separate
groups, and the page says why."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from ketaclinic.accounts.models import User
from ketaclinic.accounts.services import grant_role
from ketaclinic.acting import acting_at
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import services as clinic_services
from ketaclinic.clinic.models import Clinic
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.registry import REPORTS
from ketaclinic.reports.scope import Scope, pools
from tests.foundation.clinic_world import PASSWORD, two_clinics  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

#: Units whose figures add up across clinics (each record belongs to one clinic); percentages, rates, medians,
#: days and survival proportions are worked out again over the pooled records, so they are not summed here.
ADDITIVE = {"patients", "sessions", "events", "tasks", "visits", "forms", "invoices", "payments", "packages", "USD",
            "min"}


#: Sections whose rows are keyed by a count (a distribution): the column that names the row.
KEYED_BY = {"Dosed sessions per patient": 0}


@pytest.fixture
def billed(two_clinics):  # noqa: F811
    """Each clinic's observed patient discharged, their session invoiced and half of it paid, through the
    services the clinic uses (so the money report has records at both clinics)."""
    from ketaclinic.billing import services as billing
    from tests import factories as f

    for world in two_clinics:
        clinic = world.ids["patient"].clinic
        with acting_at(clinic.pk):
            f.let_time_pass(30)  # both worlds' sessions were stopped at their own time while the worlds were built
            session = f.discharged(world.ids["observing_session"], world.users)
            billing.set_price(actor=f.actor(world.users["billing"]), clinic=clinic, service=billing.session_service(
                session), amount_cents=52500)
            invoice = billing.invoice_session(actor=f.actor(world.users["billing"]), session=session)
            billing.take_payment(actor=f.actor(world.users["billing"]), invoice=invoice, method="card",
                                 amount_cents=invoice.total_cents // 2, reference="TERM-0001")
    return two_clinics


def _both(two_clinics):  # noqa: F811
    here, yonder = two_clinics
    return [here.ids["patient"].clinic, yonder.ids["patient"].clinic]


def _own(slug: str, clinic: Clinic):
    with acting_at(clinic.pk):
        return REPORTS[slug].build(ReportFilters())


def _by_key(section) -> dict[tuple, tuple]:
    """Each row of an additive section by its label cells (the columns without a unit)."""
    labels = [i for i, c in enumerate(section.table.columns) if not c.unit or KEYED_BY.get(section.title) == i]
    return {tuple(row[i] for i in labels): row for row in section.table.rows}


@pytest.mark.parametrize("slug", sorted(REPORTS))
def test_every_count_of_the_pool_is_the_sum_of_the_clinics_counts(slug, billed):
    clinics = _both(billed)
    pooled = REPORTS[slug].build(ReportFilters(), Scope(tuple(clinics)))
    own = [_own(slug, c) for c in clinics]
    checked = 0
    for section in pooled.sections:
        if any(c.unit == "proportion" for c in section.table.columns):
            continue  # a survival curve: checked below, from its patients
        theirs = [next(s for s in report.sections if s.title == section.title) for report in own]
        rows, parts = _by_key(section), [_by_key(s) for s in theirs]
        assert set(rows) == set().union(*parts), section.title
        for key, row in rows.items():
            for i, column in enumerate(section.table.columns):
                if column.unit in ADDITIVE and KEYED_BY.get(section.title) != i:
                    expected = sum((part[key][i] or 0) for part in parts if key in part)
                    assert (row[i] or 0) == expected, (section.title, key, column.label)
                    checked += bool(expected)
    assert checked > 0  # the two clinics have records of this report, so a pooled figure that dropped one fails


def test_the_median_time_to_acknowledge_is_over_every_task_of_the_pool(two_clinics):  # noqa: F811
    """The median over the pooled tasks is the median of all of them, not a sum or mean of the clinics' medians:
    Yonder holds one more task than the test clinic, so the pooled count is odd and the median is one task's."""
    from ketaclinic.measures import services as measures
    from ketaclinic.measures.models import SafetyTask

    here, yonder = two_clinics
    for world in (here, yonder):
        clinic = world.ids["patient"].clinic
        with acting_at(clinic.pk):
            for task in SafetyTask.objects.filter(patient__clinic=clinic, status=SafetyTask.Status.OPEN):
                measures.acknowledge_safety_task(actor=Actor.for_user(world.users["prescriber"]), task=task,
                                                 action=SafetyTask.Action.values[0],
                                                 note="Called the patient; safe, plan in place.")
    clinics = _both(two_clinics)
    title = "Time to acknowledge a suicidality task"
    pooled = next(s for s in REPORTS["safety"].build(ReportFilters(), Scope(tuple(clinics))).sections
                  if s.title == title).table.rows[0]
    own = [next(s for s in _own("safety", c).sections if s.title == title).table.rows[0] for c in clinics]
    assert pooled[0] == own[0][0] + own[1][0] and pooled[0] % 2 == 1
    waits = sorted((t.acknowledged_at - t.created_at).total_seconds() for t in
                   SafetyTask.objects.filter(patient__clinic__in=clinics, status=SafetyTask.Status.ACKNOWLEDGED))
    assert len(waits) == pooled[0]
    assert pooled[1] == round(waits[len(waits) // 2] / 3600, 1)


def test_clinics_that_count_differently_are_pooled_apart_and_the_page_says_why(two_clinics):  # noqa: F811
    here, yonder = two_clinics
    clinics = _both(two_clinics)
    assert [s.ids for s in pools(clinics)] == [[c.pk for c in clinics]]  # built alike: one pool
    yonder_clinic = clinics[1]
    with acting_at(yonder_clinic.pk):
        clinic_services.update_limits(actor=Actor.for_user(yonder.users["clinic_admin"]), clinic=yonder_clinic,
                                      values={"outcomes.response_percent": 40})
    clinics = [Clinic.objects.get(pk=c.pk) for c in clinics]
    groups = pools(clinics)
    assert [s.ids for s in groups] == [[clinics[0].pk], [clinics[1].pk]]
    with pytest.raises(ValueError, match="share a time zone and clinical settings"):
        Scope(tuple(clinics))

    director = _director(here, yonder)
    page = _client(director).get("/reports/network/outcomes/").content.decode()
    assert "Why the clinics are pooled in groups" in page
    assert "Yonder Clinic: outcomes.response_percent = 40" in page
    assert "One clinic: Test Clinic" in page and "One clinic: Yonder Clinic" in page


def _director(here, yonder) -> User:
    """The test clinic's admin, made admin at Yonder too."""
    director = User.objects.get(pk=here.users["clinic_admin"].pk)
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=director,
               clinic=yonder.ids["patient"].clinic, role="clinic_admin")
    return User.objects.get(pk=director.pk)


def _client(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def test_the_network_page_shows_the_pool_with_charts_and_its_tables_as_csv(billed):
    here, yonder = billed
    c = _client(_director(here, yonder))
    page = c.get("/reports/network/money/").content.decode()
    assert "2 clinics pooled: Test Clinic, Yonder Clinic" in page
    assert "<svg" in page  # each table's chart beside it
    entry = AuditEntry.objects.filter(action="report.viewed").order_by("-seq").first()
    assert entry.details["network"] == ["Test Clinic", "Yonder Clinic"] and entry.details["view"] == "pooled"

    pooled = REPORTS["money"].build(ReportFilters(), Scope(tuple(_both(billed))))
    index = next(i for i, s in enumerate(pooled.sections) if s.title.startswith("Outstanding balances"))
    response = c.get(f"/reports/network/money/csv/?pool=0&section={index}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    owed = {r[0]: r[2] for r in rows[1:]}
    assert Decimal(owed["All"]) == pooled.sections[index].table.rows[-1][2]
    assert Decimal(owed["All"]) == sum(_own("money", cl).sections[index].table.rows[-1][2]
                                       for cl in _both(billed))
    assert Decimal(owed["All"]) > 0
    # each clinic whose figures were read finds the download in its own audit trail
    from ketaclinic.crossapp.audit_views import at_this_clinic

    for clinic in _both(billed):
        exported = AuditEntry.objects.filter(at_this_clinic(clinic.pk), action="report.exported").get()
        assert exported.details["view"] == "pooled" and exported.details["section"] == pooled.sections[index].title
        assert exported.details["clinic_ids"] == [cl.pk for cl in _both(billed)]
    assert c.get("/reports/network/money/csv/?pool=3&section=0").status_code == 404

    side = c.get("/reports/network/money/?view=clinics").content.decode()
    assert "<td>Test Clinic</td>" in side and "<td>Yonder Clinic</td>" in side and "pooled:" not in side


def test_a_clinic_where_the_persons_role_does_not_open_the_report_is_not_in_the_pool(two_clinics):  # noqa: F811
    here, yonder = two_clinics
    lead = here.users["compliance"]
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=lead, clinic=yonder.ids["patient"].clinic,
               role="front_desk")  # front desk at Yonder opens no safety report there
    c = _client(lead)
    page = c.get("/reports/network/safety/").content.decode()
    assert "One clinic: Test Clinic" in page and "clinics pooled:" not in page
    # the CSV counts that clinic alone too, and says so in the audit trail
    here_clinic, yonder_clinic = _both(two_clinics)
    assert c.get("/reports/network/safety/csv/?pool=1&section=0").status_code == 404  # no second group
    sections = _own("safety", here_clinic).sections
    index = next(i for i, s in enumerate(sections) if s.title == "Suicidality tasks by origin and flag")
    tasks = c.get(f"/reports/network/safety/csv/?pool=0&section={index}")
    assert tasks.status_code == 200
    own = sections[index]
    assert len(list(csv.reader(io.StringIO(tasks.content.decode())))) == len(own.table.rows) + 1
    exported = AuditEntry.objects.filter(action="report.exported").get()
    assert exported.details["clinic_ids"] == [here_clinic.pk] and exported.clinic_pk == here_clinic.pk
