"""The operations status page, under its own namespace ``ops`` (``ops:status``), served from the top layer."""

from django.urls import path

from ketaclinic.crossapp import ops_views

app_name = "ops"
urlpatterns = [path("", ops_views.status_page, name="status")]
