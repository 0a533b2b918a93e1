from django.urls import path

from ketaclinic.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.search, name="search"),
    path("new/", views.register, name="register"),
    path("break-glass/reviews/", views.break_glass_reviews, name="break_glass_reviews"),
    path("break-glass/<int:pk>/review/", views.review_break_glass, name="review_break_glass"),
    path("<uuid:external_id>/", views.chart, name="chart"),
    path("<uuid:external_id>/edit/", views.edit, name="edit"),
    path("<uuid:external_id>/measurements/", views.add_measurement, name="add_measurement"),
    path("<uuid:external_id>/diagnoses/", views.add_diagnosis, name="add_diagnosis"),
    path("<uuid:external_id>/diagnoses/<int:pk>/error/", views.diagnosis_error, name="diagnosis_error"),
    path("<uuid:external_id>/break-glass/", views.break_glass, name="break_glass"),
    path("<uuid:external_id>/care-team/", views.care_team_add, name="care_team_add"),
    path("<uuid:external_id>/care-team/<int:pk>/end/", views.care_team_end, name="care_team_end"),
]
