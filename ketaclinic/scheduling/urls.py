from django.urls import path

from ketaclinic.scheduling import views

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
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<uuid:external_id>/remove/", views.waitlist_remove, name="waitlist_remove"),
]
