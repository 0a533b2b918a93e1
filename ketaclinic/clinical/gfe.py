"""Good Faith Estimates for uninsured and self-pay patients (No Surprises Act): when one is due, and when a bill
is far enough above it for the patient-provider dispute process.

Sources (read in the Federal Register text of the rule, 86 FR 55980, 7 October 2021, page 56136, and in two law
firms' summaries of 45 CFR 149.610(b)(1)(vi); status C for the three timing rules below):

* 45 CFR 149.610(b)(1)(vi)(A): a primary item or service scheduled at least 3 business days before the date it is
  to be furnished: the estimate is due not later than 1 business day after the date of scheduling;
* 149.610(b)(1)(vi)(B): scheduled at least 10 business days before: not later than 3 business days after the date
  of scheduling;
* 149.610(b)(1)(vi)(C): requested by the patient (or the patient asks about the cost of care): not later than 3
  business days after the date of the request.
* 45 CFR 149.620(b)(1)(iii) (the patient-provider dispute resolution section; the brief calls it "the same
  regulation", it is the next section of Part 149): a bill is "substantially in excess" of the estimate when it is
  at least $400 more than the expected charges the estimate lists for that provider. Status S: read in CMS's
  consumer notice and the summaries, not in the regulation's own text here.

Unconfirmed, and made conservative (status U):

* What a "business day" is for this section could not be read in the regulation's text here (the definitions of
  149.610(a)(2) read in 86 FR 56135-6 list none; a reading often given is "a day the convening provider is open to
  furnish items or services", not confirmed). Two readings are therefore both applied, each where it is the
  stricter one, when the caller gives the clinic's open weekdays (``open_weekdays``):

  - the deadline (``due_on``) counts a day when EITHER reading counts it: every day the clinic is open (its
    working weekdays, holidays included: the project has no record of the clinic closing on a holiday) and every
    Monday to Friday that is not a US federal holiday. More days counted give the earlier deadline;
  - how far ahead the service was scheduled (3 or 10 business days) counts a day only when BOTH readings count
    it. Fewer days counted put the booking under the shorter, stricter deadline.

  Without ``open_weekdays`` both counts are Monday to Friday without US federal holidays and their observed days
  (the calendar ``custody.is_business_day`` uses). :func:`estimate_due` never lets a deadline fall after the day
  the service is furnished.
* An item scheduled fewer than 3 business days ahead has no deadline in (A)-(C). Taken conservatively: due on the
  day of scheduling (and never after the service).
* Where both (A) and (B) apply (10 or more business days ahead) the rule's own structure gives (B); that reading
  is CMS's too (the consumer notice: "at least 10 business days in advance ... within 3 business days").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from . import custody
from .custody import is_business_day

SOURCE_TIMING = "45 CFR 149.610(b)(1)(vi)(A)-(C); 86 FR 56136 (2021-10-07)"
SOURCE_DISPUTE = "45 CFR 149.620(b)(1)(iii): at least $400 above the estimate (status S: CMS consumer notice)"
#: The dispute threshold in cents: a bill at least this much above the estimate's expected charges.
DISPUTE_THRESHOLD_CENTS = 40_000


class Reason(StrEnum):
    SCHEDULED = "scheduled"
    REQUESTED = "requested"


@dataclass(frozen=True)
class GfeDue:
    """When an estimate is due: ``due_on`` (the last day it may be given), the rule that set it, and why."""

    due_on: date
    rule: str
    explanation: str
    source: str = SOURCE_TIMING


Weekdays = frozenset[int] | None


def _counts_for_due(d: date, open_weekdays: Weekdays) -> bool:
    return is_business_day(d) or (open_weekdays is not None and d.weekday() in open_weekdays)


def _counts_for_ahead(d: date, open_weekdays: Weekdays) -> bool:
    return is_business_day(d) and (open_weekdays is None or d.weekday() in open_weekdays)


def business_days_between(start: date, end: date, open_weekdays: Weekdays = None) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``), counted
    narrowly (a day both readings count: see the module's notes)."""
    if end <= start:
        return 0
    n = 0
    d = start
    while d < end:
        d += timedelta(days=1)
        if _counts_for_ahead(d, open_weekdays):
            n += 1
    return n


def add_business_days(day: date, n: int, open_weekdays: Weekdays = None) -> date:
    """``n`` business days after ``day`` (the day itself does not count, even when it is a business day), counted
    widely (a day either reading counts: the earlier deadline)."""
    return custody.add_business_days(day, n, counts=lambda d: _counts_for_due(d, open_weekdays))


def estimate_due(*, reason: Reason | str, asked_on: date, service_on: date | None = None,
                 open_weekdays: Weekdays = None) -> GfeDue:
    """The last day a Good Faith Estimate may be given.

    ``asked_on`` is the date of scheduling (``reason`` "scheduled") or of the patient's request ("requested");
    ``service_on`` is the day the primary item or service is scheduled to be furnished (needed when scheduled).
    ``open_weekdays`` are the clinic's open weekdays (0 = Monday); see the module's notes for how they count.
    Dates are the clinic's calendar days; the clock time of the booking does not matter."""
    reason = Reason(reason)
    if reason is Reason.REQUESTED:
        due = add_business_days(asked_on, 3, open_weekdays)
        if service_on is not None and service_on < due:
            due = max(asked_on, service_on)
            return GfeDue(due, "requested", "Requested by the patient: 3 business days, but the service comes first, "
                                            "so before the service.")
        return GfeDue(due, "requested", "Requested by the patient: within 3 business days of the request.")
    if service_on is None:
        raise ValueError("a scheduled service needs the day it is furnished")
    ahead = business_days_between(asked_on, service_on, open_weekdays)
    if ahead >= 10:
        due, rule, text = add_business_days(asked_on, 3, open_weekdays), "10_days_ahead", \
            f"Scheduled {ahead} business days ahead (10 or more): within 3 business days of scheduling."
    elif ahead >= 3:
        due, rule, text = add_business_days(asked_on, 1, open_weekdays), "3_days_ahead", \
            f"Scheduled {ahead} business days ahead (3 to 9): within 1 business day of scheduling."
    else:
        due, rule, text = asked_on, "under_3_days", \
            (f"Scheduled {ahead} business day(s) ahead (under 3): the rule sets no deadline; given the day it is "
             "scheduled (the project's conservative reading).")
    if due > service_on:
        due = max(asked_on, service_on)
    return GfeDue(due, rule, text)


def exceeds_estimate(*, billed_cents: int, estimated_cents: int) -> bool:
    """Whether what was billed is at least $400 above the estimate (the patient may start the patient-provider
    dispute resolution process: :data:`SOURCE_DISPUTE`)."""
    return billed_cents - estimated_cents >= DISPUTE_THRESHOLD_CENTS


DISPUTE_NOTICE = (
    "You have the right to receive a Good Faith Estimate explaining how much your medical care will cost. If you "
    "receive a bill that is at least $400 more than your Good Faith Estimate, you can dispute the bill. You may "
    "start a dispute resolution process with the U.S. Department of Health and Human Services (HHS) within 120 "
    "calendar days of the date on the original bill; there is a $25 fee to use it. Make sure to save a copy or "
    "picture of this Good Faith Estimate. For questions or more information about your right to a Good Faith "
    "Estimate, visit www.cms.gov/nosurprises or call 1-800-985-3059. This estimate is not a contract and does not "
    "require you to obtain the items or services from any of the providers or facilities listed."
)
#: The 120-day window and the $25 fee are from CMS's published standard notice (status S, not read in the
#: regulation here); the clinic's compliance lead checks the wording against CMS's current form before use.
DISPUTE_NOTICE_SOURCE = "CMS standard Good Faith Estimate notice (www.cms.gov/nosurprises); status S"

#: The statements 45 CFR 149.610(c) requires on the estimate besides the dispute notice above, worded as in CMS's
#: standard Good Faith Estimate form (status S: the form's wording, not read in the regulation's text here).
GFE_DISCLAIMERS = (
    "This Good Faith Estimate shows the costs of items and services that are reasonably expected for your health "
    "care needs for an item or service. The estimate is based on information known at the time the estimate was "
    "created.",
    "The Good Faith Estimate does not include any unknown or unexpected costs that may arise during treatment. You "
    "could be charged more if complications or special circumstances occur.",
    "There may be additional items or services the provider or facility recommends as part of the course of care "
    "that must be scheduled or requested separately and are not reflected in this Good Faith Estimate.",
    "The Good Faith Estimate is not a contract and does not require you to obtain the items or services from any "
    "of the providers or facilities listed.",
)
