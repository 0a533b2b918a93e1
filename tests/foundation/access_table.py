"""Who may open every page of KetaClinic: the one access table of the test suite.

Written by hand, independently of ``ketaclinic/access.py``: changing the policy without changing this table (or the
other way round) fails ``tests/foundation/test_every_url.py``, which requests every URL as every identity.

Columns: P prescriber, N nurse, T therapist, F front desk, B billing, C compliance, A clinic admin; a letter lets
the role in, a dot refuses it. Staff pages refuse a signed-out visitor (sign-in page; 401 on the API), a signed-in
user with no role and a portal patient (403). Instead of the seven columns a row may say:

* ``public``: anyone, signed in or not;
* ``signed-in``: anyone signed in (staff, a user with no role, a portal patient);
* ``patient``: a patient signed in to the portal, and nobody else.
* ``client``: the FHIR API: a registered backend client with a bearer token, and no session identity (every one of
  the ten answers 401 with an OperationOutcome).

The last column says how the page is requested: ``GET``, or ``POST`` for a view that only takes POST (an allowed
role's GET answers 405).
"""

from __future__ import annotations

ROLE_COLUMNS = {"P": "prescriber", "N": "nurse", "T": "therapist", "F": "front_desk", "B": "billing",
                "C": "compliance", "A": "clinic_admin"}

TABLE = """
url name                          P N T F B C A    how
accounts:login                    public           GET
accounts:second_factor            public           GET
accounts:enrol                    public           GET
accounts:unlock                   public           GET
accounts:logout                   signed-in        POST
accounts:password_change          P N T F B C A    GET
accounts:password_change_done     P N T F B C A    GET
accounts:password_reset           public           GET
accounts:password_reset_confirm   public           GET
accounts:sign_in_security         . . . . . . A    GET
accounts:lift_delay               . . . . . . A    POST
accounts:remove_second_factor     . . . . . . A    POST
accounts:passkeys                 P N T F B C A    GET
accounts:passkey_add_options      P N T F B C A    POST
accounts:passkey_add              P N T F B C A    POST
accounts:passkey_remove           P N T F B C A    POST
accounts:passkey_sign_in_options  public           POST
accounts:passkey_sign_in          public           POST
fhir:smart_configuration          public           GET
fhir:token                        public           POST
fhir:clients                      . . . . . . A    GET
fhir:client                       . . . . . . A    GET
fhir:client_revoke                . . . . . . A    POST
fhir:metadata                     client           GET
fhir:read                         client           GET
fhir:search                       client           GET
fhir:history                      client           GET
fhir:everything                   client           GET
fhir:transaction                  client           POST
fhir:export                       client           GET
fhir:patient_export               client           GET
fhir:group_export                 client           GET
fhir:export_status                client           GET
fhir:export_file                  client           GET
fhir:not_found                    client           GET
health                            public           GET
admin:*                           . . . . . . A    GET
api-1.0.0:*                       P N T F B C A    GET
api-1.0.0:api-root                P N T F B C A    GET
api-1.0.0:openapi-json            P N T F B C A    GET
api-1.0.0:openapi-view            P N T F B C A    GET
api-1.0.0:patient_detail          P N T F B C A    GET
api-1.0.0:patient_search          P N T F B C A    GET
audit:search                      . . . . . C .    GET
ops:status                        . . . . . C A    GET
clinic:today                      P N T F B C A    GET
clinic:settings                   . . . . . . A    GET
clinic:limits                     P N . . . C A    GET
clinic:limits_save                . . . . . . A    POST
clinic:rooms                      P N . F . . A    GET
clinic:room_add                   . . . . . . A    POST
clinic:access_policy              . . . . . C A    GET
clinic:switch                     P N T F B C A    POST
patients:search                   P N T F B C A    GET
patients:register                 P N . F . . A    GET
patients:chart                    P N T F B C A    GET
patients:edit                     P N . F . . A    GET
patients:add_measurement          P N . F . . .    POST
patients:add_diagnosis            P . . . . . .    POST
patients:diagnosis_error          P . . . . . .    POST
patients:break_glass              P N T F B C A    GET
patients:break_glass_reviews      . . . . . C .    GET
patients:review_break_glass       . . . . . C .    POST
patients:care_team_add            P . . . . . A    POST
patients:care_team_end            P . . . . . A    POST
screening:list                    P N . . . . .    GET
screening:start                   P N . . . . .    POST
screening:detail                  P N . . . . .    GET
screening:intake                  P N . . . . .    POST
screening:add_trial               P N . . . . .    POST
screening:add_scale               P N . . . . .    POST
screening:assess                  P N . . . . .    POST
screening:sign                    P . . . . . .    POST
treatments:schedule               P N . F . . A    GET
treatments:order_new              P . . . . . .    GET
treatments:order                  P N . F . . A    GET
treatments:book                   P N . F . . A    POST
treatments:check_in               P N . F . . .    POST
treatments:cancel                 P N . F . . .    POST
treatments:cockpit                P N . . . . .    GET
treatments:pk_prediction          P N . . . . .    GET
treatments:vitals                 P N . . . . .    POST
treatments:verify                 P N . . . . .    GET
treatments:prechecks              P N . . . . .    POST
treatments:override_hold          P . . . . . .    POST
treatments:sign_dose              P . . . . . .    POST
treatments:prepare_dose           P N . . . . .    POST
treatments:start_dose             P N . . . . .    POST
treatments:pause_dose             P N . . . . .    POST
treatments:resume_dose            P N . . . . .    POST
treatments:change_rate            P N . . . . .    POST
treatments:next_device            P N . . . . .    POST
treatments:stop_dose              P N . . . . .    POST
treatments:adverse_event          P N . . . . .    POST
treatments:resolve_adverse_event  P N . . . . .    POST
treatments:rating                 P N . . . . .    POST
treatments:observation            P N . . . . .    POST
treatments:recovery               P N . . . . .    POST
treatments:discharge              P N . . . . .    POST
treatments:transfer               P N . . . . .    POST
treatments:rems_monitoring        P N . . . . .    POST
treatments:sign_consent           P N . . . . .    POST
treatments:sign_as_nurse          . N . . . . .    POST
treatments:cosign                 P . . . . . .    POST
treatments:addendum               P N . . . . .    POST
treatments:acknowledge_alert      P N . . . . .    POST
treatments:discharge_pdf          P N . . . . .    GET
treatments:rems_pdf               P N . . . C .    GET
treatments:rems_due               P N . . . C .    GET
treatments:rems_submitted         P N . . . C .    POST
integration:list                  P N T F . . .    GET
integration:detail                P N T F . . .    GET
integration:book                  P N T F . . .    POST
integration:status                P N T F . . .    POST
integration:add_note              . . T . . . .    POST
measures:worklist                 P N T . . . .    GET
measures:trajectory               P N T . . . .    GET
measures:administer               P N T . . . .    GET
measures:schedule                 P N . . . . .    GET
measures:administration           P N T . . . .    GET
measures:entered_in_error         P N . . . . .    POST
measures:safety_task              P N T . . . .    GET
measures:booster                  P . . . . . .    POST
measures:on_call                  P . . . . . A    GET
portal:home                       patient          GET
portal:accept                     public           GET
portal:crisis                     public           GET
portal:verify                     patient          GET
portal:resend_code                patient          POST
portal:questionnaires             patient          GET
portal:start                      patient          POST
portal:fill                       patient          GET
portal:done                       patient          GET
portal:progress                   patient          GET
portal:visits                     patient          GET
portal:visit_pdf                  patient          GET
portal:password_change            patient          GET
portal:invite                     P N . F . . .    POST
portal:learn                      patient          GET
portal:learn_page                 patient          GET
portal:education                  P . . . . . A    GET
portal:education_edit             P . . . . . A    GET
portal:education_approve          P . . . . . .    POST
custody:home                      P N . . . C A    GET
custody:receive                   P N . . . . .    GET
custody:receipt                   P N . . . C .    GET
custody:countersign               P N . . . . .    POST
custody:signatures                P N . . . C .    GET
custody:witness                   P N . . . C .    GET
custody:session                   P N . . . . .    GET
custody:container                 P N . . . C .    GET
custody:destroy                   P N . . . C .    POST
custody:report_loss               P N . . . C .    POST
custody:return_stock              P . . . . C .    POST
custody:loss                      P N . . . C .    GET
custody:count                     P N . . . C .    GET
custody:count_detail              P N . . . C .    GET
custody:incident                  P N . . . C .    GET
custody:resolve_incident          . . . . . C .    POST
custody:reconciliation            P N . . . C .    GET
custody:ledger                    P N . . . C .    GET
custody:reverse                   . . . . . C .    POST
custody:dispensing_record         P N . . . C .    GET
custody:inventory_record          P N . . . C .    GET
custody:setup                     . . . . . . A    GET
records:session                   P N . . . C .    GET
records:session_pdf               P N . . . C .    GET
scheduling:calendar               P N T F . . A    GET
scheduling:book                   P N . F . . A    GET
scheduling:appointment            P N T F . . A    GET
scheduling:reschedule             P N . F . . A    POST
scheduling:cancel                 P N . F . . A    POST
scheduling:hours                  . . . . . . A    GET
scheduling:availability           . . . . . . A    POST
scheduling:type                   . . . . . . A    POST
scheduling:waitlist               P N . F . . A    GET
scheduling:waitlist_remove        P N . F . . A    POST
scheduling:portal_rules           . . . . . . A    POST
scheduling:closed_days            . . . . . . A    GET
scheduling:close_holidays         . . . . . . A    POST
scheduling:reopen_day             . . . . . . A    POST
scheduling:my_appointments        patient          GET
scheduling:my_book                patient          GET
scheduling:my_reschedule          patient          GET
scheduling:my_cancel              patient          POST
billing:worklist                  . . . . B . A    GET
billing:aging                     . . . . B . A    GET
billing:prices                    . . . . B . A    GET
billing:profile                   . . . . B . A    POST
billing:packages                  . . . . B . A    GET
billing:retire_offer              . . . . B . A    POST
billing:refund_package            . . . . B . A    POST
billing:account                   . . . F B . A    GET
billing:sell_package              . . . . B . A    POST
billing:record_estimate           . . . F B . A    POST
billing:superbill_pdf             . . . . B . A    GET
billing:estimate                  . . . . B . A    GET
billing:withdraw_estimate         . . . . B . A    POST
billing:invoice_session           . . . . B . A    POST
billing:invoice_visit             . . . . B . A    POST
billing:invoice_integration       . . . . B . A    POST
billing:invoice                   . . . F B . A    GET
billing:pay                       . . . F B . A    POST
billing:refund                    . . . . B . A    POST
billing:void                      . . . . B . A    POST
billing:draw                      . . . . B . A    POST
billing:receipt                   . . . F B . A    GET
billing:superbill_csv             . . . . B . A    GET
billing:my_billing                patient          GET
billing:my_invoice                patient          GET
billing:my_estimate               patient          GET
billing:my_superbill              patient          GET
reminders:worklist                P N . F . . A    GET
reminders:patient                 P N . F . . A    GET
reminders:settings                . . . . . . A    POST
reminders:sms_inbound             public           POST
messaging:inbox                   P N T . . . .    GET
messaging:start                   P N T . . . .    GET
messaging:thread                  P N T . . . .    GET
messaging:attachment              P N T . . . .    GET
messaging:my_messages             patient          GET
messaging:my_thread               patient          GET
messaging:my_attachment           patient          GET
reports:home                      P N T F B C A    GET
reports:outcomes                  P N T . . C A    GET
reports:outcomes_csv              P N T . . C A    GET
reports:safety                    P N T . . C A    GET
reports:safety_csv                P N T . . C A    GET
reports:operations                P . . F B C A    GET
reports:operations_csv            P . . F B C A    GET
reports:money                     . . . . B . A    GET
reports:money_csv                 . . . . B . A    GET
reports:research                  P . . . . C A    GET
reports:network                   . . . . . C A    GET
reports:network_csv               . . . . . C A    GET
reports:research_consent          P N T F . . A    GET
reports:my_research               patient          GET
reports:report_export             P N T F B C A    POST
reports:job                       P N T F B C A    GET
reports:job_progress              P N T F B C A    GET
reports:job_download              P N T F B C A    GET
"""

STAFF_IDENTITIES = tuple(ROLE_COLUMNS.values())
OTHERS = ("signed_out", "no_role", "patient")


#: The rows of kind ``client`` (filled in by :func:`_parse`).
CLIENT_ONLY: set[str] = set()


def _parse(text: str) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    allowed: dict[str, frozenset[str]] = {}
    method: dict[str, str] = {}
    for line in text.strip().splitlines()[1:]:
        name, *cells, how = line.split()
        assert name not in allowed, f"{name} appears twice in the access table"
        assert how in ("GET", "POST"), line
        if cells == ["public"]:
            who = {*STAFF_IDENTITIES, *OTHERS}
        elif cells == ["signed-in"]:
            who = {*STAFF_IDENTITIES, "no_role", "patient"}
        elif cells == ["patient"]:
            who = {"patient"}
        elif cells == ["client"]:
            who = set()
            CLIENT_ONLY.add(name)
        else:
            assert len(cells) == 7, f"{name}: seven role columns expected, got {cells}"
            who = set()
            for column, cell in zip(ROLE_COLUMNS, cells, strict=True):
                assert cell in (column, "."), f"{name}: column {column} holds {cell!r}"
                if cell == column:
                    who.add(ROLE_COLUMNS[column])
        allowed[name] = frozenset(who)
        method[name] = how
    return allowed, method


#: url name -> the identities that may open it (roles, and "signed_out", "no_role", "patient").
ALLOWED, METHOD = _parse(TABLE)
PUBLIC = frozenset(n for n, who in ALLOWED.items() if "signed_out" in who)
