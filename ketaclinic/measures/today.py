"""Today board panel: urgent safety tasks (until acknowledged) and booster prompts, for clinical roles."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.measures.models import BoosterPrompt, SafetyTask


def today_panels(request, clinic) -> list[dict]:
    user = request.user
    if not can_open(user, "measures:worklist"):
        return []
    tasks = list(SafetyTask.objects.filter(status=SafetyTask.Status.OPEN, patient__clinic=clinic)
                 .select_related("patient", "assigned_to").order_by("created_at")[:50])
    prompts = []
    if can_open(user, "measures:booster"):
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
