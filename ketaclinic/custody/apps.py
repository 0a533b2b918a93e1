from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "ketaclinic.custody"
    label = "custody"
    verbose_name = "Controlled-substance custody"

    def ready(self):
        # The cockpit offers only strengths the clinic holds (treatments sits below custody: custody tells it).
        from ketaclinic.custody.stock import stocked_strengths
        from ketaclinic.treatments import stock

        stock.register(stocked_strengths)
