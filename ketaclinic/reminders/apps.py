from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "ketaclinic.reminders"
    label = "reminders"
    verbose_name = "Reminders (e-mail and SMS: appointments, sessions, preparation, rides, questionnaires)"
