from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "ketaclinic.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling (the front desk's calendar)"
