"""Chart section: latest scores, a mini trajectory, open safety tasks and booster prompts (fixed queries)."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.measures import trajectory
from ketaclinic.measures.models import Administration, BoosterPrompt, SafetyTask


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "measures:trajectory"):
        return []
    trajectories, doses = trajectory.load(patient, patient.clinic)
    main = next((t for t in trajectories if t.scale == "phq9"), trajectories[0] if trajectories else None)
    mini = trajectory.render_svg(main, doses, height=180, mini=True) if main else ""
    tasks = list(SafetyTask.objects.filter(patient=patient, status=SafetyTask.Status.OPEN)
                 .select_related("assigned_to"))
    prompts = list(BoosterPrompt.objects.filter(patient=patient, status=BoosterPrompt.Status.OPEN))
    drafts = Administration.objects.filter(patient=patient, status=Administration.Status.DRAFT).count()
    return [{
        "title": "Outcomes",
        "id": "outcomes",
        "css": "wide",
        "template": "measures/chart_section.html",
        "context": {"patient": patient, "trajectories": trajectories, "main": main, "mini": mini, "tasks": tasks,
                    "prompts": prompts, "drafts": drafts, "doses": doses},
    }]
