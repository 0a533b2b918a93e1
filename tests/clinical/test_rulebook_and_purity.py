from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import ketaclinic.clinical as pkg
from ketaclinic.clinical.rulebook import AREAS, RULES, SEED_REFERENCES, render_rulebook
from ketaclinic.clinical.settings import SETTINGS, SETTINGS_BY_KEY

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))


def test_rules_well_formed():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert r.status in ("C", "S", "U"), r.id
        assert r.area in AREAS and r.statement and r.source, r.id
        for key in r.setting_keys:
            assert key in SETTINGS_BY_KEY, (r.id, key)


def test_every_setting_belongs_to_a_rule():
    used = {k for r in RULES for k in r.setting_keys}
    assert {s.key for s in SETTINGS} - used == set()


def test_render_lists_every_rule_setting_and_cited_seed_reference():
    text = render_rulebook()
    for r in RULES:
        assert r.id in text
    for s in SETTINGS:
        assert s.key in text
        line = next(line for line in text.splitlines() if f"- {s.key} =" in line)
        assert ("UNCONFIRMED" in line) == (not s.confirmed)
    for n in (6, 7, 8, 12):
        assert SEED_REFERENCES[n].split(".")[0] in text
        assert f"[seed {n}]" in text


def test_main_prints_rulebook():
    out = subprocess.run([sys.executable, "-m", "ketaclinic.clinical"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.startswith("KETACLINIC CLINICAL RULEBOOK")
    assert "vitals.systolic_rise_mmHg = 40 mmHg [confirmed]" in out.stdout


def test_package_imports_no_django():
    assert {"scales", "settings", "identifiers", "dosing", "vitals", "eligibility", "outcomes", "discharge",
            "schedules", "rulebook", "errors", "guards", "products", "sedation", "session"} <= set(MODULES)
    imports = "; ".join(f"import ketaclinic.clinical.{m}" for m in MODULES if m != "__main__")
    code = f"{imports}; import sys; bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; " \
           "assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_no_django_in_source():
    for path in Path(pkg.__path__[0]).glob("*.py"):
        text = path.read_text()
        assert "import django" not in text and "from django" not in text, path.name


def test_issue_10_guards_are_in_the_rulebook_with_status():
    by_id = {r.id: r for r in RULES}
    expected = {
        "dosing.weight_checks": "U", "dosing.infusion_rate": "S", "dosing.dilution": "S", "dosing.stock": "S",
        "dosing.measured_dose": "C", "scales.madrs_item10": "U", "scales.moaas_sedation": "U",
        "eligibility.esketamine": "C", "eligibility.age_missing": "U", "discharge.baseline_bp": "U",
        "discharge.clock": "U", "discharge.esketamine_label": "C", "session.predose_hold": "U",
        "session.predose_acceptable": "U", "session.hold_means_hold": "U", "session.device_spacing": "C",
        "session.verification": "U",
    }
    for rule_id, status in expected.items():
        assert by_id[rule_id].status == status, rule_id
    # a rule is no more confirmed than its weakest part, and its source says which part is weaker
    assert "secondary" in by_id["dosing.dilution"].source
    assert "project's choice" in by_id["session.predose_acceptable"].source
    assert "conservative reading" in by_id["discharge.clock"].statement
    # the label's induction rate is a hard limit, never a clinic setting
    assert not any("induction_rate" in key for key in SETTINGS_BY_KEY)
    assert SETTINGS_BY_KEY["dosing.iv_max_rate_mg_per_kg_per_min"].maximum < 0.5
    assert "0.5 mg/kg/min" in by_id["dosing.infusion_rate"].statement
