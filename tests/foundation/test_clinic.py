from __future__ import annotations

import subprocess
import sys

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.models import Room
from ketaclinic.clinical.settings import defaults


def test_admin_changes_a_limit_and_it_is_audited(client_for, clinic):
    key = "vitals.systolic_hold_mmHg"
    old = clinic.limits()[key]
    response = client_for("clinic_admin").post(reverse("clinic:limits_save"), {key: "170"})
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.limits()[key] == 170
    assert clinic.clinical_settings == {key: 170}  # only differences from the core's defaults are stored
    entry = AuditEntry.objects.get(action="clinic.limits.updated")
    assert entry.details["changes"][key] == {"old": old, "new": 170}


def test_a_bad_limit_changes_nothing(client_for, clinic):
    response = client_for("clinic_admin").post(reverse("clinic:limits_save"), {"vitals.systolic_hold_mmHg": "9999"})
    assert response.status_code == 200
    assert "systolic" in response.content.decode().lower()
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}
    assert not AuditEntry.objects.filter(action="clinic.limits.updated").exists()


def test_limits_page_labels_unconfirmed_defaults(client_for):
    body = client_for("nurse").get(reverse("clinic:limits")).content.decode()
    assert "unconfirmed default" in body and "confirmed" in body
    assert 'name="vitals.systolic_hold_mmHg"' not in body  # nurses read, only clinic admins edit


def test_nurse_cannot_post_limits(client_for, clinic):
    response = client_for("nurse").post(reverse("clinic:limits_save"), {"vitals.systolic_hold_mmHg": "170"})
    assert response.status_code == 403
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}


def test_clinic_settings_validate_dea_and_time_zone(client_for, clinic):
    c = client_for("clinic_admin")
    data = {"name": "Aspen", "time_zone": "Mars/Olympus", "dea_registration": "FA1234560", "working_weekdays": "0,1,2",
            "crisis_line": "988"}
    response = c.post(reverse("clinic:settings"), data)
    body = response.content.decode()
    assert response.status_code == 200 and "time zone" in body
    data.update(time_zone="America/Denver", dea_registration="FA1234563")
    assert c.post(reverse("clinic:settings"), data).status_code == 302
    clinic.refresh_from_db()
    assert clinic.dea_registration == "FA1234563" and clinic.time_zone == "America/Denver"
    assert AuditEntry.objects.filter(action="clinic.updated").exists()


def test_rooms_with_chairs(client_for, clinic):
    c = client_for("clinic_admin")
    c.post(reverse("clinic:room_add"), {"name": "Infusion Room A", "kind": "infusion", "chairs": 2})
    room = Room.objects.get()
    assert [ch.label for ch in room.chairs.all()] == ["Chair 1", "Chair 2"]
    response = c.post(reverse("clinic:room_add"), {"name": "infusion room a", "kind": "infusion", "chairs": 1})
    assert "already a room" in response.content.decode()
    assert client_for("front_desk").post(reverse("clinic:room_add"), {"name": "X", "kind": "consult", "chairs": 1}).status_code == 403


def test_today_refreshes_as_a_fragment(client_for):
    response = client_for("nurse").get(reverse("clinic:today"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="today-panels"' in body and "<html" not in body


def test_csp_header_has_a_nonce_and_no_cdn(client_for):
    response = client_for("nurse").get(reverse("clinic:today"))
    csp = response["Content-Security-Policy"]
    assert "'nonce-" in csp and "script-src 'self'" in csp
    body = response.content.decode()
    assert "http://" not in body and "https://" not in body


def test_defaults_cover_every_stored_key():
    assert set(defaults()) >= {"vitals.systolic_hold_mmHg", "observation.esketamine_min_minutes"}


@pytest.mark.parametrize("env,message", [
    ({"DB": "oracle"}, "DB='oracle'"),
    ({"DEBUG": "maybe"}, "DEBUG='maybe'"),
    ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES=0"),
    ({"SECRET_KEY": "short"}, "at least 32"),
])
def test_settings_fail_loudly_on_bad_values(env, message, tmp_path):
    import os

    run_env = {k: v for k, v in os.environ.items() if not k.startswith("DB")}
    run_env.update({"KETACLINIC_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "ketaclinic.settings", **env})
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=run_env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr


def test_secret_key_is_generated_outside_the_repo_and_kept(tmp_path):
    import os

    run_env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "KETACLINIC_TESTING")}
    run_env.update({"KETACLINIC_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "ketaclinic.settings"})
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unticking_a_boolean_limit_is_explicit(client_for, clinic):
    c = client_for("clinic_admin")
    c.post(reverse("clinic:limits_save"), {"discharge.no_driving_ack_required__shown": "1"})
    clinic.refresh_from_db()
    assert clinic.limits()["discharge.no_driving_ack_required"] is False
    c.post(reverse("clinic:limits_save"), {"discharge.no_driving_ack_required__shown": "1", "discharge.no_driving_ack_required": "on"})
    clinic.refresh_from_db()
    assert clinic.limits()["discharge.no_driving_ack_required"] is True


def test_pages_show_times_in_the_clinic_time_zone(client_for, clinic):
    from datetime import timedelta

    clinic.time_zone = "Pacific/Honolulu"
    clinic.save()
    response = client_for("nurse").get(reverse("clinic:today"))
    assert response.context["now"].tzinfo.key == "Pacific/Honolulu"
    assert response.context["now"].utcoffset() == timedelta(hours=-10)
