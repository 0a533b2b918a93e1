from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "ketaclinic.billing"
    label = "billing"
    verbose_name = "Billing (prices, packages, estimates, invoices, payments, superbills)"
