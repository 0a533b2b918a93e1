"""Discovery by module name: a page that gathers parts from every feature app (the Today page's panels, the
chart's sections) finds each installed app's ``<app>.<module>`` at run time, so a lower app never imports a
higher one."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

from django.apps import apps


def app_hooks(module: str, *, gatherer: str) -> Iterator[ModuleType]:
    """Each installed KetaClinic app's ``<app>.<module>``, in ``INSTALLED_APPS`` order; apps without one are
    passed over, and so is ``gatherer`` (the app whose page gathers them). An import error inside a hook module
    is raised, not taken for a missing module."""
    for config in apps.get_app_configs():
        if not config.name.startswith("ketaclinic.") or config.name == gatherer:
            continue
        name = f"{config.name}.{module}"
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
