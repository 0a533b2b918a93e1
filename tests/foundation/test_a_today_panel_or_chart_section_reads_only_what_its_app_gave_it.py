"""Each panel of the Today page and each app's section of the chart reads only what its app handed it (``ctx``:
clinic/today.html and patients/chart.html include each with ``ctx=<its context>``), besides what every page has
(the request, the user, the CSRF token, True/False/None).

A template that names anything else shows nothing in its place, silently: the template engine takes a missing
name for an empty one. Two did, each from the day it was added: the prescriber's Today list of HOLD and STOP
readings no prescriber had seen looped over ``rows`` (not ``ctx.rows``) and showed its title over an empty list,
and the chart's research-consent section read ``current`` (not ``ctx.current``) and said "No decision recorded"
whatever the patient had decided. Every panel and section is found by reading each app's hook module for the
templates it names, so a new one is checked too."""

from __future__ import annotations

import inspect
import re

import pytest
from django.template import engines
from django.template.base import FilterExpression, Node, Variable, VariableNode
from django.template.defaulttags import ForNode, WithNode
from django.template.loader_tags import IncludeNode

from ketaclinic.apphooks import app_hooks

#: What every page's context has besides the panel's own ``ctx``: the request and user (context processors), the
#: CSRF token ({% csrf_token %}), and a loop's own counter.
EVERY_PAGE = {"ctx", "request", "user", "csrf_token", "forloop", "True", "False", "None"}

#: The pages whose parts each app offers: the hook (module name in each app), the app gathering them, and what the
#: page gives its parts besides ``ctx``: the chart passes the bound form of a refused entry by name
#: (patients/views.py chart_page ``section_forms``, e.g. ``invite_form``) for the section to show its errors.
PAGES = {"today": ("ketaclinic.clinic", set()), "chart": ("ketaclinic.patients", {"consult_form", "invite_form"})}


def part_templates(hook: str) -> dict[str, str]:
    """Each template a part of the page is drawn with (a Today panel, a chart section), and the app module that
    offers it."""
    found = {}
    for module in app_hooks(hook, gatherer=PAGES[hook][0]):
        for name in re.findall(r'"template":\s*"([^"]+)"', inspect.getsource(module)):
            found[name] = module.__name__
    return found


def _expressions(node: Node):
    """Every filter expression a node evaluates (its own, its filters' arguments), found among its attributes."""
    for value in vars(node).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, FilterExpression):
                yield item
            elif hasattr(item, "value") and isinstance(item.value, FilterExpression):  # an {% if %} operand
                yield item.value
            for part in ("first", "second"):  # an {% if %} operator's operands
                operand = getattr(item, part, None)
                if operand is not None and isinstance(getattr(operand, "value", None), FilterExpression):
                    yield operand.value


def _operands(node: Node):
    """The operands of an {% if %} (nested operators walked to their literals)."""
    for condition, _ in getattr(node, "conditions_nodelists", []):
        stack = [condition]
        while stack:
            c = stack.pop()
            if c is None:
                continue
            if isinstance(getattr(c, "value", None), FilterExpression):
                yield c.value
            stack += [getattr(c, "first", None), getattr(c, "second", None)]


def names_used(template_name: str) -> tuple[set[str], set[str]]:
    """The first name of every variable the template reads, and every name it binds itself (loop variables,
    {% with %} names, ``as`` names), over the template and the templates it includes by a fixed name."""
    return names_in(engines["django"].engine.get_template(template_name).nodelist)


def names_in(nodelist) -> tuple[set[str], set[str]]:
    """:func:`names_used` over a parsed template's nodes."""
    engine = engines["django"].engine
    read: set[str] = set()
    bound: set[str] = set()

    def variables(fe: FilterExpression):
        if isinstance(fe.var, Variable) and fe.var.lookups:
            yield fe.var.lookups[0]
        for _, args in fe.filters:
            for is_lookup, arg in args:
                if is_lookup and isinstance(arg, Variable) and arg.lookups:
                    yield arg.lookups[0]

    def walk(nodelist):
        for node in nodelist:
            expressions = list(_expressions(node)) + list(_operands(node))
            if isinstance(node, VariableNode):
                expressions.append(node.filter_expression)
            for fe in expressions:
                read.update(variables(fe))
            if isinstance(node, ForNode):
                bound.update(node.loopvars)
            if isinstance(node, WithNode):
                bound.update(node.extra_context)
            if getattr(node, "asvar", None):
                bound.add(node.asvar)
            if isinstance(node, IncludeNode) and isinstance(node.template.var, str):
                bound.update(node.extra_context)
                walk(engine.get_template(node.template.var).nodelist)
            for attr in node.child_nodelists:
                walk(getattr(node, attr, None) or [])

    walk(nodelist)
    return read, bound


def test_every_panel_and_section_of_every_app_is_found():
    today, chart = part_templates("today"), part_templates("chart")
    assert "treatments/_today_alerts.html" in today and "measures/panel_safety.html" in today
    assert len(set(today.values())) >= 6, today  # treatments, scheduling, integration, measures, custody, ...
    assert "reports/research_chart_section.html" in chart and "portal/chart_section.html" in chart
    assert len(set(chart.values())) >= 8, chart


@pytest.mark.parametrize("hook", sorted(PAGES))
def test_each_part_reads_only_its_ctx_and_what_its_page_gives_every_part(hook):
    strays = {}
    for name, module in sorted(part_templates(hook).items()):
        read, bound = names_used(name)
        stray = read - bound - EVERY_PAGE - PAGES[hook][1]
        if stray:
            strays[name] = (module, sorted(stray))
    assert strays == {}, f"{hook}: parts reading names their app did not give them (write ctx.<name>): {strays}"


def test_the_check_sees_a_name_the_panel_was_not_given():
    read, bound = names_used("treatments/_today_alerts.html")
    assert "ctx" in read and "r" in bound
    template = engines["django"].from_string(
        "{% for r in rows %}{{ r.s.patient.display_name }}{% endfor %}{% with n=ctx.count %}{{ n }}{% endwith %}"
        "{% if late and not ctx.due %}{{ when|date:fmt }}{% endif %}{% url 'clinic:today' as here %}{{ here }}")
    read, bound = names_in(template.template.nodelist)
    assert read - bound - EVERY_PAGE == {"rows", "late", "when", "fmt"}, (read, bound)
