"""Demo secure messages (synthetic): the demo's journey patient (scheduling.demo.journey_accounts) and the care team exchange messages about an
upcoming visit, the nurse attaches a preparation checklist (a PDF made here), and each side has read the other's
messages (read receipts set through the service, as opening the conversation sets them)."""

from __future__ import annotations

from fpdf import FPDF

from ketaclinic.audit.services import Actor
from ketaclinic.messaging import services
from ketaclinic.messaging.models import Thread
from ketaclinic.scheduling.demo import journey_accounts


def checklist_pdf() -> bytes:
    """A one-page synthetic preparation checklist (no clinical number the reference does not give)."""
    pdf = FPDF(format="Letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 10, "Visit checklist (synthetic demo document)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in ("Bring someone who can take you home.", "Do not drive until the next day, after a restful sleep.",
                 "Follow the eating and drinking instructions your clinic gave you.",
                 "Call the clinic if anything worries you. In a crisis, call or text 988."):
        pdf.multi_cell(0, 7, f"- {line}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def seed(ctx) -> None:
    # the demo's journey patient: the one the reminders demo texts and who books a follow-up in the portal
    account = next((a for a in journey_accounts(ctx.clinic) if a.user.is_demo), None)
    if account is None or Thread.objects.filter(patient=account.patient).exists():
        return
    patient = account.patient
    patient_actor = Actor(user=account.user, roles=frozenset({"patient"}))
    nurse = ctx.users["nurse"]
    nurse_actor = Actor.for_user(nurse)
    sent = services.start_thread.within(
        actor=patient_actor, patient=patient, subject="Question about my next visit",
        body="Hello, can my partner drive me home after my next session? Do I need to bring anything?")
    thread = sent.message.thread
    services.mark_read.within(actor=nurse_actor, thread=thread)
    services.reply.within(
        actor=nurse_actor, thread=thread,
        body="Yes, any adult who can take you home is fine. The checklist for the day is attached.",
        upload=services.Upload(data=checklist_pdf(), name="Visit checklist.pdf", size=len(checklist_pdf())))
    services.mark_read.within(actor=patient_actor, thread=thread)
    services.reply.within(actor=patient_actor, thread=thread, body="Thank you, that helps.")
    # the last one waits unread in the care team's inbox, so the demo shows an unread count
    prescriber = ctx.users["prescriber"]
    services.start_thread.within(
        actor=Actor.for_user(prescriber), patient=patient, subject="Your questionnaire",
        body="Thank you for completing your questionnaire. Please fill in the next one before your follow-up.")
