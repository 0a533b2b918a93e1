"""The top layer: what uses many apps at once, so that no lower app has to import a higher one.

The demo loader (``manage.py seed_demo``, which runs every app's ``demo.py`` and the seeds in ``seeds/``) and the
audit search page (audit entries found by patient MRN and by user) live here. Nothing in another app imports
from this one; ``tests/foundation/test_app_layers.py`` keeps the apps free of import cycles.
"""
