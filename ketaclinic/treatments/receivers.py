"""The treatments app's answers to signals of the apps below it (connected in ``TreatmentsConfig.ready()``).

A lower app never imports treatments; it sends a signal and these receivers run synchronously, inside the
sender's transaction, so the outcome is the same as a direct call.
"""

from __future__ import annotations

from ketaclinic.screening.signals import absolute_contraindication_signed
from ketaclinic.treatments.services import stop_for_contraindication


def stop_treatment_for_contraindication(sender, *, actor, patient, assessment, **kwargs) -> None:
    """A signed absolute contraindication stops the patient's active orders and cancels the sessions not yet
    dosing, each audited (``services.stop_for_contraindication``)."""
    stop_for_contraindication(actor=actor, patient=patient, assessment=assessment)


def connect() -> None:
    absolute_contraindication_signed.connect(stop_treatment_for_contraindication,
                                             dispatch_uid="treatments.stop_for_contraindication")
