"""Published pharmacokinetic models of ketamine and esketamine, each parameter with its source and status.

Status, as in shared/reference/pk-models.md: C confirmed in the primary source, S secondary transcription,
U unconfirmed. A model is never more confirmed than its weakest parameter. Every number below is a row of
pk-models.md §1 (or the transcription of the paper's table that pk-models.md names as its source); none is ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..dosing import ESKETAMINE_DEVICE_MG
from .engine import Impulse, Input, LinearSystem, Observation, ZeroOrder
from .errors import PKInputError
from .regimen import Absorbed, Absorption, Bolus, Infusion, Regimen


@dataclass(frozen=True)
class Param:
    """One published parameter value."""

    name: str
    value: float
    unit: str
    source: str
    status: str


@dataclass(frozen=True)
class Variability:
    """Published inter-individual variability of one parameter: log-normal (``scale`` "log", variance
    ``omega2`` of log(parameter)) or normal on the logit of a fraction (``scale`` "logit")."""

    param: str
    omega2: float
    scale: str
    source: str
    status: str


@dataclass(frozen=True)
class Population:
    """Who the model was built in. Ages and weights outside the bounds are refused."""

    description: str
    age_min: float | None
    age_max: float | None
    weight_min: float | None
    weight_max: float | None
    source: str
    status: str


@dataclass(frozen=True)
class Patients:
    """Covariates of N virtual patients (arrays of shape (N,))."""

    weight_kg: np.ndarray
    age_years: np.ndarray
    asian: np.ndarray
    japanese: np.ndarray

    @classmethod
    def of(cls, weight_kg: float | Sequence[float] | np.ndarray, age_years: float | Sequence[float] | np.ndarray,
           asian: bool | Sequence[bool] | np.ndarray = False,
           japanese: bool | Sequence[bool] | np.ndarray = False) -> Patients:
        w = np.atleast_1d(np.asarray(weight_kg, dtype=float))
        a = np.atleast_1d(np.asarray(age_years, dtype=float))
        n = max(w.size, a.size)
        try:
            w, a = np.broadcast_to(w, (n,)).copy(), np.broadcast_to(a, (n,)).copy()
            asi = np.broadcast_to(np.asarray(asian, dtype=bool), (n,)).copy()
            jap = np.broadcast_to(np.asarray(japanese, dtype=bool), (n,)).copy()
        except ValueError:
            raise PKInputError("weights, ages and flags need one value each or one per patient.",
                               "patients") from None
        if not np.isfinite(w).all() or (w <= 0).any():
            raise PKInputError("a weight must be more than 0 kg.", "weight_kg")
        if not np.isfinite(a).all() or (a < 0).any():
            raise PKInputError("an age must be 0 years or more.", "age_years")
        if (jap & ~asi).any():
            raise PKInputError("a Japanese patient is also Asian in this model's covariates.", "japanese")
        return cls(w, a, asi, jap)

    @property
    def count(self) -> int:
        return self.weight_kg.size


@dataclass(frozen=True)
class Built:
    """A model instantiated for N patients: the linear system, the observed concentrations and the individual
    parameters (arrays (N,))."""

    system: LinearSystem
    observe: dict[str, Observation]
    params: dict[str, np.ndarray]
    inputs: list[Input] = field(default_factory=list)


def _per_min(per_hour: float) -> float:
    return per_hour / 60.0


def _eta(etas: Mapping[str, np.ndarray] | None, name: str, n: int) -> np.ndarray:
    if etas is None or name not in etas:
        return np.zeros(n)
    return np.asarray(etas[name], dtype=float)


def mammillary(v1: np.ndarray, k10: np.ndarray, k12: np.ndarray, k21: np.ndarray,
               k13: np.ndarray | None = None, k31: np.ndarray | None = None) -> LinearSystem:
    """A 2- or 3-compartment mammillary model (central compartment first) from V1-scaled micro-constants
    (1/min)."""
    n = 3 if k13 is not None else 2
    N = v1.size
    K = np.zeros((N, n, n))
    K[:, 0, 0] = -(k10 + k12 + (k13 if k13 is not None else 0.0))
    K[:, 0, 1] = k21
    K[:, 1, 0] = k12
    K[:, 1, 1] = -k21
    names: tuple[str, ...] = ("central", "peripheral1")
    if k13 is not None and k31 is not None:
        K[:, 0, 2] = k31
        K[:, 2, 0] = k13
        K[:, 2, 2] = -k31
        names += ("peripheral2",)
    return LinearSystem(K, names)


class Model:
    """A published model: its parameters with sources, its population, its published variability, and how it
    turns a regimen into inputs of the engine."""

    key: str = ""
    name: str = ""
    drug: str = ""
    citation: str = ""
    status: str = "U"
    notes: str = ""
    population: Population
    params: tuple[Param, ...] = ()
    variability: tuple[Variability, ...] = ()
    outputs: tuple[str, ...] = ()
    routes: tuple[str, ...] = ("iv",)
    #: The :class:`Patients` flags the model uses ("asian", "japanese"); a model without them predicts the same
    #: for every patient whatever the flags say.
    race_covariates: tuple[str, ...] = ()
    #: Whether a caller may supply an :class:`Absorption` for a route the model has no parameters for.
    accepts_absorption: bool = True

    def value(self, name: str) -> float:
        return next(p.value for p in self.params if p.name == name)

    def check_population(self, patients: Patients) -> None:
        pop = self.population
        for arr, lo, hi, what, unit in ((patients.age_years, pop.age_min, pop.age_max, "age", "years"),
                                        (patients.weight_kg, pop.weight_min, pop.weight_max, "weight", "kg")):
            if (lo is not None and (arr < lo).any()) or (hi is not None and (arr > hi).any()):
                if lo is not None and hi is not None:
                    bounds = f"{what} {lo:g} to {hi:g} {unit}"
                elif lo is not None:
                    bounds = f"{what} {lo:g} {unit} and over"
                else:
                    bounds = f"{what} up to {hi:g} {unit}"
                bad = arr[(arr < (lo if lo is not None else -np.inf)) | (arr > (hi if hi is not None else np.inf))]
                raise PKInputError(
                    f"the {self.name} model was built in {pop.description} ({bounds}); "
                    f"it cannot predict for a patient with {what} {bad[0]:g} {unit}.",
                    "age_years" if what == "age" else "weight_kg")

    def build(self, patients: Patients, etas: Mapping[str, np.ndarray] | None = None) -> Built:
        raise NotImplementedError

    def inputs(self, built: Built, regimen: Regimen) -> list[Input]:
        """IV doses go into the central compartment; extravascular doses through :meth:`absorbed`."""
        out: list[Input] = []
        nasal_mg_so_far = np.zeros(built.system.patients)
        central = built.system.index("central")
        for d in regimen.doses:
            supplied = isinstance(d, Absorbed) and d.absorption is not None and self.accepts_absorption
            if d.route not in self.routes and not supplied:
                raise PKInputError(
                    f"the {self.name} model has no published parameters for the {d.route} route"
                    + ("; supply an Absorption (ka, bioavailability, lag) to simulate it as a research scenario."
                       if d.route != "iv" and self.accepts_absorption else "."), "route")
            if isinstance(d, Bolus):
                out.append(Impulse(central, d.time_min, d.dose_mg))
            elif isinstance(d, Infusion):
                out.append(ZeroOrder(central, d.start_min, d.end_min, d.rate_mg_per_min))
            else:
                out += self.absorbed(built, d, nasal_mg_so_far)
                if d.route == "intranasal":
                    nasal_mg_so_far = nasal_mg_so_far + d.dose_mg
        return out

    def absorbed(self, built: Built, dose: Absorbed, nasal_mg_before: np.ndarray) -> list[Input]:
        """A user-supplied first-order absorption: bioavailable amount into the depot :meth:`prepare` added for
        it, at the dose time plus the lag."""
        a = dose.absorption
        if a is None:  # pragma: no cover - refused in inputs()
            raise PKInputError("no absorption parameters.", "absorption")
        depot = built.system.index(_depot_name(a))
        return [Impulse(depot, dose.time_min + a.lag_min, np.asarray(dose.dose_mg, dtype=float) * a.bioavailability)]

    def prepare(self, patients: Patients, regimen: Regimen, etas: Mapping[str, np.ndarray] | None = None) -> Built:
        """The model for these patients with the regimen's inputs: population checked, one depot per supplied
        absorption."""
        self.check_population(patients)
        built = self.build(patients, etas)
        supplied = []
        for d in regimen.doses:
            if isinstance(d, Absorbed) and d.absorption is not None and d.absorption not in supplied:
                supplied.append(d.absorption)
        if supplied:
            n = patients.count
            system = with_depots(built.system, [(_depot_name(a), np.full(n, a.ka_per_min),
                                                 built.system.index("central")) for a in supplied])
            built = Built(system, built.observe, built.params)
        return Built(built.system, built.observe, built.params, self.inputs(built, regimen))


def _depot_name(a: Absorption) -> str:
    return f"depot(ka={a.ka_per_min!r}, F={a.bioavailability!r})"


def with_depots(system: LinearSystem, depots: Sequence[tuple[str, np.ndarray, int]]) -> LinearSystem:
    """The system with first-order depots added in front: each (name, ka (N,) 1/min, index of the compartment it
    empties into)."""
    N, n = system.patients, len(system.compartments)
    m = n + len(depots)
    K = np.zeros((N, m, m))
    K[:, :n, :n] = system.rates
    for j, (_, ka, target) in enumerate(depots):
        K[:, n + j, n + j] = -ka
        K[:, target, n + j] = ka
    return LinearSystem(K, system.compartments + tuple(name for name, _, _ in depots))


_ADULT = "project's choice (U): the model's population is adults; its age range was not read in the paper"


class MicroConstants(Model):
    """A 2- or 3-compartment mammillary model published as V1 (L/kg) and micro-constants (1/min): ``params`` holds
    V1 and k10, k12, k21 (and k13, k31 for three compartments). Each patient's parameter is the published value
    times exp(eta) for every parameter (an absent eta is 0), V1 times the patient's weight; the level is observed
    in the central compartment."""

    def build(self, patients: Patients, etas: Mapping[str, np.ndarray] | None = None) -> Built:
        n = patients.count
        p = {q.name: np.full(n, q.value) * np.exp(_eta(etas, q.name, n)) for q in self.params}
        p["V1"] = p["V1"] * patients.weight_kg
        system = mammillary(p["V1"], p["k10"], p["k12"], p["k21"], p.get("k13"), p.get("k31"))
        return Built(system, {self.outputs[0]: Observation(0, p["V1"])}, p)


class Domino(MicroConstants):
    key = "domino"
    name = "Domino"
    drug = "racemic ketamine"
    citation = ("Domino EF et al., Clin Pharmacol Ther 1984;36(5):645-653, PMID 6488686, as cited by stanpumpR "
                "R/drugs_ketamine.R and STANPUMP DRUGS.C (pk-models.md §1.1)")
    status = "S"
    notes = "The usual TCI default (STANPUMP, stanpumpR). Values agree between STANPUMP and opentiva; paper U."
    population = Population("adults", 18, None, None, None, _ADULT, "U")
    _src = "pk-models.md §1.1 Domino row (STANPUMP/stanpumpR/opentiva agree)"
    params = (
        Param("V1", 0.063, "L/kg", _src, "S"),
        Param("k10", 0.4381, "1/min", _src, "S"),
        Param("k12", 0.5921, "1/min", _src, "S"),
        Param("k13", 0.5900, "1/min", _src, "S"),
        Param("k21", 0.2470, "1/min", _src, "S"),
        Param("k31", 0.0146, "1/min", _src, "S"),
    )
    outputs = ("ketamine",)


class Clements250(MicroConstants):
    key = "clements"
    name = "Clements 250"
    drug = "racemic ketamine"
    citation = "Clements & Nimmo, Br J Anaesth 1981;53:27, doi:10.1093/bja/53.1.27, as coded in opentiva"
    status = "S"
    notes = "V1 looks unusually large (pk-models.md: check against the paper)."
    population = Population("adult volunteers (250 ug/kg bolus)", 18, None, None, None, _ADULT, "U")
    _src = "pk-models.md §1.1 Clements '250' row (opentiva)"
    params = (
        Param("V1", 1.7522, "L/kg", _src, "S"),
        Param("k10", 0.0109, "1/min", _src, "S"),
        Param("k12", 0.0186, "1/min", _src, "S"),
        Param("k21", 0.0137, "1/min", _src, "S"),
    )
    outputs = ("ketamine",)


class Hijazi(MicroConstants):
    key = "hijazi"
    name = "Hijazi 2003"
    drug = "racemic ketamine"
    citation = "Hijazi et al., Br J Anaesth 2003, doi:10.1093/bja/aeg028; parameter set as coded in opentiva"
    status = "U"
    notes = ("The opentiva set reproduces the abstract's CL (36 mL/min/kg) but gives Vss 4.25 L/kg, not 16: "
             "treat it as unverified (pk-models.md). opentiva's age limit of 18 is not applied: the study was "
             "in adults.")
    population = Population("adult ICU patients with brain or spinal-cord injury (12)", 18, None, None, None,
                            _ADULT, "U")
    _src = "pk-models.md §1.1 Hijazi 2003 row (opentiva set, unverified)"
    params = (
        Param("V1", 1.08, "L/kg", _src, "U"),
        Param("k10", 0.0333, "1/min", _src, "U"),
        Param("k12", 0.0088, "1/min", _src, "U"),
        Param("k21", 0.0030, "1/min", _src, "U"),
    )
    # CL 36.0 (SD 13.3) mL/min/kg in the abstract (C): CV 36.9%, applied to k10 as log-normal (shape U).
    variability = (
        Variability("k10", float(np.log1p((13.3 / 36.0) ** 2)), "log",
                    "pk-models.md §1.1 Hijazi row: CL 36.0 (SD 13.3) mL/min/kg, abstract (C); applied to the "
                    "opentiva k10 as a log-normal with the same CV (project's choice)", "U"),
    )
    outputs = ("ketamine",)


class Herd(Model):
    key = "herd"
    name = "Herd 2007 (children)"
    drug = "racemic ketamine"
    citation = "Herd et al., Paediatr Anaesth 2007, doi:10.1111/j.1460-9592.2006.02145.x, as coded in opentiva"
    status = "S"
    notes = "Paediatric; allometric exponent 0.75 on clearances."
    population = Population("children aged 1 to 14 years", 1, 14, None, None, "pk-models.md §1.1 Herd row", "S")
    _src = "pk-models.md §1.1 Herd 2007 row (opentiva)"
    params = (
        Param("V1", 38.7, "L/70 kg", _src, "S"),
        Param("V2", 102.0, "L/70 kg", _src, "S"),
        Param("CL", 90.0, "L/h/70 kg", _src, "S"),
        Param("Q", 215.0, "L/h/70 kg", _src, "S"),
    )
    outputs = ("ketamine",)

    def build(self, patients: Patients, etas: Mapping[str, np.ndarray] | None = None) -> Built:
        f = patients.weight_kg / 70.0
        v1, v2 = self.value("V1") * f, self.value("V2") * f
        cl, q = _per_min(self.value("CL")) * f ** 0.75, _per_min(self.value("Q")) * f ** 0.75
        p = {"V1": v1, "V2": v2, "CL": cl, "Q": q}
        return Built(mammillary(v1, cl / v1, q / v1, q / v2), {"ketamine": Observation(0, v1)}, p)


#: The file pk-models.md §1.3 names as its source for Perez-Ruixo, with its path in the nlmixr2lib repository. The
#: published variability and the population's age and weight ranges are read there (not in pk-models.md).
_PR_NLMIXR2LIB = "nlmixr2lib (github.com/nlmixr2/nlmixr2lib) inst/modeldb/specificDrugs/PerezRuixo_2020_esketamine.R"
_PR_SRC = ("Perez-Ruixo C et al., Clin Pharmacokinet 2021;60:501, doi:10.1007/s40262-020-00953-4, Table 3, as "
           "transcribed by nlmixr2lib PerezRuixo_2020_esketamine.R (pk-models.md §1.3)")


class PerezRuixo(Model):
    key = "perez-ruixo"
    name = "Perez-Ruixo 2021"
    drug = "esketamine"
    citation = _PR_SRC
    status = "S"
    notes = ("Three-compartment esketamine with a hepato-portal (well-stirred) compartment and a two-compartment "
             "apparent noresketamine. The transcriber reports typos in the printed ODEs and a 1.4-1.6x "
             "over-prediction of noresketamine AUC when Table 3 is taken literally (taken literally here). "
             "Nasal doses: the first 28 mg of the session is absorbed through the nasal cavity with FRn, each "
             "further 28 mg with FRn x 0.62; the rest is swallowed (zero-order over Dsw, then ka_sw, Fgut, into "
             "the liver). No published value for the variability of kmet: none is simulated.")
    population = Population("820 adults (256 healthy, 564 with treatment-resistant depression) aged 18 to 86 "
                            "years, 39 to 170 kg", 18, 86, 39, 170,
                            f"Perez-Ruixo 2021 Table 2 (age 18-86 years, weight 39-170 kg) as transcribed in "
                            f"{_PR_NLMIXR2LIB}, population block (not in pk-models.md)", "S")
    _h = "pk-models.md §1.3"
    params = (
        Param("Vc", 192.0, "L", _h, "S"), Param("Q1", 84.3, "L/h", _h, "S"), Param("Vp1", 143.0, "L", _h, "S"),
        Param("Q2", 37.6, "L/h", _h, "S"), Param("Vp2", 417.0, "L", _h, "S"), Param("Qh", 151.0, "L/h", _h, "S"),
        Param("Qh_age_slope", 2.19, "L/h per year above 60", _h, "S"),
        Param("Vh", 101.0, "L", _h, "S"), Param("kel", 1.11, "1/h", _h, "S"),
        Param("kel_asian", 0.36, "factor", _h, "S"), Param("kmet", 2.77, "1/h", _h, "S"),
        Param("FRn", 0.54, "fraction per 28 mg", _h, "S"), Param("FRn_later_spray", 0.62, "factor", _h, "S"),
        Param("FRn_japanese", 1.34, "factor", _h, "S"),
        Param("ka_n", 2.93, "1/h", _h, "S"), Param("Dsw", 0.53, "h", _h, "S"), Param("ka_sw", 1.45, "1/h", _h, "S"),
        Param("Fgut", 0.64, "fraction", _h, "S"),
        Param("Vcn", 70.0, "L (apparent, /F)", _h, "S"), Param("CLn", 38.0, "L/h (apparent, /F)", _h, "S"),
        Param("CLn_asian", 0.81, "factor", _h, "S"), Param("Vpn", 115.0, "L (apparent, /F)", _h, "S"),
        Param("Q3", 26.1, "L/h (apparent, /F)", _h, "S"),
    )
    _iiv = (f"Perez-Ruixo 2021 Table 3 CV% as transcribed in {_PR_NLMIXR2LIB}, ini() block (not in "
            "pk-models.md); omega2 = ln(1 + CV^2)")
    variability = (
        Variability("FRn", 0.708 ** 2, "logit", f"Perez-Ruixo 2021 Table 3 omega(FRn) 70.8, additive on the logit "
                    f"(the transcriber's reading) as transcribed in {_PR_NLMIXR2LIB}, ini() block (not in "
                    "pk-models.md)", "S"),
        Variability("ka_n", float(np.log1p(0.615 ** 2)), "log", _iiv, "S"),
        Variability("ka_sw", float(np.log1p(1.32 ** 2)), "log", _iiv, "S"),
        Variability("Vc", float(np.log1p(0.275 ** 2)), "log", _iiv, "S"),
        Variability("Vp1", float(np.log1p(0.493 ** 2)), "log", _iiv, "S"),
        Variability("Qh", float(np.log1p(0.232 ** 2)), "log", _iiv, "S"),
        Variability("Vh", float(np.log1p(0.346 ** 2)), "log", _iiv, "S"),
        Variability("kel", float(np.log1p(1.20 ** 2)), "log", _iiv, "S"),
        Variability("Vcn", float(np.log1p(0.316 ** 2)), "log", _iiv, "S"),
        Variability("CLn", float(np.log1p(0.254 ** 2)), "log", _iiv, "S"),
    )
    outputs = ("esketamine", "noresketamine")
    routes = ("iv", "intranasal")
    race_covariates = ("asian", "japanese")
    accepts_absorption = False  # its nasal absorption is its own; other extravascular routes are refused
    COMPARTMENTS = ("central", "peripheral1", "peripheral2", "liver", "nk_central", "nk_peripheral",
                    "nasal_depot", "swallowed_depot")

    def build(self, patients: Patients, etas: Mapping[str, np.ndarray] | None = None) -> Built:
        n = patients.count
        v = self.value

        def ind(name: str) -> np.ndarray:
            return np.full(n, v(name)) * np.exp(_eta(etas, name, n))

        vc, vp1, vh = ind("Vc"), ind("Vp1"), ind("Vh")
        q1, q2, vp2 = v("Q1"), v("Q2"), v("Vp2")
        qh = (v("Qh") - v("Qh_age_slope") * np.maximum(0.0, patients.age_years - 60)) * \
            np.exp(_eta(etas, "Qh", n))
        kel = ind("kel") * np.where(patients.asian, v("kel_asian"), 1.0)
        kmet = np.full(n, v("kmet"))
        vcn, vpn, q3 = ind("Vcn"), v("Vpn"), v("Q3")
        cln = ind("CLn") * np.where(patients.asian, v("CLn_asian"), 1.0)
        logit = np.log(v("FRn") / (1 - v("FRn"))) + _eta(etas, "FRn", n)
        # A fraction cannot pass 1: the Japanese factor on a high individual FRn is capped there.
        frn = np.minimum(1.0, 1.0 / (1.0 + np.exp(-logit)) * np.where(patients.japanese, v("FRn_japanese"), 1.0))
        ka_n, ka_sw = _per_min(1.0) * ind("ka_n"), _per_min(1.0) * ind("ka_sw")
        h = _per_min(1.0)  # L/h and 1/h to per minute
        K = np.zeros((n, 8, 8))
        c, p1, p2, liv, nc, npp, dn, dsw = range(8)
        K[:, c, c] = -(q1 + q2 + qh) * h / vc
        K[:, p1, c], K[:, c, p1], K[:, p1, p1] = q1 * h / vc, q1 * h / vp1, -q1 * h / vp1
        K[:, p2, c], K[:, c, p2], K[:, p2, p2] = q2 * h / vc, q2 * h / vp2, -q2 * h / vp2
        K[:, liv, c], K[:, c, liv] = qh * h / vc, qh * h / vh
        K[:, liv, liv] = -(qh * h / vh + (kel + kmet) * h)
        K[:, nc, liv] = kmet * h
        K[:, nc, nc] = -(cln + q3) * h / vcn
        K[:, npp, nc], K[:, nc, npp], K[:, npp, npp] = q3 * h / vcn, q3 * h / vpn, -q3 * h / vpn
        K[:, dn, dn], K[:, c, dn] = -ka_n, ka_n
        K[:, dsw, dsw], K[:, liv, dsw] = -ka_sw, ka_sw
        params = {"Vc": vc, "Vp1": vp1, "Vh": vh, "Qh": qh, "kel": kel, "kmet": kmet, "Vcn": vcn, "CLn": cln,
                  "FRn": frn, "ka_n": ka_n * 60, "ka_sw": ka_sw * 60}
        return Built(LinearSystem(K, self.COMPARTMENTS),
                     {"esketamine": Observation(c, vc), "noresketamine": Observation(nc, vcn)}, params)

    def absorbed(self, built: Built, dose: Absorbed, nasal_mg_before: np.ndarray) -> list[Input]:
        if dose.absorption is not None:
            raise PKInputError("the Perez-Ruixo model has its own nasal absorption; do not supply one.",
                               "absorption")
        mg = np.broadcast_to(np.asarray(dose.dose_mg, dtype=float), nasal_mg_before.shape)
        # the part of the session's first device (28 mg, clinical.md §3b 'Device' row, C)
        first = np.clip(ESKETAMINE_DEVICE_MG - nasal_mg_before, 0.0, mg)
        frn = built.params["FRn"]
        nasal = frn * (first + self.value("FRn_later_spray") * (mg - first))
        swallowed = (mg - nasal) * self.value("Fgut")
        dsw = self.value("Dsw") * 60.0
        sys = built.system
        return [Impulse(sys.index("nasal_depot"), dose.time_min, nasal),
                ZeroOrder(sys.index("swallowed_depot"), dose.time_min, dose.time_min + dsw, swallowed / dsw)]


MODELS: dict[str, Model] = {m.key: m for m in (Domino(), Clements250(), Hijazi(), Herd(), PerezRuixo())}
#: The published racemic IV models whose spread the cockpit shows for an adult.
RACEMIC_IV_ADULT = ("domino", "clements", "hijazi")


def get_model(key: str) -> Model:
    try:
        return MODELS[key]
    except KeyError:
        raise PKInputError(f"unknown model {key!r}; known: {', '.join(MODELS)}.", "model") from None
