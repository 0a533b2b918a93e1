"""Outcomes: does the care work, for whom, and how long does it last?

Sections: response and remission after induction by diagnosis group, by route and by the ordered dose; how long
response lasts without retreatment (Kaplan–Meier of the time from the end of induction to the loss of response,
each responder censored at their first booster or maintenance dose), and the same responders by the booster prompt
rule (``clinical.outcomes.relapse_after_induction``: a rise above the lowest score since induction); suicidal
thoughts (PHQ-9 item 9) before and after induction.

Who is counted: one row per patient whose induction series is over (``outcome_queries``: the first order's series,
as ``measures.services.induction_end`` defines it). The scale follows the diagnosis group
(``clinical.diagnosis_groups.SCALE``): PCL-5 for PTSD, GAD-7 for anxiety, PHQ-9 otherwise. The rules are the core's:
response and remission as ``clinical.outcomes.assess_change`` decides them, with the clinic's settings
(``Clinic.limits()``), and the curve ``clinical.survival.kaplan_meier``.

Queries, whatever the data: the clinic (its settings), the ordered doses, and one statement over the induction rows
(``outcome_queries.figures``, set-based: GROUP BY and window functions, no per-patient subquery) giving back both
the counts of the response and item 9 sections per (group, route, ordered dose) cell, which Python only adds up
into the table rows, and one row per responder for both curves (first retreatment, loss of response, the prompt
rule firing, last score): three in all.

Filters (all in the database): the date range is on the clinic-local day the first dosed session started; the
prescriber is who signed the induction order; the room is the room of the first dosed session; the diagnosis is
the patient's report group; the route is the induction order's.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.clinical.outcomes import RELAPSE_KEY
from ketaclinic.clinical.scales import get_scale
from ketaclinic.clinical.settings import spec
from ketaclinic.clinical.survival import CI_METHOD, kaplan_meier
from ketaclinic.reports import outcome_queries as oq
from ketaclinic.reports.base import Chart, Column, Report, ReportFilters, Section, Series, Table
from ketaclinic.reports.scope import Scope
from ketaclinic.treatments.models import Route, TreatmentOrder

SEED_FADES = ("The seed article (its reference 18: Krystal 2019, Neuron 101:774, doi:10.1016/j.neuron.2019.02.005) "
              "says the improvement after a single dose wears off within about two weeks unless ketamine is given "
              "again, which is why the time to loss of response is the question here.")
FEDER_2021 = ("Feder 2021 (Am J Psychiatry 178:193, doi:10.1176/appi.ajp.2020.20050596; clinical.md §7 evidence "
              "row, C): after six infusions for chronic PTSD, median time to loss of response 27.5 days.")
KM_SOURCE = ("Kaplan & Meier 1958 (J Am Stat Assoc 53:457, doi:10.1080/01621459.1958.10501452); Greenwood 1926 "
             f"standard error; 95% band {CI_METHOD}; median = first time the curve is at or below 0.5.")


def pct(count: int | None, of: int | None) -> float | None:
    return None if not of or count is None else round(100.0 * count / of, 1)


def _band_key(route: str, mg_per_kg, fixed_mg) -> str:
    return f"{route}|{mg_per_kg}|{fixed_mg}"


def _band_label(route: str, mg_per_kg, fixed_mg) -> str:
    name = Route(route).label if route in Route.values else route
    if mg_per_kg is not None:
        return f"{name}, {Decimal(mg_per_kg).normalize():f} mg/kg"
    if fixed_mg is not None:
        return f"{name}, {Decimal(fixed_mg).normalize():f} mg"
    return f"{name}, no dose ordered"


def _dec(v):
    """An ordered dose as a Decimal (SQLite gives a number back from raw SQL, PostgreSQL a Decimal)."""
    return None if v is None else Decimal(str(v))


def _tally(cells: list[dict], bands: list[tuple]) -> dict:
    """Every figure of the response and item 9 sections, "<row key>:<measure>", from the database's counts per
    cell (group, route, ordered dose): a few dozen cells whatever the number of patients."""
    band_key = {(route, _dec(mg), _dec(fixed)): _band_key(route, mg, fixed) for route, mg, fixed in bands}
    keys = (["all"] + [f"group:{g}" for g in dg.GROUPS] + [f"route:{r}" for r in Route.values]
            + [f"dose:{k}" for k in band_key.values()])
    c = {f"{k}:{m}": 0 for k in keys for m in oq.MEASURES}
    for cell in cells:
        band = band_key.get((cell["route"], _dec(cell["dose_mg_per_kg"]), _dec(cell["fixed_dose_mg"])))
        group = oq.GROUP_BY_RANK.get(cell["group_rank"])
        for k in ("all", f"group:{group}", f"route:{cell['route']}", f"dose:{band}"):
            if f"{k}:n" in c:
                for m in oq.MEASURES:
                    c[f"{k}:{m}"] += cell[m]
    return c


RESPONSE_COLUMNS = [
    Column("group", "Group"),
    Column("n", "Induction completed", "patients"),
    Column("assessed", "With baseline and after-induction scores", "patients"),
    Column("responders", "Responders", "patients"),
    Column("response_pct", "Response", "%"),
    Column("remission_n", "Remission rule applies", "patients"),
    Column("remitters", "Remitters", "patients"),
    Column("remission_pct", "Remission", "%"),
]


def _response_row(label: str, c: dict, key: str) -> tuple:
    assessed, responders = c[f"{key}:assessed"], c[f"{key}:responders"]
    rule_n, remitters = c[f"{key}:remission_rule"], c[f"{key}:remitters"]
    return (label, c[f"{key}:n"], assessed, responders, pct(responders, assessed),
            rule_n, remitters if rule_n else None, pct(remitters, rule_n))


def _response_section(title: str, rows: list[tuple], notes: list[str]) -> Section:
    chart = Chart("bar", "Group", "% of patients with both scores", [
        Series("Response (%)", [(f"{r[0]} (n={r[2]})", r[4]) for r in rows]),
        Series("Remission (%)", [(f"{r[0]} (n={r[2]})", r[7]) for r in rows]),
    ], y_max=100)
    return Section(title, Table(RESPONSE_COLUMNS, rows), chart, notes)


def build(filters: ReportFilters, clinics: Scope | None = None) -> Report:
    """The report of the clinic acting now, or of a pool of a network's clinics (``clinics``: reports/scope.py)."""
    clinics = clinics or Scope.current()
    limits = clinics.limits()
    tz = clinics.tz
    window = int(limits["outcomes.after_induction_window_days"])
    bands = list(TreatmentOrder.objects.filter(clinics.q("patient__clinic_id")).exclude(status__in=oq.NOT_ORDERS)
                 .values_list("route", "dose_mg_per_kg", "fixed_dose_mg").distinct()
                 .order_by("route", "dose_mg_per_kg", "fixed_dose_mg"))
    cells, responders = oq.figures(filters, limits, tz, clinics)
    c = _tally(cells, bands)

    response_notes = [
        "Counted: patients whose induction series is over: their first treatment order (not a draft, not entered in "
        "error), every session of it not cancelled or missed having its dose given (measures' end of induction).",
        "Scale by diagnosis group: PCL-5 for PTSD, GAD-7 for anxiety, PHQ-9 otherwise "
        f"({dg.SOURCE}). A patient with several diagnoses is in one group: bipolar, then unipolar, then PTSD, then "
        "anxiety (ketaclinic.clinical.diagnosis_groups). Diagnoses entered in error never count.",
        "Baseline: the last finalised score on that scale at or before the start of the first dosed session. After "
        f"induction: the first finalised score after the last induction session ended, within {window} days "
        f"(setting outcomes.after_induction_window_days: {spec('outcomes.after_induction_window_days').source}). "
        "Drafts and results entered in error never count.",
        "Response: a fall from baseline of at least "
        f"{limits['outcomes.response_percent']:g}% (PHQ-9; clinical.md §4, Cochrane CD011612.pub3, C), "
        f"{limits['outcomes.pcl5_response_percent']:g}% (PCL-5; Feder 2021 CAPS-5 rule, unconfirmed for PCL-5), "
        f"{limits['outcomes.gad7_response_percent']:g}% (GAD-7; unconfirmed). Remission: PHQ-9 total <= "
        f"{limits['outcomes.phq9_remission_max']} (clinical.md §4, U); PCL-5 below "
        f"{limits['outcomes.pcl5_cutpoint']} (clinical.md §4 PCL-5 row); GAD-7 has no remission rule in the "
        "reference, so those patients are left out of the remission column. The rules are the core's "
        "(ketaclinic.clinical.outcomes.assess_change) with the clinic's settings (clinics pooled across a network "
        "share them).",
        "Percentages are of the patients with both scores (n beside every figure); '—' means no one to count.",
    ]
    sections = [
        _response_section("Response and remission after induction, by diagnosis group",
                          [_response_row(dg.LABELS[g], c, f"group:{g}") for g in dg.GROUPS]
                          + [_response_row("All patients", c, "all")], response_notes),
        _response_section("Response and remission after induction, by route",
                          [_response_row(Route(r).label, c, f"route:{r}") for r in Route.values],
                          ["Route: the induction order's. " + response_notes[0]]),
        _response_section("Response and remission after induction, by ordered dose",
                          [_response_row(_band_label(*b), c, f"dose:{_band_key(*b)}") for b in bands
                           if c[f"dose:{_band_key(*b)}:n"]],
                          ["Dose: what the prescriber ordered for the induction series (mg/kg for IV and IM, the "
                           "fixed mg dose for esketamine), each ordered value its own row; no cut-offs are invented.",
                           response_notes[0]]),
        *_durability(responders, limits, tz),
        _suicidal_thoughts(c),
    ]
    return Report(slug="outcomes", title="Outcomes", question="Does the care work, for whom, and how long does it last?",
                  filters=filters, sections=sections, notes=[
                      f"Filters: {filters.describe()}. The date range is on the clinic-local day of the first dosed "
                      "session; the prescriber is who signed the induction order; the room is that of the first "
                      "dosed session; the route is the induction order's."])


def observation(start, event_at, last_at, retreat_at, tz) -> tuple[int, bool] | None:
    """One responder's (days, event) on a curve without retreatment: the event counts when the score showing it
    was given before the first dose after induction started (a loss on the morning of a booster, before the dose,
    is often what prompted the booster, so it counts); otherwise the responder is censored at that dose's day,
    or, never retreated, at their last score. Days are clinic-local calendar days from the end of induction."""
    def day(at):
        return timezone.localtime(at, tz).date()

    retreat = None if retreat_at is None else day(retreat_at)
    if event_at is not None and (retreat_at is None or event_at < retreat_at):
        return (day(event_at) - start).days, True
    if retreat is not None:
        return (retreat - start).days, False
    if last_at is None:  # a responder has an after-induction score, so this is defensive
        return None
    return (day(last_at) - start).days, False


KM_COLUMNS = [Column("days", "Day", "days"), Column("at_risk", "At risk", "patients"),
              Column("events", "Lost response", "patients"), Column("censored", "Censored", "patients"),
              Column("survival", "Still responding", "proportion"), Column("se", "Standard error"),
              Column("lower", "95% band, lower"), Column("upper", "95% band, upper")]


def _curve(observations):
    curve = kaplan_meier(observations)
    rows = [(int(s.time), s.at_risk, s.events, s.censored, round(s.survival, 3), round(s.std_err, 3),
             None if s.lower is None else round(s.lower, 3), None if s.upper is None else round(s.upper, 3))
            for s in curve.steps]
    points = [(0.0, 1.0)] + [(float(s.time), s.survival) for s in curve.steps]
    band = [(1.0, 1.0)] + [(s.lower if s.lower is not None else s.survival,
                            s.upper if s.upper is not None else s.survival) for s in curve.steps]
    median = "not reached" if curve.median is None else f"{curve.median:g} days"
    return curve, rows, points, band, median


RETREAT_NOTE = ("Without retreatment: a responder is censored on the day of their first dose after the end of "
                "induction (a booster or maintenance dose, of any order), if that comes before the event; an "
                "event seen on the day of that dose or later does not count (a score that morning, before the "
                "dose, included). A responder never retreated is censored at their last score. Days are "
                "clinic-local calendar days from the day of the last induction session.")


def _durability(responders: list[tuple], limits: dict, tz) -> list[Section]:
    lost_obs, relapse_obs, left_out = [], [], {}
    for scale, end, retreat_at, lost_at, relapse_at, last_at in responders:
        start = timezone.localtime(end, tz).date()
        if (o := observation(start, lost_at, last_at, retreat_at, tz)) is not None:
            lost_obs.append(o)
        if int(limits.get(RELAPSE_KEY.get(scale, ""), 0)) <= 0:
            left_out[scale] = left_out.get(scale, 0) + 1
        elif (o := observation(start, relapse_at, last_at, retreat_at, tz)) is not None:
            relapse_obs.append(o)
    lost, lost_rows, lost_points, lost_band, lost_median = _curve(lost_obs)
    relapse, relapse_rows, relapse_points, relapse_band, relapse_median = _curve(relapse_obs)
    main = Section(
        "How long response lasts without retreatment: time from the end of induction to loss of response",
        Table(KM_COLUMNS, lost_rows),
        Chart("step", "Days since the end of induction", "Still responding (proportion)",
              [Series(f"Responders (n={lost.n})", lost_points, lost_band)], y_max=1.0),
        [f"Responders after induction: {lost.n}; lost response before any retreatment: {lost.events}; median time "
         f"to loss of response: {lost_median}.",
         "Loss of response (the trial definition: no longer meeting the response criteria, as in Feder 2021, "
         "clinical.md §7 evidence row): the first finalised score (same scale) after the end of induction that no "
         "longer meets the response rule against the patient's baseline. " + RETREAT_NOTE,
         "The next section counts the same responders by the clinic's booster prompt rule instead: a rise above "
         "the lowest score since induction, which can fire while the patient still meets the response rule, "
         "and stay silent when a score crosses the response line by a point or two.",
         KM_SOURCE, SEED_FADES, FEDER_2021])
    rises = ", ".join(f"{get_scale(s).name} +{int(limits[k])}" for s, k in RELAPSE_KEY.items()
                      if s in oq.REPORT_SCALES and int(limits[k]) > 0) or "none"
    unset = ", ".join(f"{get_scale(s).name}: {n} responder{'s' if n != 1 else ''}"
                      for s, n in sorted(left_out.items()))
    relapse_section = Section(
        "Booster prompt rule without retreatment: time from the end of induction to a rise above the lowest score",
        Table([*KM_COLUMNS[:2], Column("events", "Prompt rule fired", "patients"), KM_COLUMNS[3],
               Column("survival", "No prompt yet", "proportion"), *KM_COLUMNS[5:]], relapse_rows),
        Chart("step", "Days since the end of induction", "No booster prompt yet (proportion)",
              [Series(f"Booster prompt rule (n={relapse.n})", relapse_points, relapse_band),
               Series(f"Response rule, previous section (n={lost.n})", lost_points)], y_max=1.0),
        [f"Responders counted: {relapse.n}; the prompt rule fired before any retreatment: {relapse.events}; median "
         f"time to the prompt rule: {relapse_median}.",
         "The booster prompt rule is the core's (ketaclinic.clinical.outcomes.relapse_after_induction, the rule "
         "behind the booster prompts): among the finalised scores (same scale) dated on or after the day "
         "induction ended, the first that is at least the clinic's rise above the lowest of them so far. Rise "
         f"set by this clinic: {rises} (settings outcomes.relapse_rise_*; PHQ-9 +5 is the issue 3 example, "
         "unconfirmed; PCL-5 +10 is clinical.md §4 PCL-5 row, S). "
         + (f"Left out, no rise set for their scale: {unset}. " if unset else "") + RETREAT_NOTE,
         "How the two rules differ: the response rule compares each score with the baseline before treatment "
         "(loss = no longer a fall of the response percent); the prompt rule compares it with the patient's best "
         "score since induction. A patient down from 20 to 2 who rises to 9 is still a responder but fires the "
         "PHQ-9 prompt (+7); a patient at 10 who rises to 11 has lost response but shows no prompt (+1). The "
         "chart shows the response-rule curve of the previous section for comparison, without its band.",
         KM_SOURCE])
    return [main, relapse_section]


def _suicidal_thoughts(c: dict) -> Section:
    rows = []
    for label, key in [(dg.LABELS[g], f"group:{g}") for g in dg.GROUPS] + [("All patients", "all")]:
        n = c[f"{key}:si_paired"]
        before, after, resolved = c[f"{key}:si_before"], c[f"{key}:si_after"], c[f"{key}:si_resolved"]
        rows.append((label, n, before, pct(before, n), after, pct(after, n), resolved, pct(resolved, before)))
    chart = Chart("bar", "Group", "% with PHQ-9 item 9 above 0", [
        Series("Before induction (%)", [(f"{r[0]} (n={r[1]})", r[3]) for r in rows]),
        Series("After induction (%)", [(f"{r[0]} (n={r[1]})", r[5]) for r in rows]),
    ], y_max=100)
    return Section(
        "Suicidal thoughts before and after induction (PHQ-9 item 9)",
        Table([Column("group", "Group"), Column("n", "With item 9 before and after", "patients"),
               Column("before", "Item 9 above 0 before", "patients"), Column("before_pct", "Before", "%"),
               Column("after", "Item 9 above 0 after", "patients"), Column("after_pct", "After", "%"),
               Column("resolved", "Above 0 before, 0 after", "patients"),
               Column("resolved_pct", "Of those above 0 before", "%")], rows),
        chart,
        ["PHQ-9 item 9 ('thoughts that you would be better off dead, or of hurting yourself'), any answer above 0: "
         "the reference's safety item (clinical.md §4 PHQ-9 row, Kroenke 2001; the trigger is practice, U).",
         "Patients counted: those of the rows above with a finalised PHQ-9 at baseline (at or before the first "
         "dosed session) and after induction (the same window as the response sections), whatever their diagnosis "
         "group. Percentages are of those patients (n in each row).",
         "The seed article cites meta-analyses of ketamine reducing suicidal ideation (its references 15 and 16: "
         "Bartoli 2017, doi:10.1016/j.neubiorev.2017.03.010; Ballard 2014, doi:10.1016/j.jpsychires.2014.07.027)."])
