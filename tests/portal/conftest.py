from tests.measures.conftest import make_portal_patient, make_session  # noqa: F401
