"""The research page's entry in the patient portal's navigation (gathered by ``portal/templatetags/portal_nav.py``)."""

PORTAL_NAV = (("reports:my_research", "My data in research"),)
