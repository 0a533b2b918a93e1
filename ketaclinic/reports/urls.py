from functools import partial

from django.urls import include, path

from ketaclinic.reports import views
from ketaclinic.reports.registry import REPORTS

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("ketaclinic.reports.research_urls")),  # research export, consent, background jobs
    # one report over every clinic of the network where the person may open it, pooled or side by side
    path("network/<slug:slug>/", views.network_page, name="network"),
    path("network/<slug:slug>/csv/", views.network_csv, name="network_csv"),
]
# one page and one CSV per report, each under its own URL name, so the access policy says who opens which
for _slug in REPORTS:
    urlpatterns += [
        path(f"{_slug}/", partial(views.report_page, slug=_slug), name=_slug),
        path(f"{_slug}/csv/", partial(views.report_csv, slug=_slug), name=f"{_slug}_csv"),
    ]
