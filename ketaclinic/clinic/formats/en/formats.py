"""Django's format names set to the clinic's one style (see ketaclinic/clinic/formats/__init__.py); any name not set
here falls through to Django's own English formats (input formats, number grouping)."""

DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
