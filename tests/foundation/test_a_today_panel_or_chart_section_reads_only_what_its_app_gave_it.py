"""Each panel of the Today page and each app's section of the chart reads only what its app handed it (``ctx``:
clinic/today.html and patients/chart.html include each with ``ctx=<its context>``), besides what every page has
(what the context processors put in every page's context, the CSRF token, True/False/None).

A template that names anything else shows nothing in its place, silently: the template engine takes a missing
name for an empty one. Two did, each from the day it was added: the prescriber's Today list of HOLD and STOP
readings no prescriber had seen looped over ``rows`` (not ``ctx.rows``) and showed its title over an empty list,
and the chart's research-consent section read ``current`` (not ``ctx.current``) and said "No decision recorded"
whatever the patient had decided. Every panel and section is found by reading each app's hook module for the
templates it names, so a new one is checked too. A misspelt key (``ctx.curent``) is as silent, so each
``ctx.<key>`` a part reads must be a key its app puts in that part's context.

The walk follows the template engine's own scoping: a name bound by a {% for %}, a {% with %} or an
{% include ... with %} is seen only inside it, and an ``as`` name only after its tag; a name bound in one place
excuses no read of the same name elsewhere."""

from __future__ import annotations

import ast
import functools
import inspect
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.template import Context, engines
from django.template.base import FilterExpression, Node, TokenType, Variable
from django.template.defaulttags import CsrfTokenNode, FilterNode, ForNode, IfNode, RegroupNode, WithNode
from django.template.loader_tags import IncludeNode
from django.templatetags.i18n import BlockTranslateNode

from ketaclinic.apphooks import app_hooks

#: The pages whose parts each app offers: the hook (module name in each app), the app gathering them, and what the
#: page gives its parts besides ``ctx``: the chart passes the bound form of a refused entry by name
#: (patients/views.py chart_page ``section_forms``, e.g. ``invite_form``) for the section to show its errors.
PAGES = {"today": ("ketaclinic.clinic", set()), "chart": ("ketaclinic.patients", {"consult_form", "invite_form"})}

#: Parts whose context the hook module builds in a way :func:`_given_keys` cannot read (template: why), so their
#: ``ctx.<key>`` reads are not checked. Empty: every part's context is a dict literal, a dict a function of the
#: module returns, or one of those with keys set by ``ctx["key"] = ...``. A new entry needs its reason here.
NOT_ENUMERABLE: dict[str, str] = {}

#: What every context has, even an {% include ... only %}'s (django.template.context.BaseContext): True, False, None.
BUILTINS = frozenset(Context().flatten())

#: Node attributes a tag keeps its ``as`` name in (url, firstof, now, widthratio, translate: ``asvar``; cycle:
#: ``variable_name``; regroup: ``var_name``; simple tags: ``target_var``; static, get_static_prefix: ``varname``;
#: get_current_language and the other i18n and tz getters: ``variable``).
AS_NAME_ATTRIBUTES = ("asvar", "varname", "variable_name", "var_name", "target_var", "variable")


@functools.cache
def page_wide_names() -> frozenset[str]:
    """What every page's context has besides ``ctx``: the names each context processor of settings.TEMPLATES (and
    the engine's built-in CSRF one) returns, for a signed-out and a signed-in request, and True/False/None.
    Called rather than listed, so a processor added or changed is followed; none of them runs a query to say
    which names it gives (the navigation's are lazy)."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    names = set(BUILTINS)
    for user in (AnonymousUser(), SimpleNamespace(is_authenticated=True)):
        request = RequestFactory().get("/")
        request.user = user
        for processor in engines["django"].engine.template_context_processors:
            names |= processor(request).keys()
    return frozenset(names)


# --- The parts, and the keys each one's app gives it ------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A Today panel or chart section: its template, the hook module offering it, and the keys of the context
    its app gives it (None: not enumerable from the source, see :data:`NOT_ENUMERABLE`)."""

    template: str
    module: str
    given: frozenset[str] | None


def parts(hook: str) -> dict[str, Part]:
    """Every part of the page each app's hook module offers, by template name, read from the module's source.

    The source is read (``ast``) rather than the hook called: a hook returns some of its parts only in some
    states (the prescriber's HOLD/STOP list only while a reading waits, REMS forms only when one is due, booster
    prompts only when one is open), so calling it with one fixture state would miss parts, and building a state
    that shows them all would cost seconds of database work. Every dict literal with a ``"template"`` key in the
    module is a part; its ``"context"`` is followed by :func:`_given_keys`."""
    found = {}
    for module in app_hooks(hook, gatherer=PAGES[hook][0]):
        tree = ast.parse(inspect.getsource(module))
        functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        for top in tree.body:
            function = top if isinstance(top, ast.FunctionDef) else None
            for d in ast.walk(top):
                if not isinstance(d, ast.Dict):
                    continue
                entries = {k.value: v for k, v in zip(d.keys, d.values, strict=True) if isinstance(k, ast.Constant)}
                if "template" not in entries:
                    continue
                name = entries["template"]
                assert isinstance(name, ast.Constant) and isinstance(name.value, str), (
                    f"{module.__name__} line {name.lineno}: a part's template is named by an expression, not a "
                    "string, so this check cannot find it; name it with a string")
                context = entries.get("context")
                given = frozenset() if context is None else _given_keys(context, function, functions)
                found[name.value] = Part(name.value, module.__name__, given)
    return found


#: Methods that change a dict's keys in ways :func:`_given_keys` does not follow.
_MUTATORS = {"update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__"}


def _given_keys(expr: ast.expr, function: ast.FunctionDef | None, functions: dict) -> frozenset[str] | None:
    """The keys of the dict ``expr`` evaluates to, from the hook module's source: a dict literal with string keys;
    a call of a function of the same module (the keys every one of its returns gives); a name assigned one of
    those in ``function`` (the keys every assignment gives), plus each ``name["key"] = ...``. Anything else (a
    ``**`` spread, a computed key, a name changed by ``.update()`` or ``del``, a parameter) gives None: not
    enumerable, rather than a guess."""
    if isinstance(expr, ast.Dict):
        if all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in expr.keys):  # None: a ** spread
            return frozenset(k.value for k in expr.keys)
        return None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in functions:
        callee = functions[expr.func.id]
        return _on_every_path([_given_keys(r.value, callee, functions) for r in ast.walk(callee)
                               if isinstance(r, ast.Return) and r.value is not None])
    if not (isinstance(expr, ast.Name) and function is not None):
        return None
    assigned, added = [], set()
    for n in ast.walk(function):
        if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign):
            for target in n.targets if isinstance(n, ast.Assign) else [n.target]:
                if isinstance(target, ast.Name) and target.id == expr.id:
                    if isinstance(n, ast.AugAssign):  # ctx |= {...}
                        return None
                    assigned.append(_given_keys(n.value, function, functions))
                elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                      and target.value.id == expr.id):
                    if not (isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)):
                        return None
                    added.add(target.slice.value)
                elif isinstance(target, ast.Tuple | ast.List) and any(
                        isinstance(e, ast.Name) and e.id == expr.id for e in ast.walk(target)):
                    return None
        elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _MUTATORS
              and isinstance(n.func.value, ast.Name) and n.func.value.id == expr.id):
            return None
        elif isinstance(n, ast.Delete) and any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                                               and t.value.id == expr.id for t in n.targets):
            return None
    keys = _on_every_path(assigned)
    return None if keys is None else keys | added


def _on_every_path(keysets: list[frozenset[str] | None]) -> frozenset[str] | None:
    """The keys given whichever assignment or return is taken (a key only some give may be missing)."""
    if not keysets or None in keysets:
        return None
    return frozenset.intersection(*keysets)


# --- The walk ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a template may read at one place: the names visible there, and whether ``ctx`` there is still the
    part's own context (not rebound by a loop, a {% with %}, an include's ``with`` or an ``as``)."""

    names: frozenset[str]
    ctx_is_the_parts: bool = True

    def bind(self, names) -> Scope:
        names = frozenset(names)
        return Scope(self.names | names, self.ctx_is_the_parts and "ctx" not in names)


def part_scope(hook: str) -> Scope:
    """What a part of ``hook``'s page may read: its ``ctx``, the page-wide names, what the page gives every part."""
    return Scope(page_wide_names() | {"ctx"} | PAGES[hook][1])


@dataclass
class Reads:
    """What a walk found: each (template, name) read where nothing binds the name, and each (template, key) of a
    ``ctx.<key>`` read where ``ctx`` is the part's own context."""

    strays: set[tuple[str, str]] = field(default_factory=set)
    ctx_keys: set[tuple[str, str]] = field(default_factory=set)


def reads_of(template_name: str, scope: Scope) -> Reads:
    """What the template reads (and the templates it includes by a fixed name), starting in ``scope``."""
    return reads_in(engines["django"].engine.get_template(template_name).nodelist, template_name, scope)


def reads_in(nodelist, template_name: str, scope: Scope) -> Reads:
    """:func:`reads_of` over parsed nodes (``template_name`` names them in what it reports)."""
    reads = Reads()
    _walk(nodelist, template_name, scope, reads)
    return reads


def _walk(nodelist, template: str, scope: Scope, reads: Reads) -> None:
    """Each node's expressions are read in the scope at that node; its children get the scope the tag makes for
    them; an ``as`` name is added to the scope of the nodes after the tag (and their children)."""
    for node in nodelist:
        for fe in _expressions(node):
            if isinstance(node, FilterNode) and fe is node.filter_expr:  # {% filter f %}: "var|f", var the body
                _read(fe, template, scope, reads, variable=False)
            elif not (isinstance(node, RegroupNode) and fe is node.expression):  # read per item, below
                _read(fe, template, scope, reads)
        if isinstance(node, BlockTranslateNode):  # its body's {{ name }}s are tokens, not filter expressions
            inner = scope.bind({*node.extra_context, *filter(None, [node.countervar])})
            for token in [*node.singular, *(node.plural or [])]:
                if token.token_type == TokenType.VAR:
                    _read_name([token.contents], template, inner, reads)
        if isinstance(node, CsrfTokenNode):  # {% csrf_token %} reads it from the context
            _read_name(["csrf_token"], template, scope, reads)
        if isinstance(node, RegroupNode):  # {% regroup xs by key as g %}: key is read as g.key on each item
            _read(node.expression, template, scope.bind({node.var_name}), reads)
        if isinstance(node, ForNode):
            _walk(node.nodelist_loop, template, scope.bind({*node.loopvars, "forloop"}), reads)
            _walk(node.nodelist_empty, template, scope, reads)  # no item, no loop: neither is bound there
        elif isinstance(node, WithNode):
            _walk(node.nodelist, template, scope.bind(node.extra_context), reads)
        elif isinstance(node, IncludeNode):
            name = node.template.var
            assert isinstance(name, str) and not node.template.filters, (
                f"{template}: {{% include {node.template.token} %}} names its template by a variable, not a "
                "fixed string, so this check cannot follow it; include a fixed template name")
            # ``only``: the included template gets a new context with its ``with`` names alone; the page-wide
            # names (and ``ctx``) are gone too, since a context processor's names are not carried into it
            # (django.template.context.RequestContext.new), only True/False/None.
            inner = Scope(BUILTINS, ctx_is_the_parts=False) if node.isolated_context else scope
            _walk(engines["django"].engine.get_template(name).nodelist, name, inner.bind(node.extra_context), reads)
        elif isinstance(node, IfNode):
            for _, branch in node.conditions_nodelists:
                _walk(branch, template, scope, reads)
        else:
            for attr in node.child_nodelists:
                _walk(getattr(node, attr, None) or [], template, scope, reads)
        if as_names := _as_names(node):
            scope = scope.bind(as_names)


def _as_names(node: Node) -> set[str]:
    """The names a tag binds for what follows it (``{% url ... as here %}``)."""
    return {v for a in AS_NAME_ATTRIBUTES if isinstance(v := getattr(node, a, None), str) and v}


def _expressions(node: Node):
    """Every filter expression a node evaluates where it stands (a variable, a tag's arguments, a {% with %}'s or
    an include's values, a loop's sequence, an {% if %}'s or {% elif %}'s operands), found among its attributes."""
    for value in vars(node).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else [value]
        yield from (item for item in items if isinstance(item, FilterExpression))
    yield from _operands(node)


def _operands(node: Node):
    """The operands of every condition of an {% if %} and its {% elif %}s (operators walked to their literals)."""
    for condition, _ in getattr(node, "conditions_nodelists", []):
        stack = [condition]
        while stack:
            c = stack.pop()
            if c is None:  # {% else %}, or a unary operator's missing second
                continue
            if isinstance(getattr(c, "value", None), FilterExpression):
                yield c.value
            stack += [getattr(c, "first", None), getattr(c, "second", None)]


def _read(fe: FilterExpression, template: str, scope: Scope, reads: Reads, *, variable: bool = True) -> None:
    """The variable a filter expression reads (unless ``variable`` is False), and its filters' variable
    arguments."""
    if variable and isinstance(fe.var, Variable) and fe.var.lookups:
        _read_name(fe.var.lookups, template, scope, reads)
    for _, args in fe.filters:
        for is_lookup, arg in args:
            if is_lookup and isinstance(arg, Variable) and arg.lookups:
                _read_name(arg.lookups, template, scope, reads)


def _read_name(lookups, template: str, scope: Scope, reads: Reads) -> None:
    """One read of ``a.b.c``: a stray if ``a`` is not visible here; a key of the part's context if it is ``ctx.b``."""
    if lookups[0] not in scope.names:
        reads.strays.add((template, lookups[0]))
    elif lookups[0] == "ctx" and scope.ctx_is_the_parts and len(lookups) > 1:
        reads.ctx_keys.add((template, lookups[1]))


# --- The checks -------------------------------------------------------------------------------------------------


def test_every_panel_and_section_of_every_app_is_found():
    today, chart = parts("today"), parts("chart")
    assert "treatments/_today_alerts.html" in today and "measures/panel_safety.html" in today
    assert "reports/research_chart_section.html" in chart and "portal/chart_section.html" in chart
    for hook, found in (("today", today), ("chart", chart)):
        offering = {m.__name__ for m in app_hooks(hook, gatherer=PAGES[hook][0])}
        assert {p.module for p in found.values()} == offering, f"{hook}: a hook module whose templates were not found"
    assert len({p.module for p in today.values()}) >= 6 and len({p.module for p in chart.values()}) >= 8


@pytest.mark.parametrize("hook", sorted(PAGES))
def test_each_part_reads_only_its_ctx_and_what_its_page_gives_every_part(hook):
    strays = {}
    for name, part in sorted(parts(hook).items()):
        for template, stray in reads_of(name, part_scope(hook)).strays:
            strays.setdefault(f"{name} ({part.module})", set()).add(f"{template}: {stray}")
    assert strays == {}, f"{hook}: parts reading names their app did not give them (write ctx.<name>): {strays}"


@pytest.mark.parametrize("hook", sorted(PAGES))
def test_each_part_reads_only_keys_its_app_put_in_its_ctx(hook):
    found = parts(hook)
    unknown = {name: part.module for name, part in found.items() if part.given is None and name not in NOT_ENUMERABLE}
    assert unknown == {}, f"{hook}: parts whose context keys cannot be read from the hook's source: {unknown}"
    assert {n for n in NOT_ENUMERABLE if n in found and found[n].given is not None} == set(), "stale NOT_ENUMERABLE"
    missing = {}
    for name, part in sorted(found.items()):
        if part.given is not None:
            for template, key in reads_of(name, part_scope(hook)).ctx_keys:
                if key not in part.given:
                    missing.setdefault(f"{name} ({part.module})", set()).add(f"{template}: ctx.{key}")
    assert missing == {}, f"{hook}: parts reading ctx keys their app does not give them: {missing}"


#: What a template made in a test below is called in what the walk reports.
MADE = "<made here>"


def _strays(source: str) -> set[str]:
    """The stray names of a template made here, read as a Today panel's (a stray in a template it includes is
    reported with that template's name)."""
    nodelist = engines["django"].from_string(source).template.nodelist
    return {n if t == MADE else f"{t}: {n}" for t, n in reads_in(nodelist, MADE, part_scope("today")).strays}


def test_the_check_sees_a_name_the_panel_was_not_given():
    assert {"request", "user", "csrf_token", "csp_nonce", "perms", "messages", "nav_items"} <= page_wide_names()
    alerts = reads_of("treatments/_today_alerts.html", part_scope("today"))
    assert alerts.strays == set() and alerts.ctx_keys == {("treatments/_today_alerts.html", "rows")}

    # bare names, an {% elif %}'s operand, a filter's argument, a {% url %}'s arguments
    assert _strays(
        "{% for r in rows %}{{ r.s.patient.display_name }}{% endfor %}{% with n=ctx.count %}{{ n }}{% endwith %}"
        "{% if late and not ctx.due %}{{ when|date:fmt }}{% elif soon or ctx.x %}{% elif ctx.y == later %}{% endif %}"
        "{% url 'billing:estimate' estimate_id %}{% url 'reports:research_consent' patient_id=pid %}"
    ) == {"rows", "late", "when", "fmt", "soon", "later", "estimate_id", "pid"}

    # what a loop, a {% with %} or an ``as`` binds is seen only where the tag puts it
    assert _strays(
        "{% for r in ctx.rows %}{{ r }}{{ forloop.counter }}{% empty %}{{ r }}{{ forloop.first }}{% endfor %}"
        "{{ r.s }}{{ forloop.last }}"
    ) == {"r", "forloop"}
    assert _strays("{% with n=ctx.count %}{{ n }}{% endwith %}{{ n }}") == {"n"}
    assert _strays("{{ here }}{% url 'clinic:today' as here %}{{ here }}{% firstof ctx.a as f %}{{ f }}") == {"here"}
    assert _strays("{% if ctx.a %}{% url 'clinic:today' as u %}{% endif %}{{ u }}") == {"u"}
    assert _strays("{% cycle 'a' 'b' as c silent %}{% for x in ctx.xs %}{{ c }}{% endfor %}") == set()

    # an include's ``with`` names are seen inside the included template alone; ``only`` leaves it nothing else
    assert _strays(
        '{% include "screening/_outcome.html" with outcome=ctx.latest.outcome label=lab %}{{ outcome }}{{ label }}'
    ) == {"lab", "outcome", "label"}
    assert _strays('{% include "screening/_outcome.html" with outcome=ctx.o label=ctx.l only %}') == set()
    assert _strays('{% include "screening/_outcome.html" with outcome=ctx.o only %}') == {
        "screening/_outcome.html: label"}
    assert _strays('{% include "treatments/_today_rems.html" only %}') == {"treatments/_today_rems.html: ctx"}
    assert _strays('{% include "treatments/_today_rems.html" %}') == set()
    # a {% blocktranslate %}'s body reads its with-names and its count name, and any other name as a stray; a
    # {% filter %} reads no variable of its own
    assert _strays("{% load i18n %}{% blocktranslate with n=ctx.count %}{{ n }} of {{ total }}{% endblocktranslate %}"
                   "{% blocktranslate count c=ctx.k %}{{ c }} dose{% plural %}{{ c }} doses of {{ mg }}"
                   "{% endblocktranslate %}{{ n }}") == {"total", "mg", "n"}
    assert _strays("{% filter lower|cut:ctx.x %}{{ ctx.a }}{{ b }}{% endfilter %}{% filter cut:y %}{% endfilter %}"
                   ) == {"b", "y"}
    with pytest.raises(AssertionError, match="names its template by a variable"):
        _strays("{% include ctx.template with ctx=ctx.context %}")

    # ctx.<key> reads, where ctx is the part's own (not where an include or a with rebinds it)
    nodelist = engines["django"].from_string(
        "{{ ctx.dew }}{% if ctx.a %}{% elif ctx.b|default:ctx.c %}{% endif %}{% url 'x:y' ctx.d k=ctx.e %}"
        '{% include "treatments/_today_rems.html" with ctx=ctx.f %}{% with ctx=ctx.g %}{{ ctx.h }}{% endwith %}'
    ).template.nodelist
    assert {k for _, k in reads_in(nodelist, MADE, part_scope("today")).ctx_keys} == set("abcdefg") | {"dew"}


def test_the_keys_a_part_is_given_are_read_from_its_app():
    today = parts("today")
    # board()'s return and two ctx["..."] = ...; a dict literal; a name assigned a dict literal
    assert today["treatments/_today.html"].given >= {"places", "count", "now", "for_prescriber", "clinical",
                                                     "front_desk"}
    assert today["treatments/_today_alerts.html"].given >= {"rows"}
    assert today["custody/today_panel.html"].given >= {"to_sign", "counts_due", "incidents", "notices"}
    source = ast.parse("def f(x):\n    c = {'a': 1}\n    c.update(x)\n    return [{'template': 't', 'context': c}]\n"
                       "def g(x):\n    return [{'template': 'u', 'context': {'a': 1, **x}}, {'template': 'v'}]")
    functions = {f.name: f for f in source.body}
    f_dict, g_dict, _ = (d for d in ast.walk(source) if isinstance(d, ast.Dict) and d.keys
                              and isinstance(d.keys[0], ast.Constant) and d.keys[0].value == "template")
    assert _given_keys(f_dict.values[1], functions["f"], functions) is None  # changed by update(): not enumerable
    assert _given_keys(g_dict.values[1], functions["g"], functions) is None  # a ** spread: not enumerable
