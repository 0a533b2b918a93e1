"""The calendar's entry in the patient portal's navigation (gathered by ``portal/templatetags/portal_nav.py``)."""

PORTAL_NAV = (("scheduling:my_appointments", "My appointments"),)
