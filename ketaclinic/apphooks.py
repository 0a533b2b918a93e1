"""Discovery by module name: a page that gathers parts from every feature app (the Today page's panels, the
chart's sections) finds each installed app's ``<app>.<module>`` at run time, so a lower app never imports a
higher one."""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

from django.apps import apps
from django.core.signals import setting_changed


def app_hooks(module: str, *, gatherer: str) -> tuple[ModuleType, ...]:
    """Each installed KetaClinic app's ``<app>.<module>``, in ``INSTALLED_APPS`` order; apps without one are
    passed over, and so is ``gatherer`` (the app whose page gathers them). An import error inside a hook module
    is raised, not taken for a missing module.

    Looked up once per process (and again if ``INSTALLED_APPS`` changes): a module that does not exist is searched
    for on every path of ``sys.path`` each time it is asked for, which cost the Today page and the chart about half a
    millisecond a request."""
    return _hooks(module, gatherer)


@functools.cache
def _hooks(module: str, gatherer: str) -> tuple[ModuleType, ...]:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("ketaclinic.") or config.name == gatherer:
            continue
        name = f"{config.name}.{module}"
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return tuple(found)


def _forget(*, setting: str, **kwargs) -> None:
    if setting == "INSTALLED_APPS":
        _hooks.cache_clear()


setting_changed.connect(_forget)
