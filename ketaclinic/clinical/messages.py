"""Self-harm language in a patient's secure message (pure; no Django).

A message a patient writes to the care team is read by a person, but not necessarily at once. When its text
contains words of suicide or self-harm, the portal shows crisis resources on the page that sent it and the clinic
raises an urgent task for the clinician on call (``ketaclinic/messaging/services.py``). This module only decides
whether the text contains such words.

The phrase list is this project's own, written to over-trigger rather than miss: it is not a validated screening
instrument and it does not grade risk. Negations are flagged too ("I'm not going to kill myself" still raises the
task): deciding what the patient meant is the clinician's job, not the parser's. The words follow the
suicidality items the clinic already acts on: PHQ-9 item 9 ("thoughts that you would be better off dead, or of
hurting yourself"; any endorsement starts a suicide-risk workflow, standard practice) and the C-SSRS screener's
items (wish to be dead, thoughts of killing oneself, method, intent, plan, behaviour). Showing crisis resources
wherever a patient writes free text follows the practice described in anchors.md [O11].
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SELF_HARM_SOURCE = (
    "clinical.md §4 PHQ-9 row (item 9 wording; a positive item 9 triggers a suicide-risk workflow: U, standard "
    "practice) and C-SSRS Screener row (items 1-6: wish to be dead, thoughts, method, intent, plan, behaviour: C); "
    "anchors.md [O11] (crisis resources wherever a patient writes free text). The phrase list itself is this "
    "project's, unvalidated and deliberately broad."
)
#: The reference's status for this rule (clinical.md letters): the routing is practice, the phrases are ours.
SELF_HARM_STATUS = "U"
#: The flag code of the urgent task a message raises (measures.SafetyTask.flag_code).
SELF_HARM_FLAG = "message_self_harm"
SELF_HARM_TASK_MESSAGE = (
    "A secure message from the patient contains words of suicide or self-harm. Read it now, contact the patient "
    "and assess risk (C-SSRS screener)."
)

#: Phrases matched as whole words after normalising the text (lower case, apostrophes dropped, anything but
#: letters and digits a space). Broad on purpose: a false alarm costs a clinician a minute, a miss costs more.
SELF_HARM_PHRASES: tuple[str, ...] = (
    # suicide, in its forms
    "suicide", "suicidal", "suicidality", "kill myself", "killing myself", "kill my self", "killed myself",
    "kms", "end my life", "ending my life", "end it all", "ending it all", "end it", "take my life",
    "take my own life", "taking my life", "off myself", "unalive", "unalive myself",
    "hang myself", "hanging myself", "shoot myself", "drown myself", "jump off", "jump in front",
    "overdose", "overdosing", "od on", "take all my pills", "take all the pills", "swallow all",
    # wish to be dead (C-SSRS item 1, PHQ-9 item 9)
    "better off dead", "better off without me", "want to die", "wanna die", "want to be dead",
    "wish i was dead", "wish i were dead", "wish i could die", "wish i wasnt alive", "wish i wasnt here",
    "dont want to be alive", "dont want to live", "do not want to live", "do not want to be alive",
    "dont want to be here anymore", "no reason to live", "nothing to live for", "not worth living",
    "life isnt worth", "cant go on", "can not go on", "cannot go on", "go to sleep and never wake up",
    "never wake up", "be dead", "rather be dead",
    # hurting oneself (PHQ-9 item 9)
    "hurt myself", "hurting myself", "harm myself", "harming myself", "self harm", "selfharm",
    "cut myself", "cutting myself", "burn myself", "burning myself", "injure myself",
    # plans and goodbyes (C-SSRS items 3-6)
    "plan to die", "a plan to kill", "goodbye forever", "final goodbye",
    "wrote a note", "suicide note", "give away my things",
)


@dataclass(frozen=True)
class SelfHarmFinding:
    """The phrases found (normalised, in list order); empty means none was found."""

    phrases: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.phrases)


_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lower case, accents and apostrophes dropped ("don't" reads "dont"), every run of anything but letters and
    digits one space, with a space at each end so a phrase matches whole words only."""
    # apostrophes first, so "don't" and "don’t" both read "dont"; then accents dropped
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text or ""))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return f" {_NOT_WORD.sub(' ', folded.lower()).strip()} "


_NORMALISED = tuple((p, normalise(p)) for p in SELF_HARM_PHRASES)


def self_harm_language(text: str) -> SelfHarmFinding:
    """The self-harm phrases in ``text`` (see the module: broad, negations included, a person reads the message).

    >>> self_harm_language("I'm not going to kill myself, don't worry").found
    True
    >>> self_harm_language("Can I move my Thursday appointment?").found
    False
    """
    haystack = normalise(text)
    return SelfHarmFinding(tuple(p for p, needle in _NORMALISED if needle in haystack))
