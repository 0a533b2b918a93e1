from django.urls import path

from ketaclinic.custody import views

app_name = "custody"
urlpatterns = [
    path("", views.home, name="home"),
    path("receive/", views.receive, name="receive"),
    path("receipts/<uuid:external_id>/", views.receipt, name="receipt"),
    path("receipts/<uuid:external_id>/countersign/", views.countersign, name="countersign"),
    path("signatures/", views.signatures, name="signatures"),
    path("witness/<uuid:external_id>/", views.witness, name="witness"),
    path("sessions/<uuid:external_id>/", views.session, name="session"),
    path("containers/<uuid:external_id>/", views.container, name="container"),
    path("containers/<uuid:external_id>/destroy/", views.destroy, name="destroy"),
    path("containers/<uuid:external_id>/loss/", views.report_loss, name="report_loss"),
    path("containers/<uuid:external_id>/return/", views.return_stock, name="return_stock"),
    path("losses/<uuid:external_id>/", views.loss, name="loss"),
    path("count/", views.count, name="count"),
    path("counts/<uuid:external_id>/", views.count_detail, name="count_detail"),
    path("incidents/<uuid:external_id>/", views.incident, name="incident"),
    path("incidents/<uuid:external_id>/resolve/", views.resolve_incident, name="resolve_incident"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/<uuid:external_id>/reverse/", views.reverse, name="reverse"),
    path("records/dispensing/", views.dispensing_record, name="dispensing_record"),
    path("records/inventory/", views.inventory_record, name="inventory_record"),
    path("setup/", views.setup, name="setup"),
]
