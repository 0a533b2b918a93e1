"""The systemd timers in deploy/ run management commands through ketaclinic-task@.service; a timer naming a command
that does not exist fails every time it fires, silently, on the clinic's server. Each must name a real command."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from django.core.management import get_commands

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_every_timer_starts_a_task_whose_command_exists():
    timers = sorted(DEPLOY.glob("*.timer"))
    assert len(timers) >= 5
    commands = get_commands()
    for timer in timers:
        unit = configparser.ConfigParser(interpolation=None)
        unit.read(timer)
        started = unit["Timer"]["Unit"]
        match = re.fullmatch(r"ketaclinic-task@(\w+)\.service", started)
        assert match, f"{timer.name} starts {started}, not a ketaclinic-task@<command>.service"
        assert match.group(1) in commands, f"{timer.name} runs manage.py {match.group(1)}, which does not exist"
        assert unit["Timer"].get("OnCalendar"), f"{timer.name} has no schedule"
    assert (DEPLOY / "ketaclinic-task@.service").exists()
