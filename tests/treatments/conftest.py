import pytest

from tests.treatments.factories import make_rooms


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)
