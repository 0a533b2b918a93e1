"""classify_latest reads the earlier readings (newest first) only as far back as the sustained-limit rule looks, so a
caller can hand it a lazy reader over a session of any length; its answers are classify_series's."""

from __future__ import annotations

from datetime import datetime, timedelta

from ketaclinic.clinical.vitals import Level, VitalReading, classify_latest, classify_series

T0 = datetime(2025, 1, 6, 9, 0)
NORMAL = VitalReading(126, 80, 74, 98)
HIGH = VitalReading(186, 100, 80, 98)


class Counted:
    """Earlier readings, newest first, counting how many were read."""

    def __init__(self, readings):
        self.readings, self.read = readings, 0

    def __iter__(self):
        for r in self.readings:
            self.read += 1
            yield r


def test_a_reading_within_the_hold_limits_reads_no_history():
    earlier = Counted([(T0 - timedelta(minutes=m), HIGH) for m in range(1, 400)])
    a = classify_latest(T0, NORMAL, earlier, phase="during")
    assert a.level == Level.OK and earlier.read == 0


def test_a_high_reading_reads_back_to_the_first_normal_one_only():
    history = [(T0 - timedelta(minutes=m), HIGH) for m in (1, 2, 3)] + \
              [(T0 - timedelta(minutes=m), NORMAL) for m in range(4, 400)]
    earlier = Counted(history)
    a = classify_latest(T0, HIGH, earlier, phase="during")
    assert a.level == Level.HOLD and earlier.read == 4  # three high, then the normal one that ends the run
    assert a == classify_series(history[::-1] + [(T0, HIGH)], phase="during")


def test_a_run_longer_than_the_limit_is_followed_to_its_start_and_matches_the_whole_series():
    history = [(T0 - timedelta(minutes=m), HIGH if m != 7 else VitalReading(heart_rate_bpm=80))
               for m in range(1, 31)] + [(T0 - timedelta(minutes=31), NORMAL)]
    earlier = Counted(history)
    a = classify_latest(T0, HIGH, earlier, phase="during")
    assert a.level == Level.STOP and earlier.read == 31
    assert any(f.message.startswith("blood pressure above the hold limit for 30 min") for f in a.findings)
    assert a == classify_series(history[::-1] + [(T0, HIGH)], phase="during")


def test_high_blood_pressure_and_heart_rate_share_one_read_of_the_history():
    both = VitalReading(186, 100, 130, 98)
    earlier = Counted([(T0 - timedelta(minutes=m), both) for m in range(1, 7)] + [(T0 - timedelta(minutes=7), NORMAL)])
    a = classify_latest(T0, both, earlier, phase="during")
    assert a.level == Level.STOP and earlier.read == 7  # each reading fetched once for both rules
    assert {f.vital for f in a.findings if f.level == Level.STOP} == {"blood pressure", "heart rate"}
