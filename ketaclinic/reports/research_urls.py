"""The research export, research consent and background job pages; included by reports/urls.py (namespace
``reports``), so the names are ``reports:research``, ``reports:job``, ... (who may open each: ketaclinic/access.py)."""

from django.urls import path

from ketaclinic.reports import portal_views
from ketaclinic.reports import research_views as views

urlpatterns = [
    path("research/", views.research_page, name="research"),
    path("research/patients/<uuid:patient_id>/", views.research_consent, name="research_consent"),
    path("research/mine/", portal_views.my_research, name="my_research"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job"),
    path("jobs/<uuid:job_id>/progress/", views.job_progress, name="job_progress"),
    path("jobs/<uuid:job_id>/download/", views.job_download, name="job_download"),
    path("export/", views.report_export, name="report_export"),
]
