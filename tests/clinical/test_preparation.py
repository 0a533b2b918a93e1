from ketaclinic.clinical.preparation import aftercare_instructions, preparation_instructions


def test_esketamine_fasting_is_the_labels():
    text = " ".join(preparation_instructions("esketamine", "intranasal"))
    assert "2 hours" in text and "30 minutes" in text and "1 hour" in text


def test_iv_ketamine_invents_no_fasting_number():
    text = " ".join(preparation_instructions("ketamine", "iv"))
    assert "hour" not in text and "minute" not in text
    assert "Do not drive" in text


def test_aftercare_forbids_driving_until_next_day():
    assert any("until the next day" in s for s in aftercare_instructions("ketamine", "im"))
