"""The PK command line (``python -m ketaclinic.clinical.pk``): every CSV opens with the model-estimate label, the
header names the patient's covariates, Perez-Ruixo's race covariates reach the prediction, --summary writes
percentile columns, and bad arguments are refused without a CSV."""

from __future__ import annotations

import csv
import io

import pytest

from ketaclinic.clinical.pk.__main__ import run

NASAL = ["--model", "perez-ruixo", "--weight", "74", "--age", "45", "--nasal", "0", "28", "--nasal", "5", "28",
         "--stop", "240", "--step", "60"]


def cli(capsys, *argv: str) -> tuple[list[str], list[list[str]]]:
    """The comment lines and the CSV rows the command writes to standard output."""
    assert run(list(argv)) == 0
    out = capsys.readouterr().out
    comments = [line for line in out.splitlines() if line.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(line for line in out.splitlines() if not line.startswith("#")))))
    assert out.splitlines()[: len(comments)] == comments  # the comments come first
    return comments, rows


def test_the_csv_opens_with_the_label_and_names_the_covariates(capsys):
    comments, rows = cli(capsys, *NASAL)
    assert comments[0] == "# model estimate, not a measured level"
    assert "Perez-Ruixo 2021" in comments[1] and "status S" in comments[1]
    assert "weight 74 kg, age 45 y, Asian no, Japanese no" in comments[2]
    assert rows[0] == ["time_min", "esketamine_typical_ng_per_ml", "noresketamine_typical_ng_per_ml"]
    assert [r[0] for r in rows[1:]] == ["0", "60", "120", "180", "240"]


def test_an_asian_and_japanese_patient_gets_the_covariate_prediction(capsys):
    _, plain = cli(capsys, *NASAL)
    comments, covariate = cli(capsys, *NASAL, "--asian", "--japanese")
    assert "Asian yes, Japanese yes" in comments[2]
    # a larger nasal fraction and slower elimination: higher esketamine at every sampled time after the dose
    assert all(float(c[1]) > float(p[1]) for p, c in zip(plain[2:], covariate[2:], strict=True))
    _, asian = cli(capsys, *NASAL, "--asian")
    assert all(float(p[1]) < float(a[1]) < float(c[1]) for p, a, c in zip(plain[2:], asian[2:], covariate[2:],
                                                                           strict=True))


def test_a_model_without_race_covariates_says_so(capsys):
    comments, _ = cli(capsys, "--model", "domino", "--weight", "70", "--age", "40", "--infusion", "0", "40", "35",
                      "--asian", "--stop", "60", "--step", "30")
    assert comments[0] == "# model estimate, not a measured level"
    assert "Asian yes, Japanese no (no race covariate in this model)" in comments[2]


def test_summary_writes_percentiles_for_the_virtual_patients(capsys):
    comments, rows = cli(capsys, *NASAL, "--patients", "200", "--seed", "3", "--summary", "--threshold", "20")
    assert comments[0] == "# model estimate, not a measured level"
    assert "# 200 virtual patients, seed 3, published variability only" in comments
    assert any(c.startswith("# esketamine last at or above 20 ng/mL: median ") for c in comments)
    assert rows[0] == ["time_min"] + [f"{out}_{p}_ng_per_ml" for out in ("esketamine", "noresketamine")
                                      for p in ("p5", "p50", "p95")]
    for row in rows[2:]:
        p5, p50, p95 = map(float, row[1:4])
        assert 0 < p5 < p50 < p95


def test_japanese_without_asian_is_refused_with_no_csv(capsys):
    assert run([*NASAL, "--japanese"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "a Japanese patient is also Asian" in err


@pytest.mark.parametrize("count", ["0", "-3", "two"])
def test_the_number_of_virtual_patients_must_be_one_or_more(capsys, count):
    with pytest.raises(SystemExit) as exit_:
        run([*NASAL, "--patients", count])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "--patients" in err


def test_the_csv_goes_to_the_named_file(tmp_path, capsys):
    target = tmp_path / "esk.csv"
    assert run([*NASAL, "--asian", "--out", str(target)]) == 0
    assert capsys.readouterr().out == ""
    lines = target.read_text().splitlines()
    assert lines[0] == "# model estimate, not a measured level" and "Asian yes, Japanese no" in lines[2]


def test_an_im_injection_peaks_at_the_time_to_peak_given_and_says_it_is_unconfirmed(capsys):
    comments, rows = cli(capsys, "--model", "domino", "--weight", "80", "--age", "35", "--im", "0", "40",
                         "--im-tmax", "15", "--stop", "30", "--step", "1")
    assert comments[0] == "# model estimate, not a measured level"
    assert any("IM: time to peak 15 min, bioavailability 0.93 (unconfirmed" in c for c in comments)
    levels = [float(r[1]) for r in rows[1:]]
    assert max(range(len(levels)), key=levels.__getitem__) == 15  # the highest level at minute 15


@pytest.mark.parametrize("argv, says", [
    (["--model", "domino", "--im", "0", "40"], "give --im-tmax"),
    (["--model", "perez-ruixo", "--im", "0", "40", "--im-tmax", "10"], "not one for it (use domino"),
    (["--model", "herd", "--im", "0", "40", "--im-tmax", "10"], "the Herd"),
    (["--model", "domino", "--nasal", "0", "28"], "use --model perez-ruixo"),
])
def test_a_route_the_command_cannot_simulate_is_refused_with_no_csv(capsys, argv, says):
    assert run([*argv, "--weight", "25" if "herd" in argv else "80", "--age", "8" if "herd" in argv else "35",
                "--stop", "30"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and says in err
