"""What screening tells the apps above it.

Screening sits below treatments in the layers (a treatment order needs a signed eligibility assessment), so it
never imports treatments. When a step of one of its use cases concerns a higher app, it sends a signal defined
here; the higher app connects a receiver in its ``AppConfig.ready()``.

Signals are synchronous: the receivers run inside the sender's transaction, and an exception in a receiver
rolls the whole use case back (``send``, not ``send_robust``).
"""

from __future__ import annotations

from django.dispatch import Signal

#: A prescriber signed an eligibility assessment that records an absolute contraindication. Sent inside
#: ``sign_assessment``'s transaction with ``actor``, ``patient`` and ``assessment``; the treatments app stops the
#: patient's active orders and cancels the sessions not yet dosing (``ketaclinic/treatments/receivers.py``).
absolute_contraindication_signed = Signal()
