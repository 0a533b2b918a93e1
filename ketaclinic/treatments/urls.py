from django.urls import path

from ketaclinic.treatments import views

app_name = "treatments"
urlpatterns = [
    path("", views.schedule, name="schedule"),
    path("orders/new/<uuid:patient_id>/", views.order_new, name="order_new"),
    path("orders/<uuid:external_id>/", views.order_detail, name="order"),
    path("orders/<uuid:external_id>/book/", views.book, name="book"),
    path("sessions/<uuid:external_id>/", views.cockpit, name="cockpit"),
    path("sessions/<uuid:external_id>/check-in/", views.check_in, name="check_in"),
    path("sessions/<uuid:external_id>/cancel/", views.cancel, name="cancel"),
    path("sessions/<uuid:external_id>/vitals/", views.vitals, name="vitals"),
    path("sessions/<uuid:external_id>/verify/", views.verify, name="verify"),
    path("sessions/<uuid:external_id>/do/<slug:action>/", views.action, name="action"),
    path("sessions/<uuid:external_id>/discharge-instructions.pdf", views.discharge_pdf, name="discharge_pdf"),
    path("sessions/<uuid:external_id>/rems-form.pdf", views.rems_pdf, name="rems_pdf"),
    path("rems/", views.rems_list, name="rems_due"),
    path("rems/<uuid:external_id>/submitted/", views.rems_submitted, name="rems_submitted"),
]
