"""Each custody action has a URL of its own, and the access policy lets through it exactly the roles its service
accepts: a role the service would refuse never sees the button (the page asks ``can_open`` of that URL), and a role
the service accepts is never turned away at the door."""

from __future__ import annotations

import pytest

from ketaclinic.access import rule_for
from ketaclinic.custody.services import common

ACTIONS = {
    "custody:receive": common.HANDLERS,
    "custody:countersign": common.HANDLERS,
    "custody:destroy": common.DISPOSERS,
    "custody:report_loss": common.DISPOSERS,
    "custody:return_stock": common.RETURNERS,
    "custody:resolve_incident": common.COMPLIANCE,
    "custody:reverse": common.COMPLIANCE,
    "custody:setup": common.SETUP,
}


@pytest.mark.parametrize("url_name", ACTIONS)
def test_the_policy_opens_the_action_to_the_roles_its_service_accepts(url_name):
    assert rule_for(url_name).roles == ACTIONS[url_name]
