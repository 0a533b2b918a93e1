"""Each panel of the Today page reads only what its app handed it (``ctx``: clinic/today.py includes every panel
with ``ctx=panel.context``), besides what every page has (the request, the user, the CSRF token).

A panel's template that names anything else shows nothing in its place, silently: the template engine takes a
missing name for an empty one. The prescriber's list of HOLD and STOP readings no prescriber had seen looped over
``rows`` instead of ``ctx.rows`` and showed its title over an empty list from the day it was added. Every panel an
app offers is found by asking each app's ``today_panels``' source for its templates, so a new panel is checked
too."""

from __future__ import annotations

import inspect
import re

from django.template import engines
from django.template.base import FilterExpression, Node, Variable, VariableNode
from django.template.defaulttags import ForNode, WithNode
from django.template.loader_tags import IncludeNode

from ketaclinic.apphooks import app_hooks

#: What every page's context has besides the panel's own ``ctx``: the request and user (context processors), the
#: CSRF token ({% csrf_token %}), and a loop's own counter.
EVERY_PAGE = {"ctx", "request", "user", "csrf_token", "forloop"}


def panel_templates() -> dict[str, str]:
    """Each template a Today panel is drawn with, and the app module that offers it."""
    found = {}
    for module in app_hooks("today", gatherer="ketaclinic.clinic"):
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


def test_every_panel_of_every_app_is_found():
    templates = panel_templates()
    assert "treatments/_today_alerts.html" in templates and "measures/panel_safety.html" in templates
    assert len(set(templates.values())) >= 6, templates  # treatments, scheduling, integration, measures, custody, ...


def test_a_today_panel_reads_only_its_ctx_and_what_every_page_has():
    strays = {}
    for name, module in sorted(panel_templates().items()):
        read, bound = names_used(name)
        stray = read - bound - EVERY_PAGE
        if stray:
            strays[name] = (module, sorted(stray))
    assert strays == {}, f"panels reading names their app did not give them (write ctx.<name>): {strays}"


def test_the_check_sees_a_name_the_panel_was_not_given():
    read, bound = names_used("treatments/_today_alerts.html")
    assert "ctx" in read and "r" in bound
    template = engines["django"].from_string(
        "{% for r in rows %}{{ r.s.patient.display_name }}{% endfor %}{% with n=ctx.count %}{{ n }}{% endwith %}"
        "{% if late and not ctx.due %}{{ when|date:fmt }}{% endif %}{% url 'clinic:today' as here %}{{ here }}")
    read, bound = names_in(template.template.nodelist)
    assert read - bound - EVERY_PAGE == {"rows", "late", "when", "fmt"}, (read, bound)
