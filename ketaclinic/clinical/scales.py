"""Rating scales: items, answer options, LOINC codes, scoring, severity bands and safety flags.

Full item wording is carried only for instruments that may be freely reproduced (PHQ-9, GAD-7, PCL-5).
MADRS, QIDS-SR16, CADSS and the C-SSRS screener carry identifiers and short labels only; the clinic must use its
licensed copy of the wording.  Numbers and rules come from clinical.md §4 (scales) and §5a (LOINC).

Incomplete answers: none of the instruments has a proration rule in clinical.md, so an incomplete form gives
``complete=False`` and ``total=None``, never a silent number.  The one instrument rule used is the QIDS-SR16
form's own instruction to answer either item 6 or 7 and either item 8 or 9.  Safety flags are raised from the
answers that *are* present, even on an incomplete form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import ClinicalInputError
from .sedation import DEEP_SEDATION_SOURCE, classify_moaas
from .settings import resolve

Answer = int | bool | None


@dataclass(frozen=True)
class AnswerOption:
    """One answer option: stored value, label and (where clinical.md gives one) its LOINC answer code."""

    value: int
    label: str
    loinc_answer: str | None = None


@dataclass(frozen=True)
class Item:
    """One item: identifier, short label, full text only where the instrument is freely reproducible."""

    id: str
    label: str
    text: str | None
    options: tuple[AnswerOption, ...]
    loinc: str | None = None
    yes_no: bool = False
    group: str | None = None  # QIDS-SR16 domain, PCL-5 DSM-5 cluster
    asked_when: str | None = None  # C-SSRS: condition under which the item is asked

    @property
    def values(self) -> frozenset[int]:
        return frozenset(o.value for o in self.options)


@dataclass(frozen=True)
class Band:
    """Severity band: inclusive total range and its label."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Scale:
    """A rating scale and its published scoring facts (see ``source`` and ``status``)."""

    code: str
    name: str
    items: tuple[Item, ...]
    min_total: int
    max_total: int
    loinc_total: str | None
    loinc_panel: str | None
    recall: str
    source: str
    reproducible_text: bool
    status: str = "C"
    rater: str = "patient"
    stem: str | None = None
    bands: tuple[Band, ...] = ()
    higher_is_worse: bool = True
    loinc_note: str = ""

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise ClinicalInputError(f"{self.name} has no item '{item_id}'", item_id)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(it.id for it in self.items)

    def band_for(self, total: int) -> str | None:
        for b in self.bands:
            if b.low <= total <= b.high:
                return b.label
        return None


@dataclass(frozen=True)
class SafetyFlag:
    """A safety signal raised by an answer; ``urgent`` flags need action before the session goes on."""

    code: str
    message: str
    urgent: bool
    source: str


@dataclass(frozen=True)
class ScaleResult:
    """Scored form. ``total`` is None when incomplete (or, for the C-SSRS screener, always)."""

    scale: str
    complete: bool
    total: int | None
    band: str | None
    flags: tuple[SafetyFlag, ...]
    missing: tuple[str, ...]
    subscores: Mapping[str, int]
    detail: str
    dsm5_criteria_met: bool | None = None  # PCL-5 only
    above_cutpoint: bool | None = None  # PCL-5 only
    answered: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


# ------------------------------------------------------------------------------------------- option sets
PHQ_OPTIONS = (
    AnswerOption(0, "Not at all", "LA6568-5"),
    AnswerOption(1, "Several days", "LA6569-3"),
    AnswerOption(2, "More than half the days", "LA6570-1"),
    AnswerOption(3, "Nearly every day", "LA6571-9"),
)
GAD_OPTIONS = tuple(AnswerOption(o.value, o.label) for o in PHQ_OPTIONS)
PCL_OPTIONS = (
    AnswerOption(0, "Not at all"),
    AnswerOption(1, "A little bit"),
    AnswerOption(2, "Moderately"),
    AnswerOption(3, "Quite a bit"),
    AnswerOption(4, "Extremely"),
)
YES_NO = (AnswerOption(0, "No"), AnswerOption(1, "Yes"))


def _numeric(lo: int, hi: int, low_label: str, high_label: str) -> tuple[AnswerOption, ...]:
    out = []
    for v in range(lo, hi + 1):
        label = str(v)
        if v == lo:
            label += f" ({low_label})"
        elif v == hi:
            label += f" ({high_label})"
        out.append(AnswerOption(v, label))
    return tuple(out)


# ------------------------------------------------------------------------------------------- PHQ-9
_PHQ9_TEXT = (
    ("Little interest or pleasure", "Little interest or pleasure in doing things", "44250-9"),
    ("Feeling down", "Feeling down, depressed, or hopeless", "44255-8"),
    ("Sleep", "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
    ("Tired, little energy", "Feeling tired or having little energy", "44254-1"),
    ("Appetite", "Poor appetite or overeating", "44251-7"),
    ("Feeling bad about yourself",
     "Feeling bad about yourself - or that you are a failure or have let yourself or your family down", "44258-2"),
    ("Trouble concentrating",
     "Trouble concentrating on things, such as reading the newspaper or watching television", "44252-5"),
    ("Moving or speaking slowly, or restless",
     "Moving or speaking so slowly that other people could have noticed? Or the opposite - being so fidgety or "
     "restless that you have been moving around a lot more than usual", "44253-3"),
    ("Better off dead or hurting yourself",
     "Thoughts that you would be better off dead or of hurting yourself in some way", "44260-8"),
)
PHQ9_SOURCE = (
    "clinical.md §4 PHQ-9 row (items, range, bands: C; item-9 trigger: U, standard practice); §5a LOINC rows (C); "
    "Kroenke 2001, J Gen Intern Med 16:606-613, PMC1495268"
)
PHQ9 = Scale(
    code="phq9",
    name="PHQ-9",
    items=tuple(Item(f"q{i}", lab, txt, PHQ_OPTIONS, loinc) for i, (lab, txt, loinc) in enumerate(_PHQ9_TEXT, 1)),
    min_total=0,
    max_total=27,
    loinc_total="44261-6",
    loinc_panel="44249-1",
    recall="last 2 weeks",
    source=PHQ9_SOURCE,
    reproducible_text=True,
    stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"), Band(15, 19, "moderately severe"),
           Band(20, 27, "severe")),
)

# ------------------------------------------------------------------------------------------- GAD-7
_GAD7_TEXT = (
    ("Nervous, anxious, on edge", "Feeling nervous, anxious, or on edge"),
    ("Can't stop worrying", "Not being able to stop or control worrying"),
    ("Worrying too much", "Worrying too much about different things"),
    ("Trouble relaxing", "Trouble relaxing"),
    ("Restless", "Being so restless that it is hard to sit still"),
    ("Irritable", "Becoming easily annoyed or irritable"),
    ("Afraid something awful might happen", "Feeling afraid, as if something awful might happen"),
)
GAD7 = Scale(
    code="gad7",
    name="GAD-7",
    items=tuple(Item(f"q{i}", lab, txt, GAD_OPTIONS) for i, (lab, txt) in enumerate(_GAD7_TEXT, 1)),
    min_total=0,
    max_total=21,
    loinc_total="70274-6",
    loinc_panel="69737-5",
    loinc_note="GAD-7 panel 69737-5 is status S (third-party codebases; not seen on loinc.org); total 70274-6 is C",
    recall="last 2 weeks",
    source="clinical.md §4 GAD-7 row (C); §5a LOINC rows; Spitzer 2006, Arch Intern Med 166:1092",
    reproducible_text=True,
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"), Band(15, 21, "severe")),
)

# ------------------------------------------------------------------------------------------- PCL-5
_PCL5_TEXT = (
    ("Unwanted memories", "Repeated, disturbing, and unwanted memories of the stressful experience?"),
    ("Disturbing dreams", "Repeated, disturbing dreams of the stressful experience?"),
    ("Reliving", "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you "
     "were actually back there reliving it)?"),
    ("Upset by reminders", "Feeling very upset when something reminded you of the stressful experience?"),
    ("Physical reactions to reminders", "Having strong physical reactions when something reminded you of the "
     "stressful experience (for example, heart pounding, trouble breathing, sweating)?"),
    ("Avoiding memories, thoughts, feelings",
     "Avoiding memories, thoughts, or feelings related to the stressful experience?"),
    ("Avoiding external reminders", "Avoiding external reminders of the stressful experience (for example, people, "
     "places, conversations, activities, objects, or situations)?"),
    ("Trouble remembering", "Trouble remembering important parts of the stressful experience?"),
    ("Negative beliefs", "Having strong negative beliefs about yourself, other people, or the world (for example, "
     "having thoughts such as: I am bad, there is something seriously wrong with me, no one can be trusted, the "
     "world is completely dangerous)?"),
    ("Blame", "Blaming yourself or someone else for the stressful experience or what happened after it?"),
    ("Strong negative feelings", "Having strong negative feelings such as fear, horror, anger, guilt, or shame?"),
    ("Loss of interest", "Loss of interest in activities that you used to enjoy?"),
    ("Feeling distant", "Feeling distant or cut off from other people?"),
    ("Trouble with positive feelings", "Trouble experiencing positive feelings (for example, being unable to feel "
     "happiness or have loving feelings for people close to you)?"),
    ("Irritable, angry, aggressive", "Irritable behavior, angry outbursts, or acting aggressively?"),
    ("Taking risks", "Taking too many risks or doing things that could cause you harm?"),
    ("Superalert", "Being \"superalert\" or watchful or on guard?"),
    ("Jumpy", "Feeling jumpy or easily startled?"),
    ("Difficulty concentrating", "Having difficulty concentrating?"),
    ("Sleep", "Trouble falling or staying asleep?"),
)
#: DSM-5 clusters of the PCL-5 (clinical.md §4 PCL-5 row): item numbers and the endorsed items needed.
PCL5_CLUSTERS: dict[str, tuple[tuple[int, ...], int]] = {
    "B": ((1, 2, 3, 4, 5), 1),
    "C": ((6, 7), 1),
    "D": ((8, 9, 10, 11, 12, 13, 14), 2),
    "E": ((15, 16, 17, 18, 19, 20), 2),
}
PCL5_ENDORSED_MIN = 2  # an item rated >= 2 ("Moderately") counts as endorsed (clinical.md §4, C)


def _pcl_cluster(i: int) -> str:
    return next(c for c, (items, _) in PCL5_CLUSTERS.items() if i in items)


PCL5_SOURCE = (
    "clinical.md §4 PCL-5 row (scoring, clusters, cut-point 31-33: C; change 5/10: S); "
    "comorbidityguidelines.org.au (NCPTSD text); medafile.com (VA WRIISC)"
)
PCL5 = Scale(
    code="pcl5",
    name="PCL-5",
    items=tuple(Item(f"q{i}", lab, txt, PCL_OPTIONS, group=_pcl_cluster(i)) for i, (lab, txt) in enumerate(_PCL5_TEXT, 1)),
    min_total=0,
    max_total=80,
    loinc_total="91006-2",
    loinc_panel=None,
    loinc_note="PCL-5 total 91006-2 is status U (single third-party code comment)",
    recall="past month",
    source=PCL5_SOURCE,
    reproducible_text=True,
    stem="In the past month, how much were you bothered by:",
)

# ------------------------------------------------------------------------------------------- QIDS-SR16
_QIDS_LABELS = (
    "Falling asleep", "Sleep during the night", "Waking up too early", "Sleeping too much", "Feeling sad",
    "Decreased appetite", "Increased appetite", "Decreased weight", "Increased weight",
    "Concentration / decision making", "View of myself", "Thoughts of death or suicide", "General interest",
    "Energy level", "Feeling slowed down", "Feeling restless",
)
#: QIDS-SR16 nine domains -> item numbers; domain score = max of its items (clinical.md §4 QIDS-SR16 row, C).
QIDS_DOMAINS: dict[str, tuple[int, ...]] = {
    "sleep": (1, 2, 3, 4),
    "sad_mood": (5,),
    "appetite_weight": (6, 7, 8, 9),
    "concentration": (10,),
    "self_view": (11,),
    "suicidal_ideation": (12,),
    "interest": (13,),
    "energy": (14,),
    "psychomotor": (15, 16),
}
QIDS_SOURCE = (
    "clinical.md §4 QIDS-SR16 row (nine-domain algorithm and bands: C; remission: S); ids-qids.org/"
    "interpretation.html; Rush 2003, Biol Psychiatry 54:573"
)
QIDS_SR16 = Scale(
    code="qids_sr16",
    name="QIDS-SR16",
    items=tuple(
        Item(f"q{i}", lab, None, _numeric(0, 3, "least", "most"),
             group=next(d for d, its in QIDS_DOMAINS.items() if i in its))
        for i, lab in enumerate(_QIDS_LABELS, 1)
    ),
    min_total=0,
    max_total=27,
    loinc_total=None,
    loinc_panel=None,
    recall="past 7 days",
    source=QIDS_SOURCE,
    reproducible_text=False,
    bands=(Band(0, 5, "none"), Band(6, 10, "mild"), Band(11, 15, "moderate"), Band(16, 20, "severe"),
           Band(21, 27, "very severe")),
)

# ------------------------------------------------------------------------------------------- MADRS
_MADRS_LABELS = (
    "Apparent sadness", "Reported sadness", "Inner tension", "Reduced sleep", "Reduced appetite",
    "Concentration difficulties", "Lassitude", "Inability to feel", "Pessimistic thoughts", "Suicidal thoughts",
)
MADRS = Scale(
    code="madrs",
    name="MADRS",
    items=tuple(Item(f"q{i}", lab, None, _numeric(0, 6, "none", "most severe")) for i, lab in enumerate(_MADRS_LABELS, 1)),
    min_total=0,
    max_total=60,
    loinc_total=None,
    loinc_panel=None,
    recall="clinician interview (usually the past week)",
    source=(
        "clinical.md §4 MADRS row (Snaith bands 0-6/7-19/20-34/>=35: C; Müller 2003 moderate/severe split ~31 "
        "noted only); Müller 2003 J Affect Disord 77:255"
    ),
    reproducible_text=False,
    rater="clinician",
    bands=(Band(0, 6, "normal"), Band(7, 19, "mild"), Band(20, 34, "moderate"), Band(35, 60, "severe")),
)

# ------------------------------------------------------------------------------------------- CADSS (23-item)
CADSS = Scale(
    code="cadss",
    name="CADSS (23-item subjective)",
    items=tuple(Item(f"q{i}", f"CADSS subjective item {i}", None, _numeric(0, 4, "not at all", "extremely"))
                for i in range(1, 24)),
    min_total=0,
    max_total=92,
    loinc_total=None,
    loinc_panel=None,
    recall="now (rated before dosing, at peak ~40 min, and before discharge)",
    source=(
        "clinical.md §4 CADSS row (23-item subjective version: C; 0-92 range = 23 x 4: S); Bremner CADSS "
        "instructions (2014); seed ref 8 Luckenbaugh 2014 doi:10.1016/j.jad.2014.02.017"
    ),
    reproducible_text=False,
    status="S",
    rater="clinician-administered",
)

# ------------------------------------------------------------------------------------------- C-SSRS screener
CSSRS_SOURCE = (
    "clinical.md §4 C-SSRS Screener row (flow and high-risk rule: C; low/moderate tiers: S); Columbia triage "
    "guidelines"
)
CSSRS_SCREENER = Scale(
    code="cssrs_screener",
    name="C-SSRS Screener",
    items=(
        Item("q1", "Wish to be dead", None, YES_NO, yes_no=True, asked_when="always"),
        Item("q2", "Non-specific active suicidal thoughts", None, YES_NO, yes_no=True, asked_when="always"),
        Item("q3", "Suicidal thoughts with method (no plan or intent)", None, YES_NO, yes_no=True,
             asked_when="q2 = yes"),
        Item("q4", "Suicidal intent without specific plan", None, YES_NO, yes_no=True, asked_when="q2 = yes"),
        Item("q5", "Suicidal intent with specific plan", None, YES_NO, yes_no=True, asked_when="q2 = yes"),
        Item("q6", "Suicidal behaviour (lifetime)", None, YES_NO, yes_no=True, asked_when="always (after q2 or q5)"),
        Item("q6_recent", "Suicidal behaviour within the past 3 months", None, YES_NO, yes_no=True,
             asked_when="q6 = yes"),
    ),
    min_total=0,
    max_total=0,
    loinc_total=None,
    loinc_panel=None,
    loinc_note="No verified LOINC code (clinical.md §5a: U)",
    recall="past month (or since last contact); q6 lifetime with a past-3-months follow-up",
    source=CSSRS_SOURCE,
    reproducible_text=False,
    bands=(),
)
#: Triage action per C-SSRS screener risk band, with the status of the rule in clinical.md §4.
CSSRS_TRIAGE: dict[str, tuple[str, str]] = {
    "high": ("Safety precautions now; do not leave the patient alone or dose until a mental-health professional "
             "has evaluated them.", "C"),
    "moderate": ("Prescriber / mental-health review before dosing; consider safety planning.", "S"),
    "low": ("Review at this visit; document and monitor.", "S"),
    "no risk": ("No screener-based action.", "C"),
}
CSSRS_BAND_ORDER = ("no risk", "low", "moderate", "high")

# ------------------------------------------------------------------------------------------- MOAA/S
MOAAS_LEVELS: dict[int, str] = {
    5: "Responds readily to name spoken in normal tone",
    4: "Lethargic response to name spoken in normal tone",
    3: "Responds only after name is called loudly and/or repeatedly",
    2: "Responds only after mild prodding or shaking",
    1: "Responds only after painful trapezius squeeze",
    0: "No response after painful trapezius squeeze",
}
MOAAS = Scale(
    code="moaas",
    name="MOAA/S",
    items=(Item("level", "Responsiveness level", None,
                tuple(AnswerOption(v, MOAAS_LEVELS[v]) for v in range(0, 6))),),
    min_total=0,
    max_total=5,
    loinc_total=None,
    loinc_panel=None,
    recall="now (observer rating)",
    source=(
        "Chernik 1990, J Clin Psychopharmacol 10(4):244-251 (0-5 levels; descriptions paraphrased, status U: "
        "primary text not in clinical.md); clinical.md §3c 'Sedation / dissociation rates' row: MOAA/S = 0 is loss "
        "of consciousness (SPR-PI §5.1, C)"
    ),
    reproducible_text=False,
    status="U",
    rater="observer",
    higher_is_worse=False,
    bands=(Band(0, 0, "unresponsive (loss of consciousness)"), Band(1, 4, "sedated"), Band(5, 5, "alert")),
)

#: Safety-flag codes that open the suicide-risk task (C-SSRS screener first): PHQ-9 item 9, QIDS-SR16 item 12,
#: MADRS item 10, and a high-risk C-SSRS screener.  Apps open the task for an urgent flag with one of these codes.
SUICIDALITY_TASK_FLAGS = frozenset({"phq9_item9", "qids_item12", "madrs_item10", "cssrs_high_risk"})

SCALES: dict[str, Scale] = {
    s.code: s for s in (PHQ9, GAD7, PCL5, QIDS_SR16, MADRS, CADSS, CSSRS_SCREENER, MOAAS)
}


# ------------------------------------------------------------------------------------------- validation
def get_scale(scale_code: str) -> Scale:
    """The :class:`Scale` for ``scale_code``; raises :class:`ClinicalInputError` for an unknown code."""
    try:
        return SCALES[scale_code]
    except (KeyError, TypeError):
        raise ClinicalInputError(
            f"unknown scale {scale_code!r}; known: {', '.join(SCALES)}", "scale_code"
        ) from None


def _validate(scale: Scale, answers: Mapping[str, Answer]) -> dict[str, int]:
    if not isinstance(answers, Mapping):
        raise ClinicalInputError(f"answers must be a mapping of item id to value, not {type(answers).__name__}")
    known = set(scale.item_ids)
    clean: dict[str, int] = {}
    for key, raw in answers.items():
        if key not in known:
            raise ClinicalInputError(
                f"{scale.name} has no item {key!r} (items: {', '.join(scale.item_ids)})", str(key)
            )
        if raw is None:
            continue
        item = scale.item(key)
        if isinstance(raw, bool):
            if not item.yes_no:
                raise ClinicalInputError(f"{scale.name} {key} needs a number, not {raw!r}", key)
            value = int(raw)
        elif isinstance(raw, int):
            value = raw
        else:
            raise ClinicalInputError(
                f"{scale.name} {key} answer must be a whole number, not {type(raw).__name__} {raw!r}", key
            )
        if value not in item.values:
            lo, hi = min(item.values), max(item.values)
            raise ClinicalInputError(f"{scale.name} {key} answer {value} is out of range {lo}-{hi}", key)
        clean[key] = value
    return clean


def _result(scale: Scale, **kw: object) -> ScaleResult:
    kw.setdefault("subscores", {})
    kw["subscores"] = MappingProxyType(dict(kw["subscores"]))  # type: ignore[arg-type]
    kw["answered"] = MappingProxyType(dict(kw.get("answered", {})))  # type: ignore[arg-type]
    return ScaleResult(scale=scale.code, **kw)  # type: ignore[arg-type]


def _missing(scale: Scale, clean: Mapping[str, int], required: tuple[str, ...] | None = None) -> tuple[str, ...]:
    return tuple(i for i in (required if required is not None else scale.item_ids) if i not in clean)


def _incomplete_text(scale: Scale, missing: tuple[str, ...]) -> str:
    return (
        f"Incomplete: {', '.join(missing)} unanswered. {scale.name} has no proration rule in the reference, so no "
        "total is given."
    )


# ------------------------------------------------------------------------------------------- scorers
def _score_sum(scale: Scale, clean: dict[str, int], flags: list[SafetyFlag]) -> ScaleResult:
    missing = _missing(scale, clean)
    n, hi = len(scale.items), max(scale.items[0].values)
    if missing:
        return _result(scale, complete=False, total=None, band=None, flags=tuple(flags), missing=missing,
                       detail=_incomplete_text(scale, missing), answered=clean)
    total = sum(clean.values())
    band = scale.band_for(total)
    detail = f"Sum of {n} items (0-{hi} each) = {total}"
    if band:
        b = next(b for b in scale.bands if b.label == band)
        detail += f"; band {b.low}-{b.high} '{band}'"
    if scale.code == "phq9" and total >= 10:
        detail += "; >= 10 is the cut-off for major depression (88% sensitivity/specificity, Kroenke 2001)"
    if scale.code == "gad7" and total >= 10:
        detail += "; >= 10 is a positive screen (Spitzer 2006)"
    return _result(scale, complete=True, total=total, band=band, flags=tuple(flags), missing=(),
                   detail=detail + ".", answered=clean)


def _suicide_risk_flag(code: str, answer: str, source: str) -> SafetyFlag:
    """An urgent flag for a suicidality item's ``answer``: the suicide-risk workflow comes before any dosing."""
    return SafetyFlag(code, f"{answer}: start the suicide-risk workflow (C-SSRS screener) before any dosing.", True,
                      source)


def _score_phq9(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    flags = []
    if clean.get("q9", 0) > 0:
        flags.append(_suicide_risk_flag(
            "phq9_item9",
            f"PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered {clean['q9']}",
            "clinical.md §4 PHQ-9 row: item 9 > 0 triggers a suicide-risk workflow (standard practice, status U)",
        ))
    return _score_sum(scale, clean, flags)


def _score_plain(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    return _score_sum(scale, clean, [])


#: MADRS item 10 ("Suicidal thoughts") anchors, as reproduced in Perroud 2009 (BMC Med 7:60,
#: doi:10.1186/1741-7015-7-60, Table 1) and PMC4350518 Table 1 (S): what each level means, for the flag message.
MADRS_ITEM10_ANCHORS: dict[int, str] = {
    0: "enjoys life or takes it as it comes",
    1: "between 'enjoys life' and 'weary of life'",
    2: "weary of life, only fleeting suicidal thoughts",
    3: "between 'fleeting suicidal thoughts' and 'suicide considered a possible solution'",
    4: "probably better off dead; suicidal thoughts common, suicide considered a possible solution, without "
       "specific plans or intention",
    5: "between 'suicide considered a possible solution' and 'explicit plans'",
    6: "explicit plans for suicide when there is an opportunity; active preparations",
}
#: An item 10 rating that always opens the suicide-risk task whatever the clinic setting ("explicit plans").
MADRS_ITEM10_ALWAYS = 6
MADRS_ITEM10_SOURCE = (
    "MADRS item 10 anchors (Perroud 2009 doi:10.1186/1741-7015-7-60 Table 1; S): 6 = explicit plans always opens "
    "the task; the lower threshold is setting scales.madrs_item10_task_at_or_above (default 2, the first anchor "
    "naming suicidal thoughts; unconfirmed), by analogy with the PHQ-9 item-9 practice rule (clinical.md §4, U)"
)


def madrs_item10_opens_task(rating: int, settings: Mapping[str, object] | None = None) -> bool:
    """Whether a MADRS item 10 (suicidal thoughts, 0-6) rating opens the suicide-risk task (C-SSRS screener first):
    always at 6 ("explicit plans"), and at or above ``scales.madrs_item10_task_at_or_above`` (default 2, "only
    fleeting suicidal thoughts"; unconfirmed).  Source: :data:`MADRS_ITEM10_SOURCE`."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 6:
        raise ClinicalInputError(f"must be a whole number 0-6, not {rating!r}", "q10")
    threshold = int(resolve(settings)["scales.madrs_item10_task_at_or_above"])  # type: ignore[arg-type]
    return rating >= MADRS_ITEM10_ALWAYS or rating >= threshold


def _score_madrs(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    flags = []
    if "q10" in clean and madrs_item10_opens_task(clean["q10"], settings):
        level = clean["q10"]
        flags.append(_suicide_risk_flag(
            "madrs_item10", f"MADRS item 10 (suicidal thoughts) rated {level} ({MADRS_ITEM10_ANCHORS[level]})",
            MADRS_ITEM10_SOURCE,
        ))
    return _score_sum(scale, clean, flags)


def _score_qids(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    flags = []
    if clean.get("q12", 0) > 0:
        flags.append(_suicide_risk_flag(
            "qids_item12", f"QIDS-SR16 item 12 (thoughts of death or suicide) answered {clean['q12']}",
            "Issue 3 safety rule (QIDS-SR16 item 12 > 0), by analogy with clinical.md §4 PHQ-9 item 9 (U)",
        ))
    required = tuple(f"q{i}" for i in (1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16))
    missing = list(_missing(scale, clean, required))
    for pair in (("q6", "q7"), ("q8", "q9")):
        if not any(p in clean for p in pair):
            missing.append(f"{pair[0]} or {pair[1]}")
    domains: dict[str, int] = {}
    for name, items in QIDS_DOMAINS.items():
        present = [clean[f"q{i}"] for i in items if f"q{i}" in clean]
        if name == "appetite_weight":
            if any(f"q{i}" in clean for i in (6, 7)) and any(f"q{i}" in clean for i in (8, 9)):
                domains[name] = max(present)
        elif len(present) == len(items):
            domains[name] = max(present)
    if missing:
        detail = (
            f"Incomplete: {', '.join(missing)} unanswered. QIDS-SR16 needs every domain; the form's only allowance "
            "is answering either item 6 or 7 and either item 8 or 9. No total is given."
        )
        return _result(scale, complete=False, total=None, band=None, flags=tuple(flags), missing=tuple(missing),
                       subscores=domains, detail=detail, answered=clean)
    total = sum(domains.values())
    band = scale.band_for(total)
    parts = ", ".join(f"{k} {v}" for k, v in domains.items())
    detail = (
        "Nine-domain algorithm: sleep = max(items 1-4), appetite/weight = max(items 6-9), psychomotor = "
        f"max(items 15-16), other domains = their single item; domains: {parts}; total = sum of 9 domains = "
        f"{total}; band '{band}'."
    )
    return _result(scale, complete=True, total=total, band=band, flags=tuple(flags), missing=(),
                   subscores=domains, detail=detail, answered=clean)


def _score_pcl5(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    cfg = resolve(settings)
    cut = int(cfg["outcomes.pcl5_cutpoint"])
    missing = _missing(scale, clean)
    subs: dict[str, int] = {}
    endorsed: dict[str, int] = {}
    cluster_met: dict[str, bool | None] = {}
    for c, (items, need) in PCL5_CLUSTERS.items():
        vals = [clean.get(f"q{i}") for i in items]
        got = sum(1 for v in vals if v is not None and v >= PCL5_ENDORSED_MIN)
        endorsed[c] = got
        if all(v is not None for v in vals):
            subs[c] = sum(v for v in vals if v is not None)
            cluster_met[c] = got >= need
        elif got >= need:
            cluster_met[c] = True
        else:
            unanswered = sum(1 for v in vals if v is None)
            cluster_met[c] = False if got + unanswered < need else None
    if all(m is True for m in cluster_met.values()):
        dsm5: bool | None = True
    elif any(m is False for m in cluster_met.values()):
        dsm5 = False
    else:
        dsm5 = None
    rule = (
        f"DSM-5 rule: item >= {PCL5_ENDORSED_MIN} counts as endorsed; need >= 1 B (items 1-5), >= 1 C (6-7), "
        ">= 2 D (8-14), >= 2 E (15-20); endorsed: "
        + ", ".join(f"{c} {n}" for c, n in endorsed.items())
        + f"; criteria met: {'yes' if dsm5 else 'no' if dsm5 is False else 'undetermined'}"
    )
    if missing:
        return _result(scale, complete=False, total=None, band=None, flags=(), missing=missing, subscores=subs,
                       detail=_incomplete_text(scale, missing) + " " + rule + ".", dsm5_criteria_met=dsm5,
                       above_cutpoint=None, answered=clean)
    total = sum(clean.values())
    above = total >= cut
    band = f"at or above provisional PTSD cut-point ({cut})" if above else f"below provisional PTSD cut-point ({cut})"
    detail = (
        f"Sum of 20 items (0-4 each) = {total}; cluster sums "
        + ", ".join(f"{c} {v}" for c, v in subs.items())
        + f"; cut-point {cut} (published 31-33; no severity bands exist). {rule}."
    )
    return _result(scale, complete=True, total=total, band=band, flags=(), missing=(), subscores=subs, detail=detail,
                   dsm5_criteria_met=dsm5, above_cutpoint=above, answered=clean)


def _cssrs_required(clean: Mapping[str, int]) -> tuple[str, ...]:
    """The screener's question flow (clinical.md §4): ask 1 and 2; if 2 = yes ask 3, 4 and 5; then 6; if 6 = yes
    ask 'within past 3 months?'. A yes to 3, 4 or 5 given outside that flow (e.g. a patient answering every
    question on a paper or portal form) makes 3, 4 and 5 all required: the skipped questions must be asked."""
    req = ["q1", "q2"]
    if clean.get("q2") == 1 or any(clean.get(k) == 1 for k in ("q3", "q4", "q5")):
        req += ["q3", "q4", "q5"]
    req.append("q6")
    if clean.get("q6") == 1 or clean.get("q6_recent") == 1:
        req.append("q6_recent")
    return tuple(req)


def _score_cssrs(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    required = _cssrs_required(clean)
    # Answers outside the flow are kept and counted, never refused: a more symptomatic answer must not produce a
    # less alarming result (a yes to intent or recent behaviour is high risk however the form was filled in).
    outside_flow = [k for k in clean if k not in required]
    inconsistent = clean.get("q6_recent") == 1 and clean.get("q6") == 0
    missing = _missing(scale, clean, required)
    yes = {k for k, v in clean.items() if v == 1}
    if yes & {"q4", "q5", "q6_recent"}:
        band: str | None = "high"
    elif missing:
        band = None
    elif "q3" in yes or ("q6" in yes and clean.get("q6_recent") == 0):
        band = "moderate"
    elif yes & {"q1", "q2"}:
        band = "low"
    else:
        band = "no risk"
    flags: list[SafetyFlag] = []
    if band == "high":
        why = [lab for k, lab in (("q4", "intent without plan"), ("q5", "intent with plan"),
                                  ("q6_recent", "suicidal behaviour in the past 3 months")) if k in yes]
        flags.append(SafetyFlag(
            "cssrs_high_risk",
            f"C-SSRS screener HIGH RISK ({'; '.join(why)}): {CSSRS_TRIAGE['high'][0]}",
            True,
            "clinical.md §4 C-SSRS Screener row: yes to 4 or 5 or behaviour in past 3 months = high risk (C)",
        ))
    elif band == "moderate":
        flags.append(SafetyFlag("cssrs_moderate_risk", f"C-SSRS screener moderate risk: {CSSRS_TRIAGE['moderate'][0]}",
                                False, "clinical.md §4 C-SSRS Screener row: low/moderate tiers (S)"))
    flow = "Flow: ask 1 and 2; if 2 = yes ask 3, 4, 5 and 6; if 2 = no go to 6; if 6 = yes ask 'within past 3 months?'."
    if outside_flow:
        flow += f" Answered outside the flow and kept: {', '.join(sorted(outside_flow))}."
    if inconsistent:
        flow += " Behaviour in the past 3 months was answered yes while lifetime behaviour (q6) was no: clarify with the patient."
    if band is None:
        detail = f"Incomplete: {', '.join(missing)} still to ask. {flow}"
    else:
        status = CSSRS_TRIAGE[band][1]
        detail = (f"Risk '{band}' (tier status {status}). Action: {CSSRS_TRIAGE[band][0]} {flow}"
                  + (f" Still to ask: {', '.join(missing)}." if missing else ""))
    return _result(scale, complete=not missing, total=None, band=band, flags=tuple(flags), missing=missing,
                   detail=detail, answered=clean)


def _score_moaas(scale: Scale, clean: dict[str, int], settings: Mapping[str, object] | None) -> ScaleResult:
    if "level" not in clean:
        return _result(scale, complete=False, total=None, band=None, flags=(), missing=("level",),
                       detail="Incomplete: level not recorded.", answered=clean)
    level = clean["level"]
    flags = []
    if level == 0:
        flags.append(SafetyFlag(
            "moaas_unresponsive",
            "MOAA/S 0: loss of consciousness. Airway, breathing and oxygen saturation now; call the prescriber.",
            True,
            "clinical.md §3c 'Sedation / dissociation rates' row: MOAA/S = 0 = loss of consciousness (C)",
        ))
    else:
        assessment = classify_moaas(level, settings=settings)
        if assessment.deep:
            flags.append(SafetyFlag("moaas_deep_sedation", assessment.message, True, DEEP_SEDATION_SOURCE))
    band = scale.band_for(level)
    detail = f"MOAA/S {level}: {MOAAS_LEVELS[level]} (lower = deeper sedation; level wording status U)."
    return _result(scale, complete=True, total=level, band=band, flags=tuple(flags), missing=(), detail=detail,
                   answered=clean)


_SCORERS = {
    "phq9": _score_phq9,
    "gad7": _score_plain,
    "madrs": _score_madrs,
    "cadss": _score_plain,
    "pcl5": _score_pcl5,
    "qids_sr16": _score_qids,
    "cssrs_screener": _score_cssrs,
    "moaas": _score_moaas,
}


def score(scale_code: str, answers: Mapping[str, Answer], settings: Mapping[str, object] | None = None) -> ScaleResult:
    """Score a form: total, band, subscores, safety flags and a human-readable account of how it was scored.

    ``answers`` maps item id (``q1``... or ``level`` for MOAA/S) to an integer option value, ``True``/``False``
    for yes/no items, or ``None`` for unanswered.  Raises :class:`ClinicalInputError` for an unknown scale or
    item or an out-of-range value.  Sources: each scale's ``source`` (clinical.md §4, §5a).
    """
    scale = get_scale(scale_code)
    clean = _validate(scale, answers)
    return _SCORERS[scale.code](scale, clean, settings)


def required_items(scale_code: str, answers: Mapping[str, Answer]) -> tuple[str, ...]:
    """Items that must be asked given the answers so far (the C-SSRS screener's skip logic; all items otherwise).

    C-SSRS flow (clinical.md §4 C-SSRS Screener row, C): ask 1 and 2; if 2 = yes ask 3, 4, 5 and 6; if 2 = no go
    to 6; if 6 = yes ask "within past 3 months?".
    """
    scale = get_scale(scale_code)
    clean = _validate(scale, answers)
    if scale.code == "cssrs_screener":
        return _cssrs_required(clean)
    return scale.item_ids
