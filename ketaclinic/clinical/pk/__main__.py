"""``python -m ketaclinic.clinical.pk``: simulate a dosing regimen for a virtual population and write CSV.

Every value written is a model estimate, not a measured level; the CSV's first lines (starting with '#') say so
and name the model, its source and status.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence

import numpy as np

from .absorption import IM_BIOAVAILABILITY, im_absorption
from .engine import Grid
from .errors import LABEL, PKInputError
from .models import MODELS, Patients, get_model
from .population import sample_etas
from .regimen import Absorbed, Bolus, Infusion, Regimen
from .simulate import simulate, time_below

EPILOG = """\
doses (repeat each option as often as needed; times in minutes from the session start, doses in mg):
  --infusion START END MG        an IV infusion of MG spread evenly from START to END
                                 (a pause is two infusions with a gap; a rate change, two that meet)
  --bolus TIME MG                an IV bolus
  --nasal TIME MG                esketamine nasal spray (28 mg per device; perez-ruixo model)
  --im TIME MG                   an adult IM injection of racemic ketamine (domino, clements, hijazi), with
    --im-tmax MIN                its time to peak (required: pk-models.md §1.4 quotes 5-15 min from secondary
                                 summaries, status U); the absorption rate is solved so the model peaks then
    --im-f FRACTION              its bioavailability (default 0.93, the same unconfirmed source)

covariates (perez-ruixo; the racemic models have none and ignore them):
  --asian                        Asian patient: esketamine kel x0.36, noresketamine CLn/F x0.81
  --japanese                     Japanese patient (give --asian too): nasal fraction FRn x1.34

examples:
  python -m ketaclinic.clinical.pk --model domino --weight 70 --age 40 --infusion 0 40 35 --out curve.csv
  python -m ketaclinic.clinical.pk --model perez-ruixo --weight 74 --age 45 --nasal 0 28 --nasal 5 28 \\
      --patients 1000 --seed 1 --stop 480 --summary --threshold 20 --out esk.csv
  python -m ketaclinic.clinical.pk --model domino --weight 80 --age 35 --im 0 40 --im-tmax 15 --out im.csv
  python -m ketaclinic.clinical.pk --model perez-ruixo --weight 60 --age 50 --asian --japanese \\
      --nasal 0 28 --nasal 5 28 --out esk-japanese.csv

Without --patients the typical patient of the model is simulated; with it, N virtual patients drawn from the
model's published inter-individual variability (seeded). --summary writes percentiles per time instead of one
column per patient.
"""


def positive_int(text: str) -> int:
    """A whole number of 1 or more, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ketaclinic.clinical.pk",
        description=f"Predicted ketamine / esketamine plasma levels (ng/mL) for a dosing regimen: {LABEL}.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=sorted(MODELS), help="published model to use")
    p.add_argument("--weight", type=float, required=True, help="body weight, kg")
    p.add_argument("--age", type=float, required=True, help="age, years (checked against the model's population)")
    p.add_argument("--asian", action="store_true", help="Asian patient (perez-ruixo covariate)")
    p.add_argument("--japanese", action="store_true", help="Japanese patient, with --asian (perez-ruixo covariate)")
    p.add_argument("--infusion", nargs=3, type=float, action="append", default=[], metavar=("START", "END", "MG"))
    p.add_argument("--bolus", nargs=2, type=float, action="append", default=[], metavar=("TIME", "MG"))
    p.add_argument("--nasal", nargs=2, type=float, action="append", default=[], metavar=("TIME", "MG"))
    p.add_argument("--im", nargs=2, type=float, action="append", default=[], metavar=("TIME", "MG"))
    p.add_argument("--im-tmax", type=float, default=None, metavar="MIN",
                   help="IM time to peak, min (required with --im; unconfirmed, pk-models.md §1.4)")
    p.add_argument("--im-f", type=float, default=IM_BIOAVAILABILITY.value, metavar="FRACTION",
                   help="IM bioavailability (default 0.93; unconfirmed, pk-models.md §1.4)")
    p.add_argument("--start", type=float, default=0.0, help="first output time, min (default 0)")
    p.add_argument("--stop", type=float, default=240.0, help="last output time, min (default 240)")
    p.add_argument("--step", type=float, default=1.0, help="output step, min (default 1)")
    p.add_argument("--patients", type=positive_int, default=None,
                   help="number of virtual patients (Monte Carlo), 1 or more")
    p.add_argument("--seed", type=int, default=0, help="random seed for the virtual patients (default 0)")
    p.add_argument("--summary", action="store_true", help="write 5th/50th/95th percentiles, not every patient")
    p.add_argument("--threshold", type=float, default=None,
                   help="also report when each patient falls below this level for good, ng/mL (advice only)")
    p.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    return p


def regimen_from(args: argparse.Namespace) -> Regimen:
    doses = [Infusion.of_dose(mg, start, end) for start, end, mg in args.infusion]
    doses += [Bolus(t, mg) for t, mg in args.bolus]
    if args.nasal and get_model(args.model).drug != "esketamine":
        raise PKInputError("--nasal is esketamine nasal spray: use --model perez-ruixo (no published model gives a "
                           "racemic ketamine nasal absorption).", "nasal")
    doses += [Absorbed(t, mg, "intranasal") for t, mg in args.nasal]
    if args.im:
        model = get_model(args.model)
        if model.drug == "esketamine" or (model.population.age_min or 0) < 18:
            raise PKInputError(f"--im is an adult IM injection of racemic ketamine: the {model.name} model is not "
                               "one for it (use domino, clements or hijazi).", "im")
        if args.im_tmax is None:
            raise PKInputError("give --im-tmax, the IM time to peak in minutes: no confirmed adult value exists "
                               "(pk-models.md §1.4 quotes 5-15 min from secondary summaries, status U).", "im_tmax")
        absorption = im_absorption(args.model, args.weight, args.age, args.im_tmax, args.im_f)
        doses += [Absorbed(t, mg, "im", absorption) for t, mg in args.im]
    return Regimen(doses)


def run(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        model = get_model(args.model)
        regimen = regimen_from(args)
        grid = Grid(args.start, args.stop, args.step)
        n = args.patients or 1
        etas = sample_etas(model, n, args.seed) if args.patients else None
        patients = Patients.of(np.full(n, args.weight), np.full(n, args.age), args.asian, args.japanese)
        pred = simulate(model, regimen, patients, grid, etas=etas)
        below = {out: time_below(model, regimen, patients, args.threshold, out, etas).minutes
                 for out in model.outputs} if args.threshold is not None else {}
    except PKInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stream = sys.stdout if args.out == "-" else open(args.out, "w", newline="")  # noqa: SIM115
    try:
        write_csv(stream, model, args, pred.times_min, pred.concentrations, below)
    finally:
        if stream is not sys.stdout:
            stream.close()
    return 0


def write_csv(stream, model, args, times, conc, below) -> None:  # type: ignore[no-untyped-def]
    stream.write(f"# {LABEL}\n# model: {model.name} ({model.drug}); status {model.status}; {model.citation}\n")
    race = f"Asian {'yes' if args.asian else 'no'}, Japanese {'yes' if args.japanese else 'no'}"
    if not model.race_covariates:
        race += " (no race covariate in this model)"
    stream.write(f"# weight {args.weight:g} kg, age {args.age:g} y, {race}; concentrations in ng/mL; "
                 "time in minutes\n")
    if args.patients:
        stream.write(f"# {args.patients} virtual patients, seed {args.seed}, published variability only\n")
    if args.im:
        stream.write(f"# IM: time to peak {args.im_tmax:g} min, bioavailability {args.im_f:g} (unconfirmed: "
                     "pk-models.md §1.4, status U); the absorption rate is solved for the typical patient\n")
    for out, minutes in below.items():
        finite = minutes[np.isfinite(minutes)]
        text = (f"median {np.median(finite):.1f} min (5th-95th percentile {np.percentile(finite, 5):.1f}-"
                f"{np.percentile(finite, 95):.1f})" if finite.size else "never reached")
        stream.write(f"# {out} last at or above {args.threshold:g} ng/mL: {text}; "
                     f"{int((~np.isfinite(minutes)).sum())} of {minutes.size} never reach it\n")
    w = csv.writer(stream)
    names = list(conc)
    if args.summary or not args.patients:
        cols = ["p5", "p50", "p95"] if args.patients else ["typical"]
        w.writerow(["time_min"] + [f"{n}_{c}_ng_per_ml" for n in names for c in cols])
        stats = {n: (np.percentile(conc[n], [5, 50, 95], axis=0) if args.patients else conc[n][:1])
                 for n in names}
        for j, t in enumerate(times):
            w.writerow([f"{t:.6g}"] + [f"{v:.6g}" for n in names for v in stats[n][:, j]])
    else:
        n = conc[names[0]].shape[0]
        w.writerow(["time_min"] + [f"{name}_patient{p + 1}_ng_per_ml" for name in names for p in range(n)])
        for j, t in enumerate(times):
            w.writerow([f"{t:.6g}"] + [f"{v:.6g}" for name in names for v in conc[name][:, j]])


if __name__ == "__main__":
    sys.exit(run())
