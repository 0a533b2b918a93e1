"""Demo seeds that need an app above their own.

``seeds/<label>.py`` defines ``seed(ctx)`` like an app's ``demo.py`` and runs in that app's place in
INSTALLED_APPS order (right after the app's own ``demo.py``, if it has one), so the demo clinic is built in the
same order as if the seed lived in the app. ``measures`` builds completed treatment series for its score
histories, which needs the treatments app, above measures.
"""
