"""Today board panel: urgent safety tasks (until acknowledged) and booster prompts, for clinical roles."""

from __future__ import annotations

from ketaclinic.accounts.roles import Role
from ketaclinic.measures.models import BoosterPrompt, SafetyTask

CLINICAL = (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST)


def today_panels(request, clinic) -> list[dict]:
    user = request.user
    if not user.has_role(*CLINICAL):
        return []
    tasks = list(SafetyTask.objects.filter(status=SafetyTask.Status.OPEN, patient__clinic=clinic)
                 .select_related("patient", "assigned_to").order_by("created_at")[:50])
    prompts = []
    if user.has_role(Role.PRESCRIBER):
        prompts = list(BoosterPrompt.objects.filter(status=BoosterPrompt.Status.OPEN, patient__clinic=clinic)
                       .select_related("patient").order_by("created_at")[:20])
    panels = [{
        "title": f"Urgent safety tasks ({len(tasks)})" if tasks else "Urgent safety tasks",
        "template": "measures/panel_safety.html",
        "context": {"tasks": tasks, "user": user},
        "priority": 0 if tasks else 60,
        "css": "wide urgent" if tasks else "",
    }]
    if prompts:
        panels.append({"title": f"Booster prompts ({len(prompts)})", "template": "measures/panel_boosters.html",
                       "context": {"prompts": prompts}})
    return panels
