"""Education pages in the portal (issue 18 point 3): the project's text is each page's first version, marked as
written by the project and hidden from patients until a prescriber approves it; a clinic admin or prescriber
writes new versions with a preview; every version is kept; patients read the newest approved one, with its sources
at the bottom; nothing typed can inject HTML."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.portal import education, markup
from ketaclinic.portal.education_text import PAGES, SHIPPED_NOTE
from ketaclinic.portal.models import EducationPage, EducationVersion

pytestmark = pytest.mark.django_db
SLUGS = [p["slug"] for p in PAGES]


def page(clinic, slug):
    education.pages_for(clinic)
    return EducationPage.objects.get(clinic=clinic, slug=slug)


def approve_all(clinic, actor_for):
    for p in education.pages_for(clinic):
        education.approve(actor=actor_for("prescriber"), version=p.versions.get(number=1))


def test_the_shipped_pages_are_the_first_versions_written_by_the_project_and_not_yet_shown(clinic,
                                                                                           make_portal_patient):
    patient, client = make_portal_patient()
    pages = education.pages_for(clinic)
    assert [p.slug for p in pages] == SLUGS == ["what-is-ketamine-therapy", "before-during-after",
                                                "aftercare-and-integration", "costs", "questions"]
    for p in pages:
        (v,) = p.versions.all()
        assert v.number == 1 and v.shipped and v.note == SHIPPED_NOTE and v.approved_at is None
        assert v.source_lines(), f"{p.slug} lists no source"
    index = client.get(reverse("portal:learn"))
    assert index.status_code == 200 and "being reviewed by your clinic" in index.text
    r = client.get(reverse("portal:learn_page", args=["before-during-after"]))
    assert r.status_code == 200 and "not available yet" in r.text and "escort" not in r.text.lower()
    assert AuditEntry.objects.filter(action="education.shipped").count() == 1


def test_a_prescriber_approves_and_the_patient_reads_the_page_with_its_sources(clinic, make_portal_patient,
                                                                             actor_for):
    patient, client = make_portal_patient()
    approve_all(clinic, actor_for)
    r = client.get(reverse("portal:learn_page", args=["before-during-after"]))
    assert r.status_code == 200
    assert "<h1>What to expect before, during and after a session</h1>" in r.text
    assert "at least 2 hours after the dose, as the REMS requires" in r.text
    assert "<h2>Sources</h2>" in r.text and "clinical.md §3b" in r.text
    assert r.text.index("<h2>Sources</h2>") > r.text.index("REMS requires")
    costs = client.get(reverse("portal:learn_page", args=["costs"]))
    assert f'href="{reverse("billing:my_billing")}"' in costs.text
    assert AuditEntry.objects.filter(action="portal.learn_page.viewed", patient=patient).count() == 2
    nav = client.get(reverse("portal:home")).text
    assert f'href="{reverse("portal:learn")}"' in nav


def test_a_new_version_waits_for_approval_and_the_old_one_stays_as_written(clinic, make_portal_patient,
                                                                          actor_for, staff):
    _, client = make_portal_patient()
    approve_all(clinic, actor_for)
    p = page(clinic, "costs")
    v2 = education.write_version(actor=actor_for("clinic_admin"), page=p, title="What it costs here",
                                 body="Our **prices** are on My bills.", sources="The clinic's price list",
                                 note="Shorter")
    assert v2.number == 2 and v2.written_by == staff["clinic_admin"] and v2.approved_at is None
    assert "What it costs here" not in client.get(reverse("portal:learn_page", args=["costs"])).text
    education.approve(actor=actor_for("prescriber"), version=v2)
    r = client.get(reverse("portal:learn_page", args=["costs"]))
    assert "What it costs here" in r.text and "<strong>prices</strong>" in r.text
    v1 = p.versions.get(number=1)
    assert v1.title == "Costs" and v1.approved_at is not None  # history kept as written
    with pytest.raises(education.EducationError):
        education.approve(actor=actor_for("prescriber"), version=v1)  # older words come back as a new version
    actions = list(AuditEntry.objects.filter(action__startswith="education.version").values_list("action", flat=True))
    assert actions.count("education.version.written") == 1 and actions.count("education.version.approved") == 6


@pytest.mark.parametrize("role,what", [("nurse", "write"), ("front_desk", "write"), ("clinic_admin", "approve"),
                                       ("nurse", "approve")])
def test_only_admins_and_prescribers_write_and_only_prescribers_approve(role, what, clinic, actor_for):
    p = page(clinic, "questions")
    before = EducationVersion.objects.count()
    with pytest.raises(education.EducationError):
        if what == "write":
            education.write_version(actor=actor_for(role), page=p, title="T", body="B", sources="S")
        else:
            education.approve(actor=actor_for(role), version=p.versions.get(number=1))
    assert EducationVersion.objects.count() == before and education.published(p) is None


def test_a_version_is_never_edited_or_deleted(clinic):
    v = page(clinic, "questions").versions.get(number=1)
    v.body = "changed"
    with pytest.raises(ValueError):
        v.save()
    with pytest.raises(ValueError):
        v.delete()
    assert EducationVersion.objects.get(pk=v.pk).body != "changed"


def test_the_edit_form_previews_without_saving_and_a_refusal_saves_nothing(clinic, client_for):
    c = client_for("prescriber")
    url = reverse("portal:education_edit", args=["questions"])
    education.pages_for(clinic)
    r = c.post(url, {"title": "FAQ", "body": "## Q\n- one\n- two <b>x</b>", "sources": "A\nB", "action": "preview"})
    assert r.status_code == 200 and "Preview (not saved)" in r.text
    assert "<h2>Q</h2>" in r.text and "<li>two &lt;b&gt;x&lt;/b&gt;</li>" in r.text
    assert EducationVersion.objects.filter(page__slug="questions").count() == 1
    r = c.post(url, {"title": "FAQ", "body": "text", "sources": "", "action": "save"})
    assert r.status_code == 400 and EducationVersion.objects.filter(page__slug="questions").count() == 1
    r = c.post(url, {"title": "FAQ", "body": "text", "sources": "A", "note": "new", "action": "save"})
    assert r.status_code == 302
    assert EducationVersion.objects.filter(page__slug="questions").count() == 2
    listing = c.get(reverse("portal:education")).text
    assert "written by the KetaClinic project" in listing and "awaiting approval" in listing


def test_an_unknown_page_is_a_404_for_the_patient(clinic, make_portal_patient):
    patient, client = make_portal_patient()
    assert client.get(reverse("portal:learn_page", args=["no-such-page"])).status_code == 404
    assert AuditEntry.objects.filter(action="portal.not_found", patient=patient).exists()


@pytest.mark.parametrize("typed,shown", [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ("[click](javascript:alert(1))", "<p>[click](javascript:alert(1))</p>"),
    ('[x](https://a.example/"onmouseover=alert(1))', "<p>[x](https://a.example/&quot;onmouseover=alert(1))</p>"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
    ("[988](https://988lifeline.org/)", '<p><a href="https://988lifeline.org/" rel="noopener noreferrer">988</a></p>'),
    ("[My bills](/billing/my/)", '<p><a href="/billing/my/">My bills</a></p>'),
    ("[Pay here](//evil.example/login)", "<p>[Pay here](//evil.example/login)</p>"),  # another host, not a path
    ("## Title\n- **a**\n- b\n\nText", "<h2>Title</h2>\n<ul><li><strong>a</strong></li><li>b</li></ul>\n<p>Text</p>"),
])
def test_the_markup_escapes_everything_it_does_not_build_itself(typed, shown):
    assert markup.render(typed) == shown


def test_every_shipped_page_renders_without_raw_markup_left(clinic):
    for shipped in PAGES:
        html = markup.render(shipped["body"])
        assert "**" not in html and "\n## " not in html and "<h2>" in html


def test_the_demo_prescriber_approved_the_shipped_pages(clinic, make_user, make_patient):
    import random

    from django.utils import timezone

    from ketaclinic.audit.services import Actor
    from ketaclinic.crossapp.management.commands.seed_demo import DemoContext
    from ketaclinic.portal import demo

    users = {"prescriber": make_user("prescriber"), "frontdesk": make_user("front_desk")}
    ctx = DemoContext(clinic=clinic, actor=Actor.system("demo loader"), users=users,
                      patients=[make_patient() for _ in range(3)], rng=random.Random(1), now=timezone.now())
    demo.seed(ctx)
    assert all(education.published(p) is not None for p in education.pages_for(clinic))
