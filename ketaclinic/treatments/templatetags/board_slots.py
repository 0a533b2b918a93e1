"""``{% board_tile place ctx %}``: one chair's (or room's) tile on the Today board, with a slot for each session in it
(``treatments/_today.html``); ``{% board_slot r ctx %}`` one session's slot.

Drawn here rather than by the template engine: a clinic's day puts fifty and more sessions on the board, each slot
some twenty values through the engine's lookups and filters (the times three ways each: ISO for the page's clock,
plain words, and the wall clock), and resolving them one by one was most of the board's rendering (the Today
refresh's template time, bench/where_the_time_goes.py). The markup is the template's as it was, every value escaped
as the template escaped it; times are in the request's time zone (the clinic's), as the ``time`` and ``date``
filters gave them, and said in words by ketaclinic.plaintime, as the ``plaintime`` filters say them.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from ketaclinic import plaintime

register = template.Library()

FLAG = {"Caution": "caution", "HOLD": "hold"}  # any other alert is a STOP-coloured flag


def _iso(at) -> str:
    return timezone.localtime(at).isoformat()


def _hm(at) -> str:
    return f"{timezone.localtime(at):%H:%M}"


def _csrf_input(context) -> str:
    """What ``{% csrf_token %}`` draws."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


@register.simple_tag(takes_context=True)
def board_tile(context, place, ctx) -> str:
    here, room, chair = place["rows"], place["room"], place["chair"]
    # " has-alert" once for each session with an alert that is still here, as the template's loop wrote it
    alerting = "".join(" has-alert" for r in here if r["alerts"] and r["s"].status != "discharged")
    slots = (mark_safe("".join(f"\n      {board_slot(context, r, ctx)}\n    " for r in here)) if here
             else mark_safe('<p class="muted">Free</p>'))
    return format_html('\n  <section class="chair-tile{}{}" aria-label="{}{}">\n    <h3 class="tile-head">{}{}</h3>\n    '
                       '{}\n  </section>\n  ', alerting, "" if here else " is-free", room.name,
                       format_html(" {}", chair.label) if chair else "", room.name,
                       format_html(" · {}", chair.label) if chair else "", slots)


@register.simple_tag(takes_context=True)
def board_slot(context, r, ctx) -> str:
    s, now = r["s"], ctx["now"]
    clinical, front_desk = ctx["clinical"], ctx["front_desk"]
    name = conditional_escape(s.patient.display_name)
    alerts = r["alerts"]
    out = [format_html('<div class="slot status-{}{}">\n        <p class="slot-who"><b class="slot-time">{}</b> '
                       '<span class="slot-name">{}</span>\n          <span class="badge phase">{}</span></p>\n        ',
                       s.status, " has-alert" if alerts else "", _hm(s.scheduled_start) if s.scheduled_start else "",
                       name, r["phase"])]
    if clinical and alerts:
        out.append(format_html('<p class="slot-alerts">{}</p>', mark_safe("".join(
            format_html('<span class="flag {}">{}</span>', FLAG.get(a, "stop"), a) for a in alerts))))
    out.append("\n        ")
    if s.status != "discharged":
        out.append('\n        <p class="slot-times">\n          ')
        if s.dose_started_at:
            out.append(format_html('<span class="elapsed"><span data-since="{}" data-format="minutes">{}</span> '
                                   'since dose start</span>\n          ', _iso(s.dose_started_at),
                                   plaintime.since(s.dose_started_at, now)))
            infusion = r["infusion"]
            if infusion:
                if infusion["paused"]:
                    said = "infusion paused"
                elif infusion["minutes_left"]:
                    said = format_html('{} left of the infusion <span class="small">(to {})</span>',
                                       plaintime.duration(infusion["minutes_left"]), _hm(infusion["ends_at"]))
                else:
                    said = "the prepared volume has run"
                out.append(format_html('<span class="infusion{}">{}</span>',
                                       " is-paused" if infusion["paused"] else "", said))
            out.append("\n          ")
        elif s.checked_in_at:
            out.append(format_html('<span class="elapsed">checked in <span data-since="{}" data-format="minutes">{}'
                                   '</span> ago</span>', _iso(s.checked_in_at), plaintime.since(s.checked_in_at, now)))
        out.append("\n          ")
        if clinical:
            out.append("\n            ")
            due = r["due"]
            if due:
                out.append(format_html('<span class="vitals-due{}">vitals <span data-due="{}" data-format="due">{}'
                                       '</span> <span class="small">({})</span></span>',
                                       " is-overdue" if r["overdue"] else "", _iso(due), plaintime.due(due, now),
                                       _hm(due)))
            out.append("\n            ")
            ready = r["ready_from"]
            if ready:
                if s.status == "ready_for_discharge":
                    out.append('<span class="ready">ready to go home</span>')
                else:
                    out.append(format_html('<span class="ready">ready from <b>{}</b> ({})</span>', _hm(ready),
                                           plaintime.until(ready, now)))
            out.append("\n          ")
        out.append("\n        </p>\n        ")
    out.append("\n        ")
    booked = front_desk and s.status == "booked"
    if clinical or booked:
        out.append('<p class="slot-actions">\n          ')
        if clinical:
            out.append(format_html('<a class="button" href="{}">Cockpit<span class="visually-hidden">: {}</span></a>',
                                   r["cockpit_url"], name))
        out.append("\n          ")
        if booked:
            out.append(format_html(
                '<form method="post" action="{}" class="inline">{}<input type="hidden" name="next" value="{}">'
                '<button type="submit">Check in<span class="visually-hidden"> {}</span></button></form>',
                reverse("treatments:check_in", args=[s.external_id]), _csrf_input(context),
                reverse("clinic:today"), name))
        out.append("\n        </p>")
    out.append("\n      </div>")
    return mark_safe("".join(out))
