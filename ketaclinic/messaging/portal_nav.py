"""Secure messages' entry in the patient portal's navigation (gathered by ``portal/templatetags/portal_nav.py``)."""

PORTAL_NAV = (("messaging:my_messages", "Messages"),)
