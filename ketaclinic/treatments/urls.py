from django.urls import path

from ketaclinic.treatments import pk_views, views

app_name = "treatments"
SESSION = "sessions/<uuid:external_id>/"
urlpatterns = [
    path("", views.schedule, name="schedule"),
    path("orders/new/<uuid:patient_id>/", views.order_new, name="order_new"),
    path("orders/<uuid:external_id>/", views.order_detail, name="order"),
    path("orders/<uuid:external_id>/book/", views.book, name="book"),
    path(SESSION, views.cockpit, name="cockpit"),
    path(SESSION + "check-in/", views.check_in, name="check_in"),
    path(SESSION + "cancel/", views.cancel, name="cancel"),
    path(SESSION + "vitals/", views.vitals, name="vitals"),
    path(SESSION + "verify/", views.verify, name="verify"),
    # the cockpit's steps, one view each
    path(SESSION + "prechecks/", views.prechecks, name="prechecks"),
    path(SESSION + "override-hold/", views.override_hold, name="override_hold"),
    path(SESSION + "sign-dose/", views.sign_dose, name="sign_dose"),
    path(SESSION + "prepare-dose/", views.prepare_dose, name="prepare_dose"),
    path(SESSION + "start-dose/", views.start_dose, name="start_dose"),
    path(SESSION + "pause-dose/", views.pause_dose, name="pause_dose"),
    path(SESSION + "resume-dose/", views.resume_dose, name="resume_dose"),
    path(SESSION + "change-rate/", views.change_rate, name="change_rate"),
    path(SESSION + "next-device/", views.next_device, name="next_device"),
    path(SESSION + "stop-dose/", views.stop_dose, name="stop_dose"),
    path(SESSION + "adverse-event/", views.adverse_event, name="adverse_event"),
    path(SESSION + "resolve-adverse-event/", views.resolve_adverse_event, name="resolve_adverse_event"),
    path(SESSION + "rating/", views.rating, name="rating"),
    path(SESSION + "observation/", views.observation, name="observation"),
    path(SESSION + "recovery/", views.recovery, name="recovery"),
    path(SESSION + "discharge/", views.discharge, name="discharge"),
    path(SESSION + "transfer/", views.transfer, name="transfer"),
    path(SESSION + "rems-monitoring/", views.rems_monitoring, name="rems_monitoring"),
    path(SESSION + "consent/", views.sign_consent, name="sign_consent"),
    path(SESSION + "sign-note/", views.sign_as_nurse, name="sign_as_nurse"),
    path(SESSION + "co-sign/", views.cosign, name="cosign"),
    path(SESSION + "addendum/", views.addendum, name="addendum"),
    path(SESSION + "alerts/acknowledge/", views.acknowledge_alert, name="acknowledge_alert"),
    path(SESSION + "discharge-instructions.pdf", views.discharge_pdf, name="discharge_pdf"),
    path(SESSION + "rems-form.pdf", views.rems_pdf, name="rems_pdf"),
    path(SESSION + "predicted-level/", pk_views.pk_prediction, name="pk_prediction"),
    path("rems/", views.rems_list, name="rems_due"),
    path("rems/<uuid:external_id>/submitted/", views.rems_submitted, name="rems_submitted"),
]
