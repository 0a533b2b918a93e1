from django.urls import path

from ketaclinic.integration import views

app_name = "integration"
urlpatterns = [
    path("", views.worklist, name="list"),
    path("<uuid:external_id>/", views.detail, name="detail"),
    path("<uuid:external_id>/book/", views.book, name="book"),
    path("<uuid:external_id>/status/", views.status, name="status"),
    path("<uuid:external_id>/notes/", views.add_note, name="add_note"),
]
