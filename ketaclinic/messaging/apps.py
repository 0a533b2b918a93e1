from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "ketaclinic.messaging"
    label = "messaging"
    verbose_name = "Secure messages (patient and care team)"
