"""Audit actions are an enum, not free strings: ``record`` refuses an action the app does not know, every member
is written somewhere, no call site passes a string, and the compliance search offers the
actions as choices."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import reverse

from ketaclinic.accounts.admin import ADMIN_ACTIONS, ClinicAdminOnly
from ketaclinic.accounts.roles import Role
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry, ChainHead
from ketaclinic.audit.services import Actor, record
from ketaclinic.custody.models import Count, PendingEvent
from ketaclinic.custody.services.counts import COUNT_ACTIONS
from ketaclinic.custody.services.witnessing import POSTED, WITHDRAWN, WITNESSED
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.integration.services import STATUS_ACTIONS
from ketaclinic.treatments.models import SessionEvent

SOURCE = Path(__file__).resolve().parents[2] / "ketaclinic"
#: Another engineer converts these call sites; until then they pass member values as strings (which record accepts).


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), filename=str(p))) for p in sorted(SOURCE.rglob("*.py"))
            if "migrations" not in p.parts and p.name != "actions.py"]


def _is_record_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Attribute) and f.attr == "record") or (isinstance(f, ast.Name) and f.id == "record")


def _action_arg(call: ast.Call) -> ast.expr | None:
    if len(call.args) >= 2:
        return call.args[1]
    return next((k.value for k in call.keywords if k.arg == "action"), None)


def _free_strings(expr: ast.AST) -> list[str]:
    return [ast.unparse(n) for n in ast.walk(expr)
            if isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))]


# ------------------------------------------------------------------------------------------------ record()
@pytest.mark.parametrize("action", ["patient.chart.veiwed", "custody.", "PATIENT_CHART_VIEWED", "", "test.event"])
def test_record_refuses_an_unknown_action_and_writes_nothing(db, action):
    record(Actor.system("test"), AuditAction.AUDIT_SEARCHED)
    head = ChainHead.objects.get()
    before = (AuditEntry.objects.count(), head.last_seq, head.last_hash)
    with pytest.raises(ValueError, match="is not a valid AuditAction"):
        record(Actor.system("test"), action)
    head.refresh_from_db()
    assert (AuditEntry.objects.count(), head.last_seq, head.last_hash) == before
    assert not AuditEntry.objects.filter(action=action).exists()


def test_record_stores_a_member_and_its_value_string_alike(db):
    by_member = record(Actor.system("test"), AuditAction.PATIENT_CHART_VIEWED)
    by_value = record(Actor.system("test"), "patient.chart.viewed")
    assert AuditEntry.objects.get(pk=by_member.pk).action == "patient.chart.viewed"
    assert AuditEntry.objects.get(pk=by_value.pk).action == "patient.chart.viewed"


# ------------------------------------------------------------------------------------------------ the enum
def test_no_two_members_share_a_value():
    # a repeated value would make the second name a silent alias of the first
    assert len(AuditAction.__members__) == len(list(AuditAction))
    assert len({a.value for a in AuditAction}) == len(list(AuditAction))


def test_values_keep_the_stored_form_and_fit_the_column():
    width = AuditEntry._meta.get_field("action").max_length
    for action in AuditAction:
        assert re.fullmatch(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+", action.value), action
        assert action.name == action.value.upper().replace(".", "_"), action
        assert len(action.value) <= width, action


def test_every_member_is_written_somewhere():
    """A member nothing writes is dead: searching for it would always find nothing."""
    named, literals, patterns = set(), set(), []
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "AuditAction":
                named.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            elif (isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant)
                  and "." in node.values[0].value):  # an f-string with a fixed domain, like f"session.dose.{kind}"
                parts = [re.escape(v.value) if isinstance(v, ast.Constant) else r"[a-z_-]+" for v in node.values]
                patterns.append(re.compile("".join(parts)))
    dead = [a.name for a in AuditAction if a.name not in named and a.value not in literals
            and not any(p.fullmatch(a.value) for p in patterns)]
    assert dead == []


# ------------------------------------------------------------------------------- the maps of dynamic actions
def test_each_integration_status_set_maps_to_its_action():
    assert set(STATUS_ACTIONS) == {IntegrationSession.Status.COMPLETED, IntegrationSession.Status.DECLINED,
                                   IntegrationSession.Status.CANCELLED}
    for status, action in STATUS_ACTIONS.items():
        assert action == f"integration.{status}"


def test_each_count_kind_maps_to_its_action():
    assert set(COUNT_ACTIONS) == set(Count.Kind)
    for kind, action in COUNT_ACTIONS.items():
        assert action == f"custody.count.{kind}"


def test_each_pending_event_kind_maps_to_its_actions():
    for table, step in ((WITNESSED, "witnessed"), (POSTED, "posted"), (WITHDRAWN, "withdrawn")):
        assert set(table) == set(PendingEvent.Kind)
        for kind, action in table.items():
            assert action == f"custody.{kind}.{step}"


def test_every_model_in_the_clinic_admin_has_its_actions():
    registered = {model._meta.model_name for model, model_admin in admin.site._registry.items()
                  if isinstance(model_admin, ClinicAdminOnly)}
    assert registered and registered <= set(ADMIN_ACTIONS)
    for name, (added, changed) in ADMIN_ACTIONS.items():
        assert (added, changed) == (f"admin.{name}.added", f"admin.{name}.changed")


def test_every_dosing_event_and_signing_role_has_its_action():
    from ketaclinic.treatments.services.dose import EVENT_ACTIONS
    from ketaclinic.treatments.services.signing import SIGNED

    assert set(EVENT_ACTIONS) == set(SessionEvent.Kind) - {SessionEvent.Kind.START}  # start has its own action
    assert set(SIGNED) == {Role.NURSE, Role.PRESCRIBER}


# ------------------------------------------------------------------------------------- no free strings back
def test_no_record_call_passes_a_free_string():
    offenders = []
    for path, tree in _sources():
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
            assigned: dict[str, list[ast.expr]] = {}
            for n in ast.walk(func):
                if isinstance(n, ast.Assign):
                    for target in n.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(n.value)
            for call in [n for n in ast.walk(func) if _is_record_call(n)]:
                arg = _action_arg(call)
                if arg is None:
                    offenders.append(f"{path.relative_to(SOURCE)}:{call.lineno}: no action")
                    continue
                found = _free_strings(arg)
                if isinstance(arg, ast.Name):  # a variable: what it was given in this function counts too
                    for value in assigned.get(arg.id, []):
                        found += _free_strings(value)
                offenders += [f"{path.relative_to(SOURCE)}:{call.lineno}: {s}" for s in found]
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "portal_page"]:
            offenders += [f"{path.relative_to(SOURCE)}:{call.lineno}: {s}" for a in call.args for s in _free_strings(a)]
    assert offenders == []


def test_the_free_string_scan_catches_a_literal_and_an_f_string():
    tree = ast.parse('def f(actor, kind):\n    audit.record(actor, "x.y")\n    record(actor, f"custody.{kind}")\n'
                     '    a = "p.q"\n    audit.record(actor, a)\n    audit.record(actor, AuditAction.AUDIT_SEARCHED)\n')
    calls = [n for n in ast.walk(tree) if _is_record_call(n)]
    assert [bool(_free_strings(_action_arg(c))) for c in calls] == [True, True, False, False]


# ----------------------------------------------------------------------------------------- audit search
def test_audit_search_offers_the_actions_and_domains_and_refuses_free_text(client_for, patient):
    client_for("nurse").get(reverse("patients:chart", kwargs={"external_id": patient.external_id}))
    c = client_for("compliance")
    page = c.get(reverse("audit:search")).content.decode()
    assert '<option value="patient.chart.viewed">' in page and '<option value="custody.">' in page
    body = c.get(reverse("audit:search"), {"action": "patient."}).content.decode()
    assert "patient.chart.viewed" in body.split("<tbody>", 1)[1] and "patient.registered" in body.split("<tbody>", 1)[1]
    response = c.get(reverse("audit:search"), {"action": "patient.chart"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
