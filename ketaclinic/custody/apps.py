from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "ketaclinic.custody"
    label = "custody"
    verbose_name = "Controlled-substance custody"

    def ready(self):
        # The cockpit offers only strengths the clinic holds (treatments sits below custody: custody tells it).
        # Signing, starting and preparing a dose read the session's drug account from the ledger the same way.
        from ketaclinic.custody.stock import session_account, stocked_strengths
        from ketaclinic.treatments import stock

        stock.register(stocked_strengths)
        stock.register_account(session_account)
