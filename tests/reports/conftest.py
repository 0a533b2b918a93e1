"""The reports tests share the billing tests' synthetic price list (IV $450.00) and its fixtures, and the measures
tests' portal patients (a patient's research decision in the portal)."""

from tests.billing.conftest import billing, priced, rooms  # noqa: F401  (fixtures)
from tests.measures.conftest import make_portal_patient  # noqa: F401  (fixture)
