from django.urls import path

from ketaclinic.clinic import views

app_name = "clinic"
urlpatterns = [
    path("", views.today, name="today"),
    path("clinic/settings/", views.clinic_settings, name="settings"),
    path("clinic/limits/", views.limits, name="limits"),
    path("clinic/limits/save/", views.limits_save, name="limits_save"),
    path("clinic/rooms/", views.rooms, name="rooms"),
    path("clinic/rooms/add/", views.room_add, name="room_add"),
    path("clinic/access/", views.access_policy, name="access_policy"),
    path("clinic/switch/", views.switch, name="switch"),
]
