from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "ketaclinic.custody"
    label = "custody"
    verbose_name = "Controlled-substance custody"

    def ready(self):
        # The cockpit's strengths and lots, its drug account and signing read the session's account from the
        # ledger (treatments sits below custody: custody tells it).
        from ketaclinic.custody.stock import session_account
        from ketaclinic.treatments import stock

        stock.register_account(session_account)
