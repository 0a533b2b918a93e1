from django.urls import path

from ketaclinic.billing import portal_views, views

app_name = "billing"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("aging/", views.aging, name="aging"),
    path("prices/", views.prices, name="prices"),
    path("profile/", views.profile, name="profile"),
    path("packages/", views.packages, name="packages"),
    path("packages/<uuid:external_id>/retire/", views.retire_offer, name="retire_offer"),
    path("held-packages/<uuid:external_id>/refund/", views.refund_package, name="refund_package"),
    path("patients/<uuid:external_id>/", views.account, name="account"),
    path("patients/<uuid:external_id>/packages/", views.sell_package, name="sell_package"),
    path("patients/<uuid:external_id>/estimates/", views.record_estimate, name="record_estimate"),
    path("patients/<uuid:external_id>/superbill.pdf", views.superbill_pdf, name="superbill_pdf"),
    path("estimates/<uuid:external_id>/", views.estimate, name="estimate"),
    path("estimates/<uuid:external_id>/withdraw/", views.withdraw_estimate, name="withdraw_estimate"),
    path("sessions/<uuid:external_id>/invoice/", views.invoice_session, name="invoice_session"),
    path("visits/<uuid:external_id>/invoice/", views.invoice_visit, name="invoice_visit"),
    path("integration/<uuid:external_id>/invoice/", views.invoice_integration, name="invoice_integration"),
    path("invoices/<uuid:external_id>/", views.invoice, name="invoice"),
    path("invoices/<uuid:external_id>/pay/", views.pay, name="pay"),
    path("invoices/<uuid:external_id>/refund/", views.refund, name="refund"),
    path("invoices/<uuid:external_id>/void/", views.void, name="void"),
    path("invoices/<uuid:external_id>/draw/", views.draw, name="draw"),
    path("receipts/<uuid:external_id>/", views.receipt, name="receipt"),
    path("superbills.csv", views.superbill_csv, name="superbill_csv"),
    # the patient's own, in the portal
    path("my/", portal_views.my_billing, name="my_billing"),
    path("my/invoices/<uuid:external_id>/", portal_views.my_invoice, name="my_invoice"),
    path("my/estimates/<uuid:external_id>/", portal_views.my_estimate, name="my_estimate"),
    path("my/superbill.pdf", portal_views.my_superbill, name="my_superbill"),
]
