from django.urls import path

from ketaclinic.scheduling import portal_views, views

app_name = "scheduling"
urlpatterns = [
    path("", views.calendar_page, name="calendar"),
    path("book/", views.book, name="book"),
    path("appointments/<uuid:external_id>/", views.appointment, name="appointment"),
    path("appointments/<uuid:external_id>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<uuid:external_id>/cancel/", views.cancel, name="cancel"),
    path("hours/", views.hours, name="hours"),
    path("hours/clinician/<int:clinician_id>/", views.availability, name="availability"),
    path("hours/type/<int:pk>/", views.appointment_type, name="type"),
    path("hours/portal/", views.portal_rules, name="portal_rules"),
    path("hours/closed/", views.closed_days, name="closed_days"),
    path("hours/closed/holidays/", views.close_holidays, name="close_holidays"),
    path("hours/closed/reopen/", views.reopen_day, name="reopen_day"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<uuid:external_id>/remove/", views.waitlist_remove, name="waitlist_remove"),
    # the patient's own, in the portal
    path("my/", portal_views.my_appointments, name="my_appointments"),
    path("my/book/", portal_views.my_book, name="my_book"),
    path("my/<uuid:external_id>/move/", portal_views.my_reschedule, name="my_reschedule"),
    path("my/<uuid:external_id>/cancel/", portal_views.my_cancel, name="my_cancel"),
]
