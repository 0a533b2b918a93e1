"""The clinical core's self-harm phrase check (ketaclinic/clinical/messages.py): plain statements flag, negations
still flag (a person reads them), and everyday clinic messages do not."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.messages import (
    SELF_HARM_FLAG,
    SELF_HARM_PHRASES,
    SELF_HARM_SOURCE,
    SELF_HARM_STATUS,
    normalise,
    self_harm_language,
)


@pytest.mark.parametrize("text", [
    "I want to kill myself",
    "I've been thinking about suicide",
    "Feeling SUICIDAL again tonight",
    "Sometimes I think everyone would be better off without me",
    "I'd be better off dead",
    "I wish I was dead",
    "I don’t want to be alive anymore",  # a curly apostrophe, as phones type it
    "I dont want to live like this",
    "I keep wanting to hurt myself",
    "I cut myself last night",
    "thinking about self-harm",
    "I could take all my pills",
    "I just want to end it all",
    "There is no reason to live",
])
def test_plain_statements_of_self_harm_flag(text):
    assert self_harm_language(text).found, text


@pytest.mark.parametrize("text", [
    "I'm not going to kill myself, don't worry",
    "I am not suicidal",
    "I would never hurt myself",
    "No thoughts of suicide this week",
])
def test_negations_still_flag_because_a_person_must_read_them(text):
    assert self_harm_language(text).found, text


@pytest.mark.parametrize("text", [
    "Can I move my Thursday appointment to Friday?",
    "My ride will pick me up at 3 pm.",
    "I felt a bit nauseous after the infusion but it passed.",
    "Attached is my insurance card.",
    "The skills group was helpful, thank you!",
    "",
])
def test_everyday_messages_do_not_flag(text):
    assert not self_harm_language(text).found, self_harm_language(text)


def test_phrases_match_whole_words_only():
    assert not self_harm_language("I want to skill myself up in meditation").found
    assert self_harm_language("kill. myself").found  # punctuation between the words does not hide them


def test_the_finding_names_what_it_found_in_list_order():
    finding = self_harm_language("I'm suicidal and want to hurt myself")
    assert finding.phrases == ("suicidal", "hurt myself")


def test_normalise_folds_case_accents_and_apostrophes():
    assert normalise("Don’t  KILL—myself!") == " dont kill myself "
    assert normalise("Suicídio") == " suicidio "


def test_rule_is_cited_with_its_status_and_every_phrase_is_already_normal():
    assert "clinical.md" in SELF_HARM_SOURCE and "PHQ-9" in SELF_HARM_SOURCE and "C-SSRS" in SELF_HARM_SOURCE
    assert SELF_HARM_STATUS in {"C", "S", "U"}
    assert SELF_HARM_FLAG == "message_self_harm"
    assert all(normalise(p).strip() == p for p in SELF_HARM_PHRASES)
