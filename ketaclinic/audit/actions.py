"""Every action the app writes to the audit trail, as one enum.

``audit.record`` refuses any other action: an unknown action is a programming error, not a new kind of entry.
The values are the strings stored in ``AuditEntry.action`` since the start, so stored rows and the compliance
search keep matching; never change a value (add a member instead). Members are grouped by the app that writes them.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # --- Sign-in, staff accounts and the Django admin (accounts)
    AUTH_SIGN_IN = "auth.sign_in"
    AUTH_SIGN_IN_FAILED = "auth.sign_in.failed"
    AUTH_SIGN_IN_LOCKED = "auth.sign_in.locked"
    AUTH_SIGN_OUT = "auth.sign_out"
    AUTH_PASSWORD_CHANGED = "auth.password_changed"
    AUTH_PASSWORD_ACCEPTED = "auth.password_accepted"  # at sign-in; the second factor comes next
    AUTH_SIGN_IN_UNLOCKED = "auth.sign_in.unlocked"
    AUTH_SECOND_FACTOR_REFUSED = "auth.second_factor.refused"
    AUTH_SECOND_FACTOR_ENROLLED = "auth.second_factor.enrolled"
    AUTH_PASSKEY_ADDED = "auth.passkey.added"
    AUTH_PASSKEY_REMOVED = "auth.passkey.removed"
    AUTH_REAUTHENTICATION_REFUSED = "auth.reauthentication.refused"
    AUTH_SECOND_FACTOR_REMOVED = "auth.second_factor.removed"
    AUTH_PASSWORD_CHANGE_REFUSED = "auth.password_change.refused"
    AUTH_PASSWORD_RESET_REQUESTED = "auth.password_reset.requested"
    AUTH_PASSWORD_RESET_REFUSED = "auth.password_reset.refused"
    AUTH_PASSWORD_RESET_DONE = "auth.password_reset.done"
    STAFF_CREATED = "staff.created"
    STAFF_ROLE_GRANTED = "staff.role_granted"  # a role at a clinic of the network, given to a staff member
    CLINIC_SWITCHED = "clinic.switched"  # a person who works at several clinics of the network chose one
    ADMIN_USER_ADDED = "admin.user.added"
    ADMIN_USER_CHANGED = "admin.user.changed"
    ADMIN_ROOM_ADDED = "admin.room.added"
    ADMIN_ROOM_CHANGED = "admin.room.changed"
    ADMIN_CONSENTDOCUMENT_ADDED = "admin.consentdocument.added"
    ADMIN_CONSENTDOCUMENT_CHANGED = "admin.consentdocument.changed"

    # --- The audit trail itself (crossapp audit search)
    AUDIT_SEARCHED = "audit.searched"
    # a synthetic demo record's times moved into the past after it was signed, and sealed again (seals.py)
    DEMO_RECORD_BACKDATED = "demo.record.backdated"
    # a signed record of the demo's synthetic history, written directly by the demo loader, sealed as such
    DEMO_HISTORY_SEALED = "demo.history.sealed"
    RECORD_BASELINE_SEALED = "record.baseline.sealed"  # seal_baseline: a record written before its kind was sealed
    # every encrypted note re-encrypted under the current key of NOTE_KEYS (ketaclinic/encryption.py)
    SECURITY_NOTE_KEYS_ROTATED = "security.note_keys.rotated"

    # --- Clinic settings and rooms (clinic)
    CLINIC_UPDATED = "clinic.updated"
    CLINIC_OPENED = "clinic.opened"  # another clinic (location) of the network, with its first clinic admin
    CLINIC_LIMITS_UPDATED = "clinic.limits.updated"
    CLINIC_ROOM_ADDED = "clinic.room.added"

    # --- Patients and their charts (patients, api)
    PATIENT_REGISTERED = "patient.registered"
    PATIENT_UPDATED = "patient.updated"
    PATIENT_MEASUREMENT_RECORDED = "patient.measurement.recorded"
    PATIENT_MEASUREMENT_ENTERED_IN_ERROR = "patient.measurement.entered_in_error"
    PATIENT_DIAGNOSIS_ADDED = "patient.diagnosis.added"
    PATIENT_DIAGNOSIS_ENTERED_IN_ERROR = "patient.diagnosis.entered_in_error"
    PATIENT_SEARCH = "patient.search"
    PATIENT_CHART_VIEWED = "patient.chart.viewed"
    PATIENT_DEMOGRAPHICS_VIEWED = "patient.demographics.viewed"
    PATIENT_BULK_GENERATED = "patient.bulk_generated"
    # care team and break-glass access (issue 17): a record outside one's care team opened with a reason
    PATIENT_CARE_TEAM_ADDED = "patient.care_team.added"
    PATIENT_CARE_TEAM_ENDED = "patient.care_team.ended"
    PATIENT_OUTSIDE_CARE_TEAM_REFUSED = "patient.outside_care_team.refused"
    PATIENT_BREAK_GLASS_OPENED = "patient.break_glass.opened"
    PATIENT_BREAK_GLASS_REVIEWED = "patient.break_glass.reviewed"
    PATIENT_BREAK_GLASS_REVIEWS_VIEWED = "patient.break_glass.reviews_viewed"

    # --- Consultation and eligibility (screening)
    CONSULT_STARTED = "consult.started"
    CONSULT_INTAKE_UPDATED = "consult.intake.updated"
    CONSULT_TRIAL_ADDED = "consult.trial.added"
    CONSULT_SCALE_RECORDED = "consult.scale.recorded"
    CONSULT_VIEWED = "consult.viewed"
    ELIGIBILITY_ASSESSED = "eligibility.assessed"
    ELIGIBILITY_SIGNED = "eligibility.signed"
    ELIGIBILITY_ABSOLUTE_RETRACTED = "eligibility.absolute.retracted"

    # --- Outcome measures (measures)
    MEASURES_ON_CALL_SET = "measures.on_call.set"
    MEASURES_ADMINISTRATION_STARTED = "measures.administration.started"
    MEASURES_ADMINISTRATION_SUBMITTED = "measures.administration.submitted"
    MEASURES_ADMINISTRATION_DRAFT_SAVED = "measures.administration.draft_saved"
    MEASURES_ADMINISTRATION_ENTERED_IN_ERROR = "measures.administration.entered_in_error"
    MEASURES_ADMINISTRATION_VIEWED = "measures.administration.viewed"
    MEASURES_SAFETY_TASK_OPENED = "measures.safety_task.opened"
    MEASURES_SAFETY_TASK_ACKNOWLEDGED = "measures.safety_task.acknowledged"
    MEASURES_SAFETY_TASK_VIEWED = "measures.safety_task.viewed"
    MEASURES_BOOSTER_PROMPT_OPENED = "measures.booster_prompt.opened"
    MEASURES_BOOSTER_PROMPT_RESOLVED = "measures.booster_prompt.resolved"
    MEASURES_SCHEDULE_DEFAULTS_APPLIED = "measures.schedule.defaults_applied"
    MEASURES_SCHEDULE_UPDATED = "measures.schedule.updated"
    MEASURES_SCHEDULE_VIEWED = "measures.schedule.viewed"
    MEASURES_REMINDER_SENT = "measures.reminder.sent"
    MEASURES_REMINDER_SKIPPED = "measures.reminder.skipped"  # the address on the patient's details is not one address
    MEASURES_WORKLIST_VIEWED = "measures.worklist.viewed"
    MEASURES_TRAJECTORY_VIEWED = "measures.trajectory.viewed"

    # --- Integration sessions (integration); completed/declined/cancelled are IntegrationSession.Status values
    INTEGRATION_OFFERED = "integration.offered"
    INTEGRATION_BOOKED = "integration.booked"
    INTEGRATION_COMPLETED = "integration.completed"
    INTEGRATION_DECLINED = "integration.declined"
    INTEGRATION_CANCELLED = "integration.cancelled"
    INTEGRATION_NOTE_WRITTEN = "integration.note.written"
    INTEGRATION_NOTE_VIEWED = "integration.note.viewed"
    INTEGRATION_SESSION_VIEWED = "integration.session.viewed"

    # --- Patient portal (portal): invitations, sign-in codes, and one entry per portal page
    PORTAL_INVITATION_CREATED = "portal.invitation.created"
    PORTAL_INVITATION_REFUSED = "portal.invitation.refused"
    PORTAL_ACCOUNT_CREATED = "portal.account.created"
    PORTAL_SIGN_IN_CODE_SENT = "portal.sign_in_code.sent"
    PORTAL_SIGN_IN_CODE_ACCEPTED = "portal.sign_in_code.accepted"
    PORTAL_SIGN_IN_CODE_REFUSED = "portal.sign_in_code.refused"
    PORTAL_NOT_FOUND = "portal.not_found"
    PORTAL_HOME_VIEWED = "portal.home.viewed"
    PORTAL_QUESTIONNAIRES_VIEWED = "portal.questionnaires.viewed"
    PORTAL_QUESTIONNAIRE_STARTED = "portal.questionnaire.started"
    PORTAL_QUESTIONNAIRE_OPENED = "portal.questionnaire.opened"
    PORTAL_QUESTIONNAIRE_RESULT_VIEWED = "portal.questionnaire.result_viewed"
    PORTAL_PROGRESS_VIEWED = "portal.progress.viewed"
    PORTAL_VISITS_VIEWED = "portal.visits.viewed"
    PORTAL_VISIT_INSTRUCTIONS_DOWNLOADED = "portal.visit_instructions.downloaded"
    PORTAL_PASSWORD_PAGE_VIEWED = "portal.password_page.viewed"
    # self-scheduling in the portal (issue 18); the bookings are appointment.* with "via": "portal"
    PORTAL_APPOINTMENTS_VIEWED = "portal.appointments.viewed"
    PORTAL_BOOKING_VIEWED = "portal.booking.viewed"
    PORTAL_APPOINTMENT_CHANGE_VIEWED = "portal.appointment_change.viewed"
    # research use of the patient's own de-identified data (issue 15): their page in the portal; each decision is
    # research.consent.recorded, "how": "portal"
    PORTAL_RESEARCH_VIEWED = "portal.research.viewed"
    SCHEDULING_PORTAL_RULES_SET = "scheduling.portal_rules.set"
    # education pages in the portal (issue 18): versions written, approved by a prescriber, read by patients
    PORTAL_LEARN_VIEWED = "portal.learn.viewed"
    PORTAL_LEARN_PAGE_VIEWED = "portal.learn_page.viewed"
    EDUCATION_SHIPPED = "education.shipped"  # the project's text installed as each page's first version
    EDUCATION_VERSION_WRITTEN = "education.version.written"
    EDUCATION_VERSION_APPROVED = "education.version.approved"

    # --- Controlled-substance custody (custody); waste/destroy are PendingEvent.Kind values, routine/initial/biennial Count.Kind values
    CUSTODY_SUPPLIER_ADDED = "custody.supplier.added"
    CUSTODY_PRODUCT_ADDED = "custody.product.added"
    CUSTODY_LOCATION_ADDED = "custody.location.added"
    CUSTODY_RECEIPT_ENTERED = "custody.receipt.entered"
    CUSTODY_RECEIPT_COUNTERSIGNED = "custody.receipt.countersigned"
    CUSTODY_DRAW = "custody.draw"
    CUSTODY_ADMINISTRATION_RECORDED = "custody.administration.recorded"
    CUSTODY_ENTRY_REVERSED = "custody.entry.reversed"
    CUSTODY_RETURNED = "custody.returned"
    CUSTODY_WASTE_REQUESTED = "custody.waste.requested"
    CUSTODY_WASTE_WITNESSED = "custody.waste.witnessed"
    CUSTODY_WASTE_POSTED = "custody.waste.posted"
    CUSTODY_WASTE_WITHDRAWN = "custody.waste.withdrawn"
    CUSTODY_DESTRUCTION_REQUESTED = "custody.destruction.requested"
    CUSTODY_DESTROY_WITNESSED = "custody.destroy.witnessed"
    CUSTODY_DESTROY_POSTED = "custody.destroy.posted"
    CUSTODY_DESTROY_WITHDRAWN = "custody.destroy.withdrawn"
    CUSTODY_COUNT_ROUTINE = "custody.count.routine"
    CUSTODY_COUNT_INITIAL = "custody.count.initial"
    CUSTODY_COUNT_BIENNIAL = "custody.count.biennial"
    CUSTODY_INCIDENT_OPENED = "custody.incident.opened"
    CUSTODY_INCIDENT_RESOLVED = "custody.incident.resolved"
    CUSTODY_LOSS_REPORTED = "custody.loss.reported"
    CUSTODY_LOSS_UPDATED = "custody.loss.updated"
    CUSTODY_WASTE_VIEWED = "custody.waste.viewed"
    CUSTODY_SESSION_VIEWED = "custody.session.viewed"
    CUSTODY_CONTAINER_VIEWED = "custody.container.viewed"
    CUSTODY_LEDGER_VIEWED = "custody.ledger.viewed"
    CUSTODY_RECONCILIATION_EXPORTED = "custody.reconciliation.exported"
    CUSTODY_DISPENSING_RECORD_VIEWED = "custody.dispensing_record.viewed"
    CUSTODY_INVENTORY_RECORD_VIEWED = "custody.inventory_record.viewed"

    # --- Orders (treatments)
    ORDER_WRITTEN = "order.written"
    ORDER_SIGNED = "order.signed"
    ORDER_STOPPED = "order.stopped"
    ORDER_VIEWED = "order.viewed"
    ORDER_TITRATION_PLANNED = "order.titration.planned"

    # --- Treatment sessions (treatments); session.dose.<kind> are the SessionEvent.Kind values dosing_event records, session.note.signed.<role> the two signing roles
    SESSION_BOOKED = "session.booked"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_CHECKED_IN = "session.checked_in"
    SESSION_CONSENT_SIGNED = "session.consent.signed"
    SESSION_PRECHECKS_SAVED = "session.prechecks.saved"
    SESSION_WEIGHT_CONFIRMED = "session.weight.confirmed"
    SESSION_PREDOSE_HOLD_OVERRIDDEN = "session.predose_hold.overridden"
    SESSION_DOSE_SIGNED = "session.dose.signed"
    SESSION_DOSE_PREPARED = "session.dose.prepared"
    SESSION_DOSE_VERIFICATION_REFUSED = "session.dose.verification_refused"
    SESSION_DOSE_VERIFIED = "session.dose.verified"
    SESSION_DOSE_STARTED = "session.dose.started"
    SESSION_DOSE_PAUSE = "session.dose.pause"
    SESSION_DOSE_RESUME = "session.dose.resume"
    SESSION_DOSE_RATE = "session.dose.rate"
    SESSION_DOSE_DEVICE = "session.dose.device"
    SESSION_DOSE_STOP = "session.dose.stop"
    SESSION_DOSE_PUMP_PAUSE_CONFIRMED = "session.dose.pump_pause_confirmed"
    SESSION_DOSE_RESUME_OVERRIDDEN = "session.dose.resume_overridden"
    SESSION_DOSE_PAUSED_AUTOMATICALLY = "session.dose.paused_automatically"
    SESSION_VITALS_RECORDED = "session.vitals.recorded"
    SESSION_ADVERSE_EVENT_RECORDED = "session.adverse_event.recorded"
    SESSION_ADVERSE_EVENT_RESOLVED = "session.adverse_event.resolved"
    SESSION_RATING_RECORDED = "session.rating.recorded"
    SESSION_OBSERVATION_RECORDED = "session.observation.recorded"
    SESSION_RECOVERY_RECORDED = "session.recovery.recorded"
    SESSION_DISCHARGED = "session.discharged"
    SESSION_TRANSFERRED_TO_EMERGENCY = "session.transferred_to_emergency"
    SESSION_NOTE_SIGNATURE_REFUSED = "session.note.signature_refused"
    SESSION_NOTE_SIGNED_NURSE = "session.note.signed.nurse"
    SESSION_NOTE_SIGNED_PRESCRIBER = "session.note.signed.prescriber"
    SESSION_ADDENDUM_ADDED = "session.addendum.added"
    SESSION_ALERT_ACKNOWLEDGED = "session.alert.acknowledged"
    SESSION_ALERT_SEEN_BY_PRESCRIBER = "session.alert.seen_by_prescriber"
    SESSION_REMS_UPDATED = "session.rems.updated"
    SESSION_COCKPIT_VIEWED = "session.cockpit.viewed"
    SESSION_VERIFY_VIEWED = "session.verify.viewed"
    SESSION_DISCHARGE_INSTRUCTIONS_PRINTED = "session.discharge_instructions.printed"

    # --- Informed-consent documents (treatments)
    CONSENT_DOCUMENT_ADDED = "consent.document.added"

    # --- Esketamine REMS (treatments)
    REMS_FORM_SUBMITTED = "rems.form.submitted"
    REMS_FORM_EXPORTED = "rems.form.exported"
    REMS_DUE_LIST_VIEWED = "rems.due_list.viewed"

    # --- The session record, printed or as a PDF (crossapp)
    SESSION_RECORD_VIEWED = "session.record.viewed"
    SESSION_RECORD_PDF_EXPORTED = "session.record.pdf_exported"

    # --- The front desk's calendar (scheduling)
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    SCHEDULING_HOURS_SET = "scheduling.hours.set"
    SCHEDULING_AVAILABILITY_SET = "scheduling.availability.set"
    SCHEDULING_TYPE_UPDATED = "scheduling.type.updated"
    SCHEDULING_DAY_CLOSED = "scheduling.day.closed"  # a working weekday the clinic is closed (a holiday, say)
    SCHEDULING_DAY_REOPENED = "scheduling.day.reopened"
    WAITLIST_ADDED = "waitlist.added"
    WAITLIST_REMOVED = "waitlist.removed"
    WAITLIST_BOOKED = "waitlist.booked"

    # --- Billing: prices, packages, estimates, invoices, payments, superbills (billing)
    BILLING_PROFILE_UPDATED = "billing.profile.updated"  # NPI, tax ID, place of service, refund rule, fee window
    BILLING_PRICE_SET = "billing.price.set"  # a new price version of a service
    BILLING_PACKAGE_OFFER_ADDED = "billing.package_offer.added"
    BILLING_PACKAGE_OFFER_RETIRED = "billing.package_offer.retired"
    BILLING_PACKAGE_SOLD = "billing.package.sold"
    BILLING_PACKAGE_DRAWN = "billing.package.drawn"  # one session paid from a prepaid package
    BILLING_PACKAGE_REFUNDED = "billing.package.refunded"  # unused sessions refunded by the clinic's rule
    BILLING_ESTIMATE_DUE = "billing.estimate.due"  # a Good Faith Estimate is owed (scheduled or requested)
    BILLING_ESTIMATE_ISSUED = "billing.estimate.issued"
    BILLING_ESTIMATE_WITHDRAWN = "billing.estimate.withdrawn"
    BILLING_INVOICE_ISSUED = "billing.invoice.issued"
    BILLING_INVOICE_VOIDED = "billing.invoice.voided"
    BILLING_PAYMENT_TAKEN = "billing.payment.taken"
    BILLING_REFUND_GIVEN = "billing.refund.given"
    BILLING_ACCOUNT_VIEWED = "billing.account.viewed"  # a patient's account (balance, statement) opened by staff
    BILLING_INVOICE_VIEWED = "billing.invoice.viewed"
    BILLING_SUPERBILL_PRINTED = "billing.superbill.printed"
    BILLING_SUPERBILL_EXPORTED = "billing.superbill.exported"  # the accountant's CSV
    BILLING_PORTAL_VIEWED = "billing.portal.viewed"  # the patient's own billing page in the portal
    BILLING_PORTAL_INVOICE_VIEWED = "billing.portal.invoice_viewed"
    BILLING_PORTAL_ESTIMATE_VIEWED = "billing.portal.estimate_viewed"
    BILLING_PORTAL_SUPERBILL_DOWNLOADED = "billing.portal.superbill_downloaded"

    # --- Secure messages between a patient and the care team (messaging)
    MESSAGING_THREAD_STARTED = "messaging.thread.started"
    MESSAGING_MESSAGE_SENT = "messaging.message.sent"  # with its attachment's type, size and hash, if any
    MESSAGING_MESSAGE_READ = "messaging.message.read"  # the read receipt: the other side opened it, once
    MESSAGING_CRISIS_ROUTED = "messaging.crisis.routed"  # words of self-harm: crisis resources shown, task raised
    MESSAGING_INBOX_VIEWED = "messaging.inbox.viewed"
    MESSAGING_THREAD_VIEWED = "messaging.thread.viewed"
    MESSAGING_ATTACHMENT_DOWNLOADED = "messaging.attachment.downloaded"
    MESSAGING_PORTAL_MESSAGES_VIEWED = "messaging.portal.messages_viewed"
    MESSAGING_PORTAL_THREAD_VIEWED = "messaging.portal.thread_viewed"
    MESSAGING_PORTAL_ATTACHMENT_DOWNLOADED = "messaging.portal.attachment_downloaded"

    # --- Reminders by e-mail and SMS, and the replies to them (reminders)
    REMINDER_SENT = "reminder.sent"
    REMINDER_FAILED = "reminder.failed"  # refused by the mail or SMS provider: tried again, or given up at the cap
    REMINDER_CONSENT_RECORDED = "reminder.consent.recorded"  # a channel allowed or withdrawn (staff, STOP/START)
    REMINDER_TIME_ZONE_SET = "reminder.time_zone.set"
    REMINDER_SETTINGS_UPDATED = "reminder.settings.updated"
    REMINDER_RIDE_REPLIED = "reminder.ride.replied"  # YES/NO to a ride confirmation, recorded on the session
    REMINDER_PATIENT_VIEWED = "reminder.patient.viewed"

    # --- The FHIR facade and its backend clients (fhir)
    FHIR_CLIENT_REGISTERED = "fhir.client.registered"
    FHIR_CLIENT_REVOKED = "fhir.client.revoked"
    FHIR_TOKEN_ISSUED = "fhir.token.issued"
    FHIR_TOKEN_REFUSED = "fhir.token.refused"
    FHIR_READ = "fhir.read"  # read, vread, history: one entry per request, with the client's identity
    FHIR_SEARCHED = "fhir.searched"
    FHIR_CREATED = "fhir.created"
    FHIR_IMPORTED = "fhir.imported"  # a transaction Bundle loaded, all of it
    FHIR_IMPORT_REFUSED = "fhir.import.refused"  # a transaction Bundle refused: nothing of it written
    FHIR_EXPORT_STARTED = "fhir.export.started"
    FHIR_EXPORT_COMPLETED = "fhir.export.completed"
    FHIR_EXPORT_CANCELLED = "fhir.export.cancelled"
    FHIR_EXPORT_DOWNLOADED = "fhir.export.downloaded"

    # --- Backups and restores (crossapp: manage.py backup / restore)
    BACKUP_MADE = "backup.made"  # with the chain heads the backup holds and its file's SHA-256
    BACKUP_RESTORED = "backup.restored"  # written into the restored database once every chain and seal verified

    # --- Reports and the research export (reports)
    REPORT_VIEWED = "report.viewed"  # an outcomes, safety, operations or money report, with its filters
    REPORT_EXPORTED = "report.exported"  # a report's table as CSV, with its filters
    REPORT_JOB_STARTED = "report.job.started"  # a background export asked for (research export, whole report)
    REPORT_JOB_DOWNLOADED = "report.job.downloaded"
    RESEARCH_CONSENT_RECORDED = "research.consent.recorded"  # a patient's yes or no to research use, or withdrawal
    RESEARCH_CONSENT_VIEWED = "research.consent.viewed"  # a patient's research consent page and history read
    RESEARCH_EXPORT_MADE = "research.export.made"  # the de-identified export written: patients in, cells suppressed
    RESEARCH_EXPORT_REVOKED = "research.export.revoked"  # its file deleted: a refusal or withdrawal came after it

    @property
    def domain(self) -> str:
        """The first part of the value ("custody" for "custody.draw"): the search offers each domain as a whole."""
        return self.value.split(".", 1)[0]
