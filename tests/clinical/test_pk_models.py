"""Published models through the public API: the figures pk-models.md §1.5 computed for 0.5 mg/kg over 40 min,
Perez-Ruixo's nasal fractions, the spread across models, Monte Carlo bands, bad input refused with a sentence,
and the label on every result."""

from __future__ import annotations

import numpy as np
import pytest

from ketaclinic.clinical import pk
from ketaclinic.clinical.pk import (
    LABEL,
    Absorbed,
    Absorption,
    Bolus,
    Grid,
    Infusion,
    Patients,
    PKInputError,
    Regimen,
    get_model,
    mg_per_kg,
    model_spread,
    monte_carlo,
    simulate,
    time_below,
)

HALF_MG_PER_KG_OVER_40 = Regimen([Infusion.of_dose(35.0, 0.0, 40.0)])  # 70 kg
TABLE_TIMES = [10, 20, 40, 60, 80, 110, 180, 230, 360]
#: pk-models.md §1.5 (computed, 70 kg, 0.5 mg/kg over 40 min, ng/mL)
TABLE = {
    "domino": [181.8, 209.6, 240.3, 55.1, 45.8, 38.1, 24.9, 18.4, 8.4],
    "clements": [62.0, 109.5, 177.3, 115.4, 84.7, 63.1, 43.8, 35.9, 21.9],
    "hijazi": [94.5, 156.7, 225.3, 99.6, 46.0, 17.1, 5.8, 4.7, 3.4],
}


@pytest.mark.parametrize("key", sorted(TABLE))
def test_racemic_models_reproduce_the_reference_table(key):
    pred = simulate(key, HALF_MG_PER_KG_OVER_40, Patients.of(70, 40), TABLE_TIMES)
    np.testing.assert_allclose(pred.concentrations["ketamine"][0], TABLE[key], atol=0.051)
    assert pred.label == LABEL == "model estimate, not a measured level"
    assert pred.status in ("C", "S", "U") and pred.source and pred.unit == "ng/mL"


def test_herd_reproduces_the_reference_table_for_a_child_model():
    pred = simulate("herd", HALF_MG_PER_KG_OVER_40, Patients.of(70, 12), TABLE_TIMES)
    np.testing.assert_allclose(pred.concentrations["ketamine"][0],
                               [132.0, 186.5, 253.4, 119.3, 96.4, 74.3, 40.6, 26.4, 8.6], atol=0.051)


@pytest.mark.parametrize("key", ["domino", "clements", "hijazi"])
def test_micro_constant_models_apply_a_random_effect_to_every_parameter_and_scale_v1_by_weight(key):
    """Domino, Clements and Hijazi share one build: each parameter is the published value x exp(eta), V1 (L/kg)
    also x the weight, so a random effect on V1 reaches Hijazi's V1 as it does the others'."""
    m = get_model(key)
    names = [p.name for p in m.params]
    assert set(names) >= {"V1", "k10", "k12", "k21"}
    patients = Patients.of([50.0, 80.0], 40)
    typical = m.build(patients)
    for name in names:
        built = m.build(patients, {name: np.array([0.0, np.log(2.0)])})
        weight = patients.weight_kg if name == "V1" else 1.0
        np.testing.assert_allclose(built.params[name], m.value(name) * weight * np.array([1.0, 2.0]), rtol=1e-14)
        assert all(np.array_equal(built.params[o], typical.params[o]) for o in names if o != name)
    np.testing.assert_allclose(typical.observe["ketamine"].volume, m.value("V1") * patients.weight_kg, rtol=1e-14)


def test_domino_times_back_below_match_the_reference_and_do_not_depend_on_weight():
    """pk-models.md §1.5: below 100 / 50 / 25 / 10 ng/mL at 43.7 / 68.3 / 179.5 / 331 min; with mg/kg dosing
    Domino's curve does not depend on weight."""
    weights = np.array([50.0, 70.0, 120.0])
    reg = Regimen([Infusion.of_dose(mg_per_kg(0.5, weights), 0.0, 40.0)])
    for thr, minutes in ((100, 43.7), (50, 68.3), (25, 179.5), (10, 331.0)):
        got = time_below("domino", reg, Patients.of(weights, 40), thr)
        assert got.label == LABEL
        np.testing.assert_allclose(got.minutes, minutes, atol=0.06)
        assert np.ptp(got.minutes) < 1e-9


def test_perez_ruixo_nasal_fractions_follow_the_spray_count():
    """pk-models.md §1.3: effective FRn 0.54, 0.4375 and 0.4032 for 28, 56 and 84 mg."""
    m = get_model("perez-ruixo")
    for mg, frn in ((28.0, 0.54), (56.0, 0.4375), (84.0, 0.4032)):
        built = m.prepare(Patients.of(74, 45), Regimen([Absorbed(0.0, mg, "intranasal")]))
        nasal, swallowed = built.inputs
        assert float(nasal.amount[0]) / mg == pytest.approx(frn, abs=2e-4)
        dsw = 0.53 * 60
        assert float(swallowed.rate[0]) * dsw == pytest.approx((mg - frn * mg) * 0.64, rel=2e-3)
    # devices five minutes apart count the same way: the first 28 mg at FRn, each later one at FRn x 0.62
    apart = m.prepare(Patients.of(74, 45), Regimen([Absorbed(0.0, 28.0, "intranasal"),
                                                     Absorbed(5.0, 28.0, "intranasal")]))
    assert [float(i.amount[0]) for i in apart.inputs[::2]] == pytest.approx([0.54 * 28, 0.54 * 0.62 * 28])


def test_perez_ruixo_esketamine_peaks_after_the_last_device_and_noresketamine_follows():
    reg = Regimen([Absorbed(0.0, 28.0, "intranasal"), Absorbed(5.0, 28.0, "intranasal")])
    pred = simulate("perez-ruixo", reg, Patients.of(74, 45), Grid(0, 600, 1.0))
    esk, nor = pred.concentrations["esketamine"][0], pred.concentrations["noresketamine"][0]
    t_esk, t_nor = int(np.argmax(esk)), int(np.argmax(nor))
    assert 20 <= t_esk - 5 <= 40  # Spravato PI: Tmax 20-40 min after the last spray (pk-models.md §1.4)
    assert t_nor > t_esk and (esk >= 0).all() and (nor >= 0).all() and nor[0] < 1e-9


def test_age_above_60_lowers_hepatic_flow():
    m = get_model("perez-ruixo")
    built = m.build(Patients.of([74, 74], [60, 80]))
    assert built.params["Qh"].tolist() == pytest.approx([151.0, 151.0 - 2.19 * 20])


def test_perez_ruixo_race_covariates_act_as_the_model_states_them():
    """pk-models.md §1.3: kel x0.36 and CLn/F x0.81 in Asian subjects; FRn 0.54 x1.34 in Japanese subjects."""
    m = get_model("perez-ruixo")
    three = Patients.of(np.full(3, 74.0), 45, asian=[False, True, True], japanese=[False, False, True])
    built = m.build(three)
    assert built.params["kel"].tolist() == pytest.approx([1.11, 1.11 * 0.36, 1.11 * 0.36])
    assert built.params["CLn"].tolist() == pytest.approx([38.0, 38.0 * 0.81, 38.0 * 0.81])
    assert built.params["FRn"].tolist() == pytest.approx([0.54, 0.54, 0.54 * 1.34])
    one_device = m.prepare(three, Regimen([Absorbed(0.0, 28.0, "intranasal")]))
    assert one_device.inputs[0].amount.tolist() == pytest.approx([0.54 * 28, 0.54 * 28, 0.54 * 1.34 * 28])
    # the slower hepatic elimination leaves an Asian patient more esketamine four hours after the same dose
    pred = simulate(m, Regimen([Absorbed(0.0, 28.0, "intranasal")]), three, [240.0])
    esk = pred.concentrations["esketamine"][:, 0]
    assert esk[0] < esk[1] < esk[2]


def test_spread_brackets_every_model_and_shows_the_disagreement():
    spread = model_spread(HALF_MG_PER_KG_OVER_40, 70, 40, Grid(0, 360, 1.0))
    stack = np.vstack(list(spread.curves.values()))
    assert set(spread.curves) == {"Domino", "Clements 250", "Hijazi 2003"}
    assert (spread.low <= stack).all() and (stack <= spread.high).all()
    assert (spread.low <= spread.median).all() and (spread.median <= spread.high).all()
    assert spread.high[180] / spread.low[180] > 2  # two- to fourfold after the infusion (issue 14)
    assert spread.label == LABEL and all("status" in s for s in spread.sources.values())


def test_monte_carlo_bands_are_ordered_reproducible_and_seeded():
    reg = Regimen([Absorbed(0.0, 28.0, "intranasal"), Absorbed(5.0, 28.0, "intranasal")])
    band = monte_carlo("perez-ruixo", reg, 74, 45, Grid(0, 240, 2.0), n=400, seed=11)
    esk = band.bands["esketamine"]
    assert esk.shape == (3, 121) and band.label == LABEL
    assert (esk[0] <= esk[1]).all() and (esk[1] <= esk[2]).all()
    assert (esk[2, 10:] > 1.5 * esk[0, 10:]).all()  # the published variability is wide
    again = monte_carlo("perez-ruixo", reg, 74, 45, Grid(0, 240, 2.0), n=400, seed=11)
    other = monte_carlo("perez-ruixo", reg, 74, 45, Grid(0, 240, 2.0), n=400, seed=12)
    assert np.array_equal(again.bands["esketamine"], esk) and not np.array_equal(other.bands["esketamine"], esk)
    assert "Table 3" in band.variability_source


def test_hijazi_band_from_the_published_clearance_spread():
    band = monte_carlo("hijazi", HALF_MG_PER_KG_OVER_40, 70, 40, [40, 120], n=300, seed=0)
    lo, mid, hi = band.bands["ketamine"]
    assert (lo < mid).all() and (mid < hi).all()


def test_user_supplied_im_absorption_with_bioavailability_and_lag():
    """Racemic IM has no published adult absorption rate (pk-models.md §1.4): a researcher may supply one."""
    supplied = Absorption(ka_per_min=0.1, bioavailability=0.93, lag_min=2.0)
    im = simulate("domino", Regimen([Absorbed(0.0, 35.0, "im", supplied)]), Patients.of(70, 40), [1.0, 2.0, 30.0])
    c = im.concentrations["ketamine"][0]
    assert c[0] == 0 and abs(c[1]) < 1e-9 and c[2] > 0
    # all of the bioavailable dose arrives: the exposure (AUC) is F x dose / CL
    grid = Grid(0, 6000, 0.25)
    auc_im = np.trapezoid(simulate("domino", Regimen([Absorbed(0.0, 35.0, "im", supplied)]), Patients.of(70, 40),
                                   grid).concentrations["ketamine"][0], dx=0.25)
    domino = get_model("domino")
    v1 = domino.value("V1") * 70
    assert auc_im == pytest.approx(35.0 * 0.93 / (domino.value("k10") * v1) * 1000, rel=1e-3)  # F D / CL, ng.min/mL


@pytest.mark.parametrize("make, field, words", [
    (lambda: Regimen([Bolus(0.0, 0.0)]), "dose_mg", "more than 0"),
    (lambda: Regimen([Bolus(0.0, -5.0)]), "dose_mg", "more than 0"),
    (lambda: Regimen([Bolus(0.0, "10")]), "dose_mg", "not text"),
    (lambda: Regimen([Bolus(0.0, ["10", "12"])]), "dose_mg", "not text"),
    (lambda: Regimen([Infusion(40.0, 10.0, 1.0)]), "end_min", "before"),
    (lambda: Regimen([Infusion.of_dose(35.0, 10.0, 10.0)]), "end_min", "before"),
    (lambda: Regimen([Absorbed(0.0, 28.0, "rectal")]), "route", "unknown route"),
    (lambda: Regimen([]), "doses", "no dose"),
    (lambda: Patients.of(0.0, 40), "weight_kg", "more than 0 kg"),
    (lambda: mg_per_kg(0.5, 0.0), "weight_kg", "more than 0"),
    (lambda: simulate("herd", HALF_MG_PER_KG_OVER_40, Patients.of(70, 40), [10]), "age_years",
     "children aged 1 to 14 years (age 1 to 14 years); it cannot predict for a patient with age 40 years."),
    (lambda: simulate("perez-ruixo", HALF_MG_PER_KG_OVER_40, Patients.of(30, 40), [10]), "weight_kg", "39"),
    (lambda: simulate("domino", Regimen([Absorbed(0.0, 50.0, "im")]), Patients.of(70, 40), [10]), "route",
     "no published parameters"),
    (lambda: simulate("perez-ruixo", Regimen([Absorbed(0.0, 28.0, "im")]), Patients.of(74, 45), [10]), "route",
     "the Perez-Ruixo 2021 model has no published parameters for the im route."),
    (lambda: simulate("perez-ruixo", Regimen([Absorbed(0.0, 28.0, "im", Absorption(0.1, 0.93))]),
                      Patients.of(74, 45), [10]), "route",
     "the Perez-Ruixo 2021 model has no published parameters for the im route."),
    (lambda: simulate("perez-ruixo", Regimen([Absorbed(0.0, 28.0, "intranasal", Absorption(0.1, 0.5))]),
                      Patients.of(74, 45), [10]), "absorption", "its own nasal absorption"),
    (lambda: simulate("nobody", HALF_MG_PER_KG_OVER_40, Patients.of(70, 40), [10]), "model", "unknown model"),
    (lambda: monte_carlo("domino", HALF_MG_PER_KG_OVER_40, 70, 40, [10]), "model", "no inter-individual"),
    (lambda: time_below("domino", HALF_MG_PER_KG_OVER_40, Patients.of(70, 40), 0.0), "threshold_ng_per_ml",
     "above 0"),
    (lambda: Absorption(0.1, 1.5), "bioavailability", "at most 1"),
])
def test_bad_input_is_refused_with_a_sentence(make, field, words):
    with pytest.raises(PKInputError) as err:
        make()
    assert isinstance(err.value, ValueError)
    assert err.value.field == field and words in err.value.message and err.value.message.endswith(".")


def test_every_model_names_its_sources_and_status():
    for m in pk.MODELS.values():
        assert m.status in ("C", "S", "U") and m.citation and m.population.description
        assert m.params and all(p.status in ("C", "S", "U") and p.source and p.unit for p in m.params)
        assert all(v.status in ("C", "S", "U") and v.source and v.omega2 > 0 for v in m.variability)
        # a model is no more confirmed than its weakest parameter
        order = "CSU"
        assert order.index(m.status) >= max(order.index(p.status) for p in m.params)


def test_perez_ruixo_variability_and_population_name_the_file_they_come_from():
    """pk-models.md §1.3 gives Perez-Ruixo's typical values only; the variability and the population's age and
    weight ranges come from the nlmixr2lib file it names, and each source says so with the file's path."""
    m = get_model("perez-ruixo")
    where = [v.source for v in m.variability] + [m.population.source]
    assert len(where) == 11
    for source in where:
        assert "github.com/nlmixr2/nlmixr2lib" in source and "Perez-Ruixo 2021 Table" in source
        assert "inst/modeldb/specificDrugs/PerezRuixo_2020_esketamine.R" in source
    assert {v.status for v in m.variability} == {m.population.status} == {"S"}
    assert (m.population.age_min, m.population.age_max, m.population.weight_min, m.population.weight_max) == \
        (18, 86, 39, 170)


def test_the_package_imports_no_django_and_numpy_only_inside_pk():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import ketaclinic.clinical.pk, ketaclinic.clinical.pk.__main__, sys; "
            "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
            "assert 'scipy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)
    core = root / "ketaclinic" / "clinical"
    for path in core.glob("*.py"):
        assert "numpy" not in path.read_text(), f"numpy outside pk/: {path.name}"


def test_a_dose_per_patient_may_come_as_numbers_of_any_kind():
    from decimal import Decimal

    for doses in ([10, 12.5], np.array([10, 12]), np.array([10.0, 12.5]), np.array([Decimal(10), Decimal("12.5")]),
                  Decimal(10)):
        Regimen([Bolus(0.0, doses)])  # accepted: the text check refuses only text
