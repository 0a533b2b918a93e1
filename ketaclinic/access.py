"""Who may use which page: the whole access policy of KetaClinic, in one place.

Deny by default. Every URL name in the project must appear here (a test enforces it); a view
that is not listed answers 403 to everyone. Keys are URL names (``namespace:name``); a key ending
in ``:*`` covers a whole namespace. ``AccessPolicyMiddleware`` applies this table to every request,
and ``manage.py access_matrix`` prints it as a role-by-page matrix for review.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaclinic.accounts.roles import ALL_STAFF, CLINICAL, MEDICAL, Role

P, N, T = Role.PRESCRIBER, Role.NURSE, Role.THERAPIST
FD, BI, CO, AD = Role.FRONT_DESK, Role.BILLING, Role.COMPLIANCE, Role.CLINIC_ADMIN


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] = frozenset()
    public: bool = False  # no sign-in needed (sign-in page, health check)
    any_signed_in: bool = False  # any signed-in person, staff or patient (sign-out)
    patient: bool = False  # a patient signed in to the portal (their own data only)
    # a registered FHIR backend client with a bearer token: the view checks the token (ketaclinic/fhir/auth.py);
    # no session identity (staff, patient) gets in
    backend_client: bool = False

    def describe(self) -> str:
        if self.backend_client:
            return "a registered backend client with a bearer token (no staff or patient sign-in)"
        if self.public:
            return "anyone"
        if self.any_signed_in:
            return "any signed-in user"
        if self.patient:
            return "the patient (own record only)"
        return ", ".join(sorted(Role(r).label for r in self.roles))


def staff(*roles: str | frozenset[str]) -> Rule:
    flat: set[str] = set()
    for r in roles:
        flat |= set(r) if isinstance(r, frozenset) else {r}
    return Rule(roles=frozenset(flat))


PUBLIC = Rule(public=True)
SIGNED_IN = Rule(any_signed_in=True)
PATIENT = Rule(patient=True)
BACKEND_CLIENT = Rule(backend_client=True)
ANY_STAFF = staff(ALL_STAFF)
CHART_READERS = staff(CLINICAL, FD, BI, CO, AD)

POLICY: dict[str, Rule] = {
    # --- accounts -----------------------------------------------------------------------------
    "accounts:login": PUBLIC,
    # the second factor and the authenticator set-up come after the password, before the person is signed in: the
    # views serve only the account whose password this browser had accepted a moment before (else "sign in again")
    "accounts:second_factor": PUBLIC,
    "accounts:enrol": PUBLIC,
    "accounts:unlock": PUBLIC,  # lift one's own sign-in delay with one's authenticator
    "accounts:logout": SIGNED_IN,
    "accounts:password_change": ANY_STAFF,
    "accounts:password_change_done": ANY_STAFF,
    "accounts:password_reset": PUBLIC,  # the same answer whether or not an account uses the address
    "accounts:password_reset_confirm": PUBLIC,  # the emailed one-time link
    "accounts:sign_in_security": staff(AD),
    "accounts:lift_delay": staff(AD),
    "accounts:remove_second_factor": staff(AD),
    # passkeys: each staff member their own (the views only ever touch request.user's); the passkey step of signing
    # in serves only the account whose password this browser had accepted a moment before, like the code step
    "accounts:passkeys": ANY_STAFF,
    "accounts:passkey_add_options": ANY_STAFF,
    "accounts:passkey_add": ANY_STAFF,
    "accounts:passkey_remove": ANY_STAFF,
    "accounts:passkey_sign_in_options": PUBLIC,
    "accounts:passkey_sign_in": PUBLIC,
    "health": PUBLIC,
    # --- clinic (Today, settings, rooms) --------------------------------------------------------
    "clinic:today": ANY_STAFF,
    "clinic:settings": staff(AD),
    "clinic:limits": staff(AD, P, N, CO),  # read by those who work with them
    "clinic:limits_save": staff(AD),  # changed by the clinic admin only
    "clinic:rooms": staff(AD, FD, P, N),
    "clinic:room_add": staff(AD),
    "clinic:access_policy": staff(AD, CO),
    # work at another clinic of the network: the form offers, and the use case accepts, only clinics where the person
    # holds a role (ketaclinic/acting.py)
    "clinic:switch": ANY_STAFF,
    "admin:*": staff(AD),
    # --- patients -------------------------------------------------------------------------------
    "patients:search": CHART_READERS,
    "patients:register": staff(FD, P, N, AD),
    "patients:chart": CHART_READERS,
    "patients:edit": staff(FD, P, N, AD),
    "patients:add_measurement": staff(P, N, FD),
    "patients:add_diagnosis": staff(P),
    "patients:diagnosis_error": staff(P),
    # break-glass (issue 17): anyone who reads charts may break the glass on a record outside their care team (the
    # view only opens it when the clinic keeps records to their care teams); the compliance lead reviews each one
    "patients:break_glass": CHART_READERS,
    "patients:break_glass_reviews": staff(CO),
    "patients:review_break_glass": staff(CO),
    "patients:care_team_add": staff(P, AD),
    "patients:care_team_end": staff(P, AD),
    # --- audit ----------------------------------------------------------------------------------
    "audit:search": staff(CO),
    "ops:status": staff(CO, AD),  # the background worker, chain checkpoints and backups (crossapp)
    # --- reports (issue 15) -----------------------------------------------------------------------------------
    # Aggregates over many patients' records, each view audited with its filters. Outcomes and safety are for the
    # clinical staff, the compliance lead and the clinic's director (clinic admin); operations also for the front
    # desk and billing; money for billing and the clinic admin. The research export is de-identified but still a
    # disclosure: the prescriber (medical director), compliance and the clinic admin. Recording a patient's research
    # consent is a front-desk or clinical task, like any other consent.
    "reports:home": ANY_STAFF,
    "reports:outcomes": staff(CLINICAL, CO, AD),
    "reports:outcomes_csv": staff(CLINICAL, CO, AD),
    "reports:safety": staff(CLINICAL, CO, AD),
    "reports:safety_csv": staff(CLINICAL, CO, AD),
    "reports:operations": staff(P, FD, BI, CO, AD),
    "reports:operations_csv": staff(P, FD, BI, CO, AD),
    "reports:money": staff(BI, AD),
    "reports:money_csv": staff(BI, AD),
    "reports:research": staff(P, CO, AD),
    # a report across the clinics of a network, pooled or side by side, and its tables as CSV (the network's
    # director: a clinic admin or compliance lead with roles at several clinics); each clinic counted is one where
    # the person's role there opens the report
    "reports:network": staff(CO, AD),
    "reports:network_csv": staff(CO, AD),
    "reports:research_consent": staff(CLINICAL, FD, AD),
    "reports:my_research": PATIENT,  # the patient's own decision about research use, in the portal
    # a whole report exported in the background: the view checks the report's own rule for the person asking;
    # a job's page and file are served only to the person who asked for it (the view checks)
    "reports:report_export": ANY_STAFF,
    "reports:job": ANY_STAFF,
    "reports:job_progress": ANY_STAFF,
    "reports:job_download": ANY_STAFF,
    # --- JSON API ---------------------------------------------------------------------------------
    "api-1.0.0:*": ANY_STAFF,  # each operation checks its own roles too (ketaclinic/api.py)
    # --- screening, treatments, integration (issue 4) ---------------------------------------------
    "screening:list": staff(P, N),
    "screening:start": staff(P, N),
    "screening:detail": staff(P, N),
    "screening:intake": staff(P, N),
    "screening:add_trial": staff(P, N),
    "screening:add_scale": staff(P, N),
    "screening:assess": staff(P, N),
    "screening:sign": staff(P),
    "treatments:schedule": staff(FD, P, N, AD),
    "treatments:order_new": staff(P),
    "treatments:order": staff(FD, P, N, AD),
    "treatments:book": staff(FD, P, N, AD),
    "treatments:check_in": staff(FD, P, N),
    "treatments:cancel": staff(FD, P, N),
    "treatments:cockpit": staff(P, N),
    "treatments:pk_prediction": staff(P, N),  # the cockpit's predicted-level panel
    "treatments:vitals": staff(P, N),
    "treatments:verify": staff(P, N),
    # the cockpit's steps, one URL name each
    "treatments:prechecks": staff(P, N),
    "treatments:override_hold": staff(P),  # only a prescriber overrides a pre-dose hold (the service refuses others)
    "treatments:sign_dose": staff(P),  # the prescriber signs a titrated session's dose
    "treatments:prepare_dose": staff(P, N),
    "treatments:start_dose": staff(P, N),
    "treatments:pause_dose": staff(P, N),
    "treatments:resume_dose": staff(P, N),
    "treatments:change_rate": staff(P, N),
    "treatments:next_device": staff(P, N),
    "treatments:stop_dose": staff(P, N),
    "treatments:adverse_event": staff(P, N),
    "treatments:resolve_adverse_event": staff(P, N),
    "treatments:rating": staff(P, N),
    "treatments:observation": staff(P, N),
    "treatments:recovery": staff(P, N),
    "treatments:discharge": staff(P, N),
    "treatments:transfer": staff(P, N),
    "treatments:rems_monitoring": staff(P, N),
    "treatments:sign_consent": staff(P, N),
    "treatments:sign_as_nurse": staff(N),
    "treatments:cosign": staff(P),
    "treatments:addendum": staff(P, N),
    "treatments:acknowledge_alert": staff(P, N),  # the nurse at the chair: done; a prescriber: seen
    "treatments:discharge_pdf": staff(P, N),
    "treatments:rems_pdf": staff(P, N, CO),
    "treatments:rems_due": staff(P, N, CO),
    "treatments:rems_submitted": staff(P, N, CO),
    "integration:list": staff(P, N, T, FD),
    "integration:detail": staff(P, N, T, FD),
    "integration:book": staff(P, N, T, FD),
    "integration:status": staff(P, N, T, FD),
    "integration:add_note": staff(T),
    # --- measures (issue 5) -----------------------------------------------------------------------
    "measures:worklist": staff(P, N, T),
    "measures:trajectory": staff(P, N, T),
    "measures:administer": staff(P, N, T),
    "measures:schedule": staff(P, N),
    "measures:administration": staff(P, N, T),
    "measures:entered_in_error": staff(P, N),
    "measures:safety_task": staff(P, N, T),
    "measures:booster": staff(P),
    "measures:on_call": staff(P, AD),
    # --- portal (issue 5) -------------------------------------------------------------------------
    "portal:home": PATIENT,
    "portal:accept": PUBLIC,
    "portal:crisis": PUBLIC,
    "portal:verify": PATIENT,
    "portal:resend_code": PATIENT,
    "portal:questionnaires": PATIENT,
    "portal:start": PATIENT,
    "portal:fill": PATIENT,
    "portal:done": PATIENT,
    "portal:progress": PATIENT,
    "portal:visits": PATIENT,
    "portal:visit_pdf": PATIENT,
    "portal:password_change": PATIENT,
    "portal:invite": staff(FD, P, N),
    "portal:learn": PATIENT,  # education pages (issue 18): patients read what a prescriber approved
    "portal:learn_page": PATIENT,
    "portal:education": staff(P, AD),
    "portal:education_edit": staff(P, AD),
    "portal:education_approve": staff(P),
    # --- custody (issue 6) ------------------------------------------------------------------------
    # Handlers (prescriber, nurse) receive, draw, waste, count, countersign and witness; compliance reads
    # everything, witnesses destructions, resolves incidents and reverses entries; clinic admin sets up
    # products, suppliers and stores. Front desk, therapist and billing have no access.
    "custody:home": staff(P, N, CO, AD),
    "custody:receive": staff(P, N),
    "custody:receipt": staff(P, N, CO),
    "custody:countersign": staff(P, N),  # a second handler (custody services HANDLERS)
    "custody:signatures": staff(P, N, CO),
    "custody:witness": staff(P, N, CO),
    "custody:session": staff(P, N),
    "custody:container": staff(P, N, CO),
    "custody:destroy": staff(P, N, CO),  # custody services DISPOSERS
    "custody:report_loss": staff(P, N, CO),
    "custody:return_stock": staff(P, CO),  # RETURNERS
    "custody:loss": staff(P, N, CO),
    "custody:count": staff(P, N, CO),
    "custody:count_detail": staff(P, N, CO),
    "custody:incident": staff(P, N, CO),
    "custody:resolve_incident": staff(CO),  # only the compliance lead closes a discrepancy
    "custody:reconciliation": staff(P, N, CO),
    "custody:ledger": staff(P, N, CO),
    "custody:reverse": staff(CO),
    "custody:dispensing_record": staff(P, N, CO),
    "custody:inventory_record": staff(P, N, CO),
    "custody:setup": staff(AD),
    # --- scheduling: the front desk's calendar (issue 11) ---------------------------------------------------
    # Front desk, prescriber, nurse and clinic admin see and book; the therapist sees the calendar and an
    # appointment (their own integration sessions sit on it) but does not book here. Billing and compliance have no
    # page: compliance reads every booking, move and cancellation in the audit trail, and billing works from
    # sessions, not from the calendar. Only the clinic admin sets hours, clinicians' availability and types.
    "scheduling:calendar": staff(FD, P, N, T, AD),
    "scheduling:book": staff(FD, P, N, AD),
    "scheduling:appointment": staff(FD, P, N, T, AD),
    "scheduling:reschedule": staff(FD, P, N, AD),
    "scheduling:cancel": staff(FD, P, N, AD),
    "scheduling:hours": staff(AD),
    "scheduling:availability": staff(AD),
    "scheduling:type": staff(AD),
    "scheduling:waitlist": staff(FD, P, N, AD),
    "scheduling:waitlist_remove": staff(FD, P, N, AD),
    "scheduling:portal_rules": staff(AD),
    "scheduling:closed_days": staff(AD),  # days the clinic is closed (holidays): nothing is booked on them
    "scheduling:close_holidays": staff(AD),
    "scheduling:reopen_day": staff(AD),
    "scheduling:my_appointments": PATIENT,  # the patient's own self-scheduling in the portal (issue 18)
    "scheduling:my_book": PATIENT,
    "scheduling:my_reschedule": PATIENT,
    "scheduling:my_cancel": PATIENT,
    # --- the session record (crossapp): the whole signed note, drug account included, for the clinicians who
    # write it and the compliance lead who reviews it. Not the therapist (no cockpit, no custody ledger; the chart
    # shows them the sessions), nor the clinic admin, front desk or billing (no clinical role).
    "records:session": staff(P, N, CO),
    "records:session_pdf": staff(P, N, CO),
    # --- billing (issue 13) ---------------------------------------------------------------------------------
    # Money is for the billing role and the clinic admin: prices, packages, estimates, invoices, refunds, voids,
    # superbills and the accountant's CSV. The front desk checks patients out, so it may open a patient's account
    # and an invoice, take a cash or card payment there and print the receipt, and record that an estimate is due
    # when it books a self-pay patient (the front desk is where scheduling happens); it cannot refund, void, price
    # or sell. Clinicians and compliance have no money page (compliance reads every money change in the audit
    # trail). A patient sees their own billing in the portal only.
    "billing:worklist": staff(BI, AD),
    "billing:aging": staff(BI, AD),
    "billing:prices": staff(BI, AD),
    "billing:profile": staff(BI, AD),
    "billing:packages": staff(BI, AD),
    "billing:retire_offer": staff(BI, AD),
    "billing:refund_package": staff(BI, AD),
    "billing:account": staff(BI, AD, FD),
    "billing:sell_package": staff(BI, AD),
    "billing:record_estimate": staff(BI, AD, FD),
    "billing:superbill_pdf": staff(BI, AD),
    "billing:estimate": staff(BI, AD),
    "billing:withdraw_estimate": staff(BI, AD),
    "billing:invoice_session": staff(BI, AD),
    "billing:invoice_visit": staff(BI, AD),
    "billing:invoice_integration": staff(BI, AD),
    "billing:invoice": staff(BI, AD, FD),
    "billing:pay": staff(BI, AD, FD),
    "billing:refund": staff(BI, AD),
    "billing:void": staff(BI, AD),
    "billing:draw": staff(BI, AD),
    "billing:receipt": staff(BI, AD, FD),
    "billing:superbill_csv": staff(BI, AD),
    "billing:my_billing": PATIENT,
    "billing:my_invoice": PATIENT,
    "billing:my_estimate": PATIENT,
    "billing:my_superbill": PATIENT,
    # --- reminders (issue 18) -----------------------------------------------------------------------------
    # The front desk, nurses, prescribers and the clinic admin read the worklist (rides home to confirm, messages
    # that did not go) and record a patient's reminder consent and time zone; the clinic admin sets quiet hours
    # and lead times. The SMS provider's inbound webhook is public: the view checks its shared-secret signature.
    "reminders:worklist": staff(FD, N, P, AD),
    "reminders:patient": staff(FD, N, P, AD),
    "reminders:settings": staff(AD),
    "reminders:sms_inbound": PUBLIC,
    # --- secure messages (issue 18): the clinical roles write to and read a patient's conversations (through the
    # patient: the care team, or break-glass); the patient their own in the portal
    "messaging:inbox": staff(CLINICAL),
    "messaging:start": staff(CLINICAL),
    "messaging:thread": staff(CLINICAL),
    "messaging:attachment": staff(CLINICAL),
    "messaging:my_messages": PATIENT,
    "messaging:my_thread": PATIENT,
    "messaging:my_attachment": PATIENT,
    # --- FHIR (issue 12) ------------------------------------------------------------------------------------
    # The FHIR API answers registered backend clients only (SMART Backend Services): their token endpoint and the
    # SMART configuration are public, the clinic admin registers and revokes the clients, and every other FHIR URL
    # (the resources, bulk export, import) is BACKEND_CLIENT: the view checks the bearer token and its scopes; a
    # staff or patient session opens nothing (401 with an OperationOutcome).
    "fhir:token": PUBLIC,
    "fhir:smart_configuration": PUBLIC,
    "fhir:clients": staff(AD),
    "fhir:client": staff(AD),
    "fhir:client_revoke": staff(AD),
    "fhir:*": BACKEND_CLIENT,
}

_ = (MEDICAL, T)  # kept importable for the sections above


def rule_for(view_name: str | None) -> Rule | None:
    if not view_name:
        return None
    rule = POLICY.get(view_name)
    if rule is not None:
        return rule
    namespace = view_name.split(":", 1)[0]
    return POLICY.get(f"{namespace}:*") if ":" in view_name else None


def can_open(user, view_name: str) -> bool:
    """Whether ``user`` may open the page named ``view_name``: the same decision ``AccessPolicyMiddleware`` takes,
    so a page shows a button or link only to the people the policy lets through it."""
    rule = rule_for(view_name)
    if rule is None or rule.backend_client:  # a backend client's token is checked by the view, never a session
        return False
    if rule.public:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if rule.any_signed_in:
        return True
    if rule.patient:
        return hasattr(user, "patient_account")
    return bool(user.is_active and user.has_role(*rule.roles))


def named_routes() -> list[tuple[str, str]]:
    """Every named URL of the project as (``namespace:name``, route pattern), sorted by name."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: set[tuple[str, str]] = set()

    def walk(resolver, prefix: str, namespace: str) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p, prefix + str(p.pattern), f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                found.add((namespace + p.name, prefix + str(p.pattern)))

    walk(get_resolver(), "", "")
    return sorted(found)


def url_names() -> list[str]:
    """Every named URL in the project, as namespace:name."""
    return sorted({name for name, _ in named_routes()})
