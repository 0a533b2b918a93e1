"""The top layer's own demo seeds, run last (after every app's): the titrated IV series (``seeds/titration.py``)."""

from __future__ import annotations

from ketaclinic.crossapp.seeds import titration


def seed(ctx) -> None:
    titration.seed(ctx)
