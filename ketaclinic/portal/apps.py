from django.apps import AppConfig


def _patients_act_for_their_clinic(sender, request, user, **kwargs):
    """A portal patient's requests act for the patient's own clinic (``ketaclinic.acting``): written into the
    session as they sign in, so no request has to read it."""
    from ketaclinic.acting import PATIENT_SESSION_KEY
    from ketaclinic.portal.models import PatientAccount

    if request is None or not hasattr(request, "session"):
        return
    clinic = PatientAccount.objects.filter(user=user).values_list("patient__clinic_id", flat=True).first()
    if clinic is not None:
        request.session[PATIENT_SESSION_KEY] = clinic


class PortalConfig(AppConfig):
    name = "ketaclinic.portal"
    label = "portal"
    verbose_name = "Patient portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_patients_act_for_their_clinic, dispatch_uid="portal-patient-clinic")
