"""The clinic's one date and time style, shown in the clinic's time zone (ketaclinic.clinic.middleware activates
it for every request; code that formats outside a request converts with ``timezone.localtime(value, clinic.tz)``).

Templates (Django's ``date``/``time`` filters; ``FORMAT_MODULE_PATH`` points here, so a bare ``|date``, ``|time``
or ``{{ a_datetime }}`` renders the same):

=====================  ===========================  =================
what                   template                     looks like
=====================  ===========================  =================
date                   ``|date:"Y-m-d"``            2026-12-01
time                   ``|time:"H:i"``              14:05
date and time          ``|date:"Y-m-d H:i"``        2026-12-01 14:05
with the weekday       ``|date:"D Y-m-d H:i"``      Tue 2026-12-01 14:05
page heading           ``|date:"l Y-m-d"``          Tuesday 2026-12-01
to the second (logs)   ``|time:"H:i:s"``            14:05:09
machine-readable       ``|date:"c"``                (data-* attributes only)
=====================  ===========================  =================

Python text (messages, PDFs) uses the ``strftime`` twins below.
"""

DATE = "%Y-%m-%d"
TIME = "%H:%M"
DATETIME = "%Y-%m-%d %H:%M"
DAY_DATE = "%a %Y-%m-%d"
DAY_DATETIME = "%a %Y-%m-%d %H:%M"
LONG_DATE = "%A %Y-%m-%d"
LONG_DATETIME = "%A %Y-%m-%d %H:%M"

#: Every format a template may give the ``date``/``time`` filters (tests/foundation/test_one_date_style.py).
TEMPLATE_FORMATS = frozenset({
    "Y-m-d", "H:i", "Y-m-d H:i", "D Y-m-d", "D Y-m-d H:i", "l Y-m-d", "l Y-m-d H:i", "l", "H:i:s",
    "Y-m-d H:i:s", "c", r"Y-m-d\TH:i",
})
