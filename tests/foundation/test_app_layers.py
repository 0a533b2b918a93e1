"""The apps stand in layers: an app imports only apps below it, so there is no import cycle between apps.

Every module of every app under ``ketaclinic/`` is parsed with ``ast`` (migrations aside: they name other apps'
models by label, as Django writes them), and every import counts, including one inside a function or under
``if TYPE_CHECKING``. A lower app that must hear from a higher one does it the other way round: it sends a signal
(``ketaclinic/screening/signals.py``) or asks a provider (``ketaclinic/measures/dosing_sessions.py``) that the
higher app connects in its ``AppConfig.ready()``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ketaclinic"

#: Bottom to top. An app may import any app listed before it and none listed after it.
LAYERS = (
    "clinical",  # the pure clinical core: no Django, no other app
    "audit",  # the trail every app writes to (its model names patients and users by label only)
    "accounts",
    "clinic",
    "patients",
    "measures",  # asks treatments for dosing sessions through dosing_sessions.py
    "screening",  # tells treatments of a signed absolute contraindication through signals.py
    "integration",  # offered after dosing by treatments' discharge
    "treatments",
    "custody",
    "portal",
    "scheduling",  # the front desk's calendar: reads treatments and integration, books through patients
    "billing",  # prices, estimates, invoices: bills completed sessions (treatments) and appointments (scheduling)
    "reminders",  # e-mail and SMS reminders of appointments, sessions and questionnaires; ride replies
    "messaging",  # secure messages: portal pages, and an urgent task in measures for words of self-harm
    "reports",  # outcomes, safety, operations and money reports over the clinical apps and billing; research export
    "fhir",  # the FHIR facade: reads every clinical app, imported by none below crossapp
    "crossapp",  # the top layer: the demo loader and the audit search page
)

Graph = dict[str, dict[str, set[str]]]  # importer -> imported -> files of the importer that import it


def apps_in(package: Path) -> list[str]:
    return sorted(p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every module an import statement names, anywhere in the file (relative imports resolved)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join(parts + ([base] if base else []))
            found.append(base)
            found += [f"{base}.{a.name}" for a in node.names]  # ``from ketaclinic import treatments``
    return found


def import_graph(package: Path) -> Graph:
    apps = set(apps_in(package))
    graph: Graph = defaultdict(lambda: defaultdict(set))
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        parts = rel.with_suffix("").parts
        if len(parts) < 3 or parts[1] not in apps or "migrations" in parts:
            continue
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in imported_modules(tree, module, is_package):
            bits = name.split(".")
            if len(bits) > 1 and bits[0] == package.name and bits[1] in apps and bits[1] != parts[1]:
                graph[parts[1]][bits[1]].add(str(rel))
    return graph


def cycles(graph: Graph) -> list[tuple[set[str], list[str]]]:
    """Each group of apps that reach one another through imports, with one cycle through it (a -> ... -> a)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for group in groups:
        start = min(group)
        # Shortest way back to the start, inside the group (breadth first).
        paths = {w: [start, w] for w in sorted(graph[start]) if w in group}
        while start not in paths:
            paths = {w: path + [w] for path in paths.values() for w in sorted(graph[path[-1]])
                     if w in group and w not in path[1:]} | paths
        found.append((group, paths[start]))
    return found


def describe(group: set[str], cycle: list[str], graph: Graph) -> str:
    """The group, the files along one cycle through it, and every pair of its apps that import each other."""
    lines = [f"{', '.join(sorted(group))}: for instance {' -> '.join(cycle)}"]
    edges = list(zip(cycle, cycle[1:], strict=False))
    edges += [(a, b) for a in sorted(group) for b in sorted(group)
              if a != b and b in graph.get(a, ()) and a in graph.get(b, ()) and (a, b) not in edges]
    lines += [f"  {a} imports {b} in: {', '.join(sorted(graph[a][b]))}" for a, b in edges]
    return "\n".join(lines)


def test_no_import_cycle_between_apps():
    graph = import_graph(PACKAGE)
    found = cycles(graph)
    assert not found, "Import cycles between apps (make the lower app send a signal or ask a provider):\n" + (
        "\n".join(describe(group, cycle, graph) for group, cycle in found))


def test_every_app_imports_only_apps_below_it():
    apps = apps_in(PACKAGE)
    assert sorted(LAYERS) == apps, f"Place every app in LAYERS: {sorted(set(apps) ^ set(LAYERS))}"
    rank = {app: i for i, app in enumerate(LAYERS)}
    upward = [f"{a} ({rank[a]}) imports {b} ({rank[b]}) in: {', '.join(sorted(files))}"
              for a, targets in sorted(import_graph(PACKAGE).items()) for b, files in sorted(targets.items())
              if rank[b] > rank[a]]
    assert not upward, "Imports up the layers:\n" + "\n".join(upward)


def test_the_check_sees_lazy_relative_and_package_imports(tmp_path):
    """The checker can fail: a cycle hidden in a function body, a relative import and ``from ketaclinic import``
    are all found, and each edge names its file."""
    pkg = tmp_path / "ketaclinic"
    for app in ("low", "high", "other"):
        (pkg / app / "migrations").mkdir(parents=True)
        (pkg / app / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "high" / "views.py").write_text("from ketaclinic.low.models import Thing\n")
    (pkg / "low" / "services.py").write_text("def step():\n    from ..high import views\n    return views\n")
    (pkg / "low" / "migrations" / "0001.py").write_text("from ketaclinic.other import models\n")
    (pkg / "other" / "apps.py").write_text("from ketaclinic import low\n")
    graph = import_graph(pkg)
    assert {a: dict(b) for a, b in graph.items()} == {
        "high": {"low": {"ketaclinic/high/views.py"}},
        "low": {"high": {"ketaclinic/low/services.py"}},
        "other": {"low": {"ketaclinic/other/apps.py"}},
    }
    ((group, cycle),) = cycles(graph)
    assert group == {"high", "low"} and cycle == ["high", "low", "high"]
    assert "low imports high in: ketaclinic/low/services.py" in describe(group, cycle, graph)


def test_the_lower_apps_hear_from_the_higher_ones():
    """Each inversion is wired up when Django starts: treatments listens for screening's signal (so a signed
    absolute contraindication still stops orders, tests/treatments/test_safety_fixes.py) and provides the dosing
    sessions measures asks for."""
    from ketaclinic.measures import dosing_sessions
    from ketaclinic.screening.models import EligibilityAssessment
    from ketaclinic.screening.signals import absolute_contraindication_signed
    from ketaclinic.treatments.providers import TreatmentSessions

    assert absolute_contraindication_signed.has_listeners(EligibilityAssessment)
    assert isinstance(dosing_sessions.provider(), TreatmentSessions)
