"""The reports tests share the billing tests' synthetic price list (IV $450.00) and its fixtures."""

from tests.billing.conftest import billing, priced, rooms  # noqa: F401  (fixtures)
