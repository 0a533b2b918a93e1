"""The foundation tests' shared clinic (built once per module): see clinic_world.py."""

from tests.foundation.clinic_world import clinic_world, two_clinics  # noqa: F401 (fixtures)
