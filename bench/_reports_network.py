"""A synthetic clinic network for bench/reports.py, written straight into a migrated PostgreSQL database.

Not a fixture of the product's tests: the rows are written with COPY (psycopg ``cursor.copy``), in bulk, so that a
million sessions and a million scale answers take minutes, not hours. Every NOT NULL column gets a value; the
append-only tables (vitals, dosing events, adverse events, invoices, payments) are only ever inserted into, which
their triggers allow (the load runs with ``session_replication_role = replica``, which skips the per-row foreign-key
and trigger calls; the builder makes every key itself). Everything is drawn from one seeded generator (numpy PCG64), so the same --seed, sizes and
--end give the same rows.

What it holds, for ``sessions`` S and ``administrations`` A (defaults 1,000,000 each):
- one clinic (America/Denver) with many sites: rooms of 3-4 chairs (infusion rooms, Spravato rooms), consult rooms;
  10 prescribers, 30 nurses, 4 front desk;
- S / 10 patients, each with a diagnosis (F33.1, F32.2, F31.x, F43.10, F41.1; a fifth also have F41.1 as a
  second one), a consult (scheduling appointment) 1-6 weeks before the first session, and one signed order
  (IV ketamine 60%, IM ketamine 15%, esketamine 25%);
- S treatment sessions over about three years up to --end: an induction of up to 6 (twice weekly), then
  maintenance every 10-40 days; past sessions mostly discharged and signed with their doses, some cancelled,
  no-show or transferred; a few weeks of booked sessions ahead; room and chair for each;
- per dosed session: vitals readings (pre-dose, during, recovery for half) with their level, start and stop
  events (pause and resume or an early stop for the sessions held by a HOLD or STOP reading), adverse events on
  about 5%, a REMS form for esketamine, an integration session for a quarter, an invoice with its line and
  (mostly) a payment;
- A scale administrations: PHQ-9 mostly, GAD-7 and PCL-5 (by diagnosis), two baselines before the first
  session, then pre-dose, 24 h, 7 d and weekly answers whose totals fall during induction (about half of the
  patients to a response) and fade back within weeks of the last dose; PHQ-9 item 9 as an ItemAnswer, and a
  safety task (mostly acknowledged, within hours) for each final PHQ-9 with item 9 above 0.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime
from importlib import import_module

import numpy as np

DAY = 86_400
MIN = 60
UTC_OFFSET_H = 7  # clinic-local (America/Denver, standard time) to UTC; near enough for synthetic times

DIAGNOSES = (  # code, label, weight, primary scale
    ("F33.1", "Major depressive disorder, recurrent, moderate", 0.30, "phq9"),
    ("F32.2", "Major depressive disorder, single episode, severe without psychotic features", 0.18, "phq9"),
    ("F31.4", "Bipolar disorder, current episode depressed, severe, without psychotic features", 0.07, "phq9"),
    ("F31.5", "Bipolar disorder, current episode depressed, severe, with psychotic features", 0.03, "phq9"),
    ("F31.81", "Bipolar II disorder", 0.05, "phq9"),
    ("F43.10", "Post-traumatic stress disorder, unspecified", 0.22, "pcl5"),
    ("F41.1", "Generalized anxiety disorder", 0.15, "gad7"),
)
SCALE_MAX = {"phq9": 27, "gad7": 21, "pcl5": 80}
SCALE_BASE = {"phq9": (13, 27), "gad7": (10, 21), "pcl5": (38, 75)}
AE_KINDS = (("nausea", 30), ("dizziness", 15), ("hypertension", 12), ("anxiety", 10), ("headache", 8),
            ("vomiting", 6), ("agitation", 5), ("emergence", 4), ("sedation", 4), ("tachycardia", 3),
            ("desaturation", 2), ("other", 1))
LOADED = ("patients_patient", "patients_diagnosis", "treatments_treatmentorder", "treatments_treatmentsession",
          "treatments_vitalsreading", "treatments_sessionevent", "treatments_adverseevent", "treatments_remsform",
          "integration_integrationsession", "scheduling_appointment", "billing_invoice", "billing_invoiceline",
          "billing_payment", "billing_invoicebalance", "measures_administration", "measures_itemanswer", "measures_safetytask")
PHQ_LOINC_ANSWERS = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


# ----------------------------------------------------------------------------------------------- COPY helpers
def _ts(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> ISO timestamps in UTC (text for COPY)."""
    return np.char.add(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "+00")


def _col(values, null_mask=None) -> np.ndarray:
    """A column as COPY text; ``null_mask`` marks NULLs."""
    arr = values if isinstance(values, np.ndarray) and values.dtype.kind in "UO" else np.asarray(values)
    if arr.dtype.kind == "f":
        arr = np.char.mod("%.2f", arr)
    elif arr.dtype.kind == "b":
        arr = np.where(arr, "t", "f")
    else:
        arr = arr.astype(str)
    if null_mask is not None:
        arr = np.where(null_mask, "\\N", arr)
    return arr


def copy_table(cur, table: str, columns: dict[str, object], n: int, constants: dict[str, str] | None = None,
               chunk: int = 200_000) -> None:
    """COPY ``n`` rows into ``table``: ``columns`` maps column -> per-row text array (or one scalar for all rows),
    ``constants`` column -> the same text on every row (empty string for blank text, "\\N" for NULL)."""
    names = list(columns) + list(constants or {})
    suffix = "".join("\t" + v for v in (constants or {}).values())
    arrays = []
    for v in columns.values():
        arrays.append(_col(v) if isinstance(v, np.ndarray) else np.full(n, str(v)))
    assert all(len(a) == n for a in arrays), (table, [len(a) for a in arrays], n)
    sql = f"COPY {table} ({', '.join(chr(34) + c + chr(34) for c in names)}) FROM STDIN"
    with cur.copy(sql) as cp:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            parts = [a[lo:hi].tolist() for a in arrays]
            buf = io.StringIO()
            buf.writelines("\t".join(row) + suffix + "\n" for row in zip(*parts, strict=True))
            cp.write(buf.getvalue().encode())


def _uuid(prefix: int, n: int, offset: int = 0) -> np.ndarray:
    """Unique, deterministic UUIDs (version 4 layout) for ``n`` rows of one table."""
    ids = np.arange(offset, offset + n)
    return np.char.add(f"{prefix:08x}-0000-4000-8000-", np.char.zfill(np.char.mod("%x", ids), 12))


def _reset_sequence(cur, table: str) -> None:
    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))")


def _monitoring_readings(cur, rng, per_session: float, d_idx, sid, dose_start, dose_end, until, nurse,
                         first_id: int, sessions_a_chunk: int = 40_000) -> int:
    """Routine readings, about ``per_session`` for each dosed session, evenly spread from 5 minutes into the dose to
    ``until`` (the session's last reading: never after its discharge or transfer; phase by time), all in the normal
    band (level 0): COPYed a chunk of sessions at a time, so twenty million rows never sit in memory at once.
    Returns how many were written."""
    written = 0
    for lo in range(0, len(d_idx), sessions_a_chunk):
        chunk = d_idx[lo:lo + sessions_a_chunk]
        k = rng.poisson(per_session, len(chunk))
        n = int(k.sum())
        if not n:
            continue
        sess = np.repeat(chunk, k)
        nth = np.arange(n) - np.repeat(np.cumsum(k) - k, k) + 1  # 1..k within each session
        start, stop = dose_start[sess] + 5 * MIN, until[sess]
        at = start + (stop - start) * nth // (np.repeat(k, k) + 1)
        phase = np.where(at < dose_end[sess], "during", "recovery")
        sys_ = np.clip(rng.normal(126, 10, n), 95, 155).round().astype(int)
        dia = np.clip(sys_ * 0.62 + rng.normal(0, 5, n), 55, 95).round().astype(int)
        copy_table(cur, "treatments_vitalsreading", {
            "id": np.arange(first_id + written, first_id + written + n), "session_id": sid[sess], "taken_at": _ts(at),
            "phase": phase, "systolic_mmHg": sys_, "diastolic_mmHg": dia,
            "heart_rate_bpm": np.clip(rng.normal(78, 9, n), 50, 115).round().astype(int),
            "spo2_percent": rng.integers(95, 101, n), "respiratory_rate_per_min": rng.integers(12, 19, n),
            "level": np.zeros(n, dtype=int), "recorded_at": _ts(at + 60), "recorded_by_id": nurse[sess]}, n,
            constants={"findings": "[]"})
        written += n
    return written


# ----------------------------------------------------------------------------------------------- the network
def build_or_reuse(reuse: bool, sessions: int, administrations: int, seed: int = 20261130, end: date | None = None,
                   vitals: int = 0) -> None:
    """The benchmarks' start: the network already in the database with ``reuse`` (when there is one), else a new
    one written now."""
    from ketaclinic.patients.models import Patient

    if reuse and Patient.objects.exists():
        print("reusing the network already in the database")
        return
    print(f"building the synthetic network: {sessions:,} sessions, {administrations:,} administrations"
          f"{f', about {vitals:,} vitals readings' if vitals else ''} (seed {seed}"
          f"{f', up to {end}' if end else ''})", flush=True)
    build(sessions, administrations, seed=seed, end=end, vitals=vitals)


def build(sessions: int = 1_000_000, administrations: int = 1_000_000, seed: int = 20261130,
          end: date | None = None, log=print, vitals: int = 0) -> dict[str, int]:
    """Fill the (migrated, empty) default database with the synthetic network; returns row counts by table.
    ``vitals``: about this many vitals readings in all (issue 16's network: 20 a session); the readings beyond the
    pre-dose, during and recovery ones are routine monitoring spread over each dose and its recovery, within the
    normal band, drawn from their own generator so the rest of the network is the same for the same seed."""
    from django.db import connection, transaction

    from ketaclinic.accounts.models import RoleGrant, User
    from ketaclinic.clinic.models import Chair, Clinic, Room
    from ketaclinic.clinical.scales import SCALES
    from ketaclinic.scheduling.models import AppointmentType

    assert connection.vendor == "postgresql", "the reports network is written with PostgreSQL's COPY"
    rng = np.random.default_rng(seed)
    end = end or date(2026, 11, 30)
    end_s = int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp())
    started = time.perf_counter()
    counts: dict[str, int] = {}

    def lap(what: str, n: int) -> None:
        counts[what] = n
        log(f"  {what}: {n:,} rows ({time.perf_counter() - started:.0f} s)")

    # ---- the clinic, staff, sites (ORM: a few hundred rows)
    clinic = Clinic.objects.create(name="Synthetic network (bench)", time_zone="America/Denver", is_demo=True)
    staff: dict[str, list[int]] = {}
    for role, n in (("prescriber", 10), ("nurse", 30), ("front_desk", 4), ("therapist", 6)):
        users = User.objects.bulk_create([User(username=f"bench-{role}-{i}", first_name="Bench",
                                               last_name=f"{role.title()} {i}", password="!", is_demo=True)
                                          for i in range(n)])
        RoleGrant.objects.bulk_create([RoleGrant(user=u, clinic=clinic, role=role) for u in users])
        staff[role] = [u.pk for u in users]
    n_sites = max(1, round(sessions / 8_000))  # ~8,000 sessions a site over three years: 3-4 chairs busy
    infusion, intranasal, consult = [], [], []
    for s in range(n_sites):
        rooms = Room.objects.bulk_create([
            Room(clinic=clinic, name=f"Site {s + 1:03d} infusion", kind=Room.Kind.INFUSION),
            Room(clinic=clinic, name=f"Site {s + 1:03d} Spravato", kind=Room.Kind.INTRANASAL),
            Room(clinic=clinic, name=f"Site {s + 1:03d} consult", kind=Room.Kind.CONSULT)])
        chairs = Chair.objects.bulk_create([Chair(room=rooms[0], label=f"Chair {c}") for c in range(1, 4)]
                                           + [Chair(room=rooms[1], label=f"Chair {c}") for c in range(1, 3)])
        infusion.append((rooms[0].pk, [c.pk for c in chairs[:3]]))
        intranasal.append((rooms[1].pk, [c.pk for c in chairs[3:]]))
        consult.append(rooms[2].pk)
    consult_type = AppointmentType.objects.create(clinic=clinic, code="consult", label="Consult", minutes=60,
                                                  clinician_roles="prescriber", room_kinds="consult")
    prescribers = np.array(staff["prescriber"])
    nurses = np.array(staff["nurse"])
    log(f"  clinic, {sum(len(v) for v in staff.values())} staff, {n_sites} sites")

    raw = connection.connection
    with transaction.atomic(), raw.cursor() as cur:
        # Every key is made here, consistently: the deferred foreign-key checks (one trigger call a row at commit)
        # would take most of the build, so they are off for this transaction (superuser, as in pg-throwaway). So
        # are the append-only triggers, which refuse updates and deletes only: this builder only inserts.
        cur.execute("SET LOCAL session_replication_role = replica")
        # Plain indexes are built once after the load (much faster than kept up row by row); the ones behind a
        # primary key or unique constraint stay.
        cur.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                       JOIN pg_class t ON t.oid = i.indrelid
                       WHERE t.relname = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                                                WHERE c.conindid = i.indexrelid)""",
                    [list(LOADED)])
        deferred_indexes = cur.fetchall()
        for name, _ in deferred_indexes:
            cur.execute(f'DROP INDEX "{name}"' if not name.startswith('"') else f"DROP INDEX {name}")
        # ---- patients
        P = max(10, sessions // 10)
        pid = np.arange(1, P + 1)
        site = rng.integers(0, n_sites, P)
        dx_w = np.array([d[2] for d in DIAGNOSES])
        dx = rng.choice(len(DIAGNOSES), P, p=dx_w / dx_w.sum())
        primary = np.array([d[3] for d in DIAGNOSES])[dx]
        secondary = np.where(primary == "phq9", "gad7", "phq9")
        # sessions per patient: an induction of up to 6, then maintenance, to exactly S in all
        induction = np.where(rng.random(P) < 0.75, 6, rng.integers(1, 6, P))
        maint = rng.poisson(max(0.0, sessions / P - induction.mean()), P)
        diff = sessions - int(induction.sum() + maint.sum())
        if diff > 0:
            maint += rng.multinomial(diff, np.full(P, 1 / P))
        while diff < 0:
            take = np.flatnonzero(maint > 0)
            pick = rng.choice(take, min(-diff, len(take)), replace=False)
            maint[pick] -= 1
            diff += len(pick)
        n_sess = induction + maint
        # more sessions: an earlier start (a patient with many maintenance sessions has been coming for years)
        order_rank = np.argsort(np.argsort(-n_sess + rng.random(P)))
        first_day = end_s - DAY * (40 + (order_rank / P) * 1050).astype(np.int64)
        first_day -= first_day % DAY
        weight = np.clip(rng.normal(82, 17, P), 45, 160).round(1)
        referral = first_day - DAY * rng.integers(14, 60, P)
        copy_table(cur, "patients_patient", {
            "id": pid, "external_id": _uuid(0x10, P), "mrn": np.char.add("BN", np.char.zfill(pid.astype(str), 9)),
            "legal_family_name": np.char.add("Synthetic", pid.astype(str)),
            "family_key": np.char.add("synthetic", pid.astype(str)),
            "date_of_birth": np.datetime_as_string((np.datetime64("1950-01-01")
                                                    + rng.integers(0, 365 * 50, P)).astype("datetime64[D]")),
            "sex_at_birth": rng.choice(["female", "male"], P, p=[0.62, 0.38]),
            "created_at": _ts(referral), "clinic_id": clinic.pk}, P,
            constants={"legal_given_name": "Bench", "given_key": "bench", "preferred_name": "", "pronouns": "",
                       "gender_identity": "", "phone": "", "email": "", "address_line1": "", "address_line2": "",
                       "city": "", "state": "", "postal_code": "", "emergency_contact_name": "",
                       "emergency_contact_phone": "", "emergency_contact_relationship": "", "escort_name": "",
                       "escort_phone": "", "allergies": "No known drug allergies", "current_medications": "",
                       "preferred_key": "", "is_demo": "t"})
        lap("patients", P)
        second_dx = rng.random(P) < 0.2
        dx_pat = np.concatenate([pid, pid[second_dx & (primary != "gad7")]])
        dx_idx = np.concatenate([dx, np.full(int((second_dx & (primary != "gad7")).sum()), len(DIAGNOSES) - 1)])
        ND = len(dx_pat)
        dx_err = rng.random(ND) < 0.005
        copy_table(cur, "patients_diagnosis", {
            "patient_id": dx_pat, "code": np.array([d[0] for d in DIAGNOSES])[dx_idx],
            "label": np.array([d[1] for d in DIAGNOSES])[dx_idx],
            "status": np.where(dx_err, "entered-in-error", "active"),
            "noted_on": np.datetime_as_string(referral[dx_pat - 1].astype("datetime64[s]"), unit="D"),
            "recorded_at": _ts(referral[dx_pat - 1]),
            "recorded_by_id": prescribers[rng.integers(0, len(prescribers), ND)],
            "error_reason": np.where(dx_err, "Wrong patient", "")}, ND, constants={"note": ""})
        lap("diagnoses", ND)

        # ---- orders: one signed order a patient
        route_r = rng.random(P)
        route = np.where(route_r < 0.60, "iv", np.where(route_r < 0.75, "im", "intranasal"))
        drug = np.where(route == "intranasal", "esketamine", "ketamine")
        mgkg = np.where(route == "iv", rng.choice([0.5, 0.5, 0.5, 0.6, 0.75], P),
                        np.where(route == "im", rng.choice([0.5, 0.75, 1.0], P), 0.0))
        fixed = np.where(route == "intranasal", rng.choice([56.0, 84.0], P, p=[0.4, 0.6]), 0.0)
        prescriber = prescribers[rng.integers(0, len(prescribers), P)]
        ord_created = first_day - DAY * rng.integers(2, 10, P)
        copy_table(cur, "treatments_treatmentorder", {
            "id": pid, "external_id": _uuid(0x20, P), "patient_id": pid, "drug": drug, "route": route,
            "dose_mg_per_kg": _col(mgkg, route == "intranasal"), "fixed_dose_mg": _col(fixed, route != "intranasal"),
            "infusion_minutes": _col(np.full(P, 40), route != "iv"), "sessions_planned": induction,
            "status": np.where(maint > 0, "active", "completed"), "created_at": _ts(ord_created),
            "created_by_id": prescriber, "signed_by_id": prescriber, "signed_at": _ts(ord_created + 600),
            "indication": "trd"}, P,
            constants={"sessions_per_week": "2", "min_spacing_days": "1", "dose_override_reason": "", "notes": ""})
        lap("treatment orders", P)

        # ---- sessions
        S = int(n_sess.sum())
        sp = np.repeat(np.arange(P), n_sess)  # patient index of each session (sorted by patient)
        pstart = np.concatenate([[0], np.cumsum(n_sess)[:-1]])
        seq = np.arange(S) - pstart[sp] + 1
        in_induction = seq <= induction[sp]
        gap = np.where(in_induction, rng.integers(2, 5, S), rng.integers(10, 41, S))
        gap[pstart] = 0
        # a late starter's maintenance is compressed to end within three weeks of --end
        raw_off = np.cumsum(gap) - np.repeat(np.cumsum(gap)[pstart], n_sess)
        span = np.maximum(raw_off[pstart + n_sess - 1], 1)
        avail = (end_s + 21 * DAY - first_day) // DAY
        squeeze = np.minimum(1.0, avail / span)
        day_off = np.floor(raw_off * squeeze[sp]).astype(np.int64)
        day0 = first_day[sp] + day_off * DAY
        wd = ((day0 // DAY) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
        day0 += np.where(wd == 5, 2, np.where(wd == 6, 1, 0)) * DAY
        start = day0 + (UTC_OFFSET_H + 8) * 3600 + rng.integers(0, 14, S) * 30 * MIN
        s_route = route[sp]
        s_drug = drug[sp]
        past = start < end_s
        r = rng.random(S)
        status = np.where(~past, "booked",
                          np.where(r < 0.05, "cancelled", np.where(r < 0.09, "no_show",
                                                                   np.where(r < 0.093, "transferred", "discharged"))))
        dosed = (status == "discharged") | (status == "transferred")
        sid = np.arange(1, S + 1)
        minutes = np.where(s_route == "intranasal", 150, 120)
        room = np.empty(S, dtype=np.int64)
        chair = np.empty(S, dtype=np.int64)
        s_site = site[sp]
        inf_rooms = np.array([r_ for r_, _ in infusion])
        inf_chairs = np.array([c for _, c in infusion])
        in_rooms = np.array([r_ for r_, _ in intranasal])
        in_chairs = np.array([c for _, c in intranasal])
        nasal = s_route == "intranasal"
        room[~nasal] = inf_rooms[s_site[~nasal]]
        chair[~nasal] = inf_chairs[s_site[~nasal], rng.integers(0, 3, int((~nasal).sum()))]
        room[nasal] = in_rooms[s_site[nasal]]
        chair[nasal] = in_chairs[s_site[nasal], rng.integers(0, 2, int(nasal.sum()))]
        # doses: titrated up after the third session for some IV/IM patients
        step_up = (rng.random(P) < 0.3)[sp] & (seq > 3) & (s_route != "intranasal")
        s_mgkg = np.where(step_up, np.minimum(mgkg[sp] + 0.25, 1.0), mgkg[sp])
        s_weight = (weight[sp] + rng.normal(0, 0.8, S)).round(1)
        dose_mg = np.where(nasal, fixed[sp], (s_mgkg * s_weight).round(1))
        check_in = start - 10 * MIN
        dose_start = start + 25 * MIN
        dose_len = np.where(s_route == "iv", 40, np.where(s_route == "im", 1, 10)) * MIN
        # held by a HOLD reading (paused, then resumed) or stopped early by a STOP reading
        held = dosed & (rng.random(S) < 0.04)
        stopped = dosed & ~held & (rng.random(S) < 0.007)
        administered = np.where(stopped, (dose_mg * 0.6).round(1), dose_mg)
        dose_end = dose_start + np.where(stopped, dose_len * 0.6, dose_len).astype(np.int64) + held * 10 * MIN
        discharged_at = start + (minutes - rng.integers(0, 30, S)) * MIN
        transferred = status == "transferred"
        override = dosed & ~transferred & (rng.random(S) < 0.015)
        nurse = nurses[rng.integers(0, len(nurses), S)]
        s_prescriber = prescriber[sp]
        nd = ~dosed
        nurse_signed = discharged_at + 30 * MIN
        presc_signed = discharged_at + DAY
        late_sign = dosed & (start > end_s - 2 * DAY)
        alert_level = np.where(stopped, 3, np.where(held, 2, 0))
        copy_table(cur, "treatments_treatmentsession", {
            "id": sid, "external_id": _uuid(0x30, S), "patient_id": pid[sp], "order_id": pid[sp], "sequence": seq,
            "drug": s_drug, "route": s_route, "room_id": room, "chair_id": chair, "scheduled_start": _ts(start),
            "scheduled_minutes": minutes, "status": status, "created_at": _ts(start - DAY * 10),
            "booked_by_id": staff["front_desk"][0],
            "checked_in_at": _col(_ts(check_in), nd & ~transferred),
            "identity_confirmed": dosed, "fasting_confirmed": dosed, "no_driving_acknowledged": dosed,
            "weight_kg": _col(s_weight, nd | nasal), "dose_mg_per_kg": _col(s_mgkg, nd | nasal),
            "prepared_dose_mg": _col(dose_mg, nd), "prepared_by_id": _col(nurse, nd),
            "prepared_at": _col(_ts(dose_start - 10 * MIN), nd), "verified_by_id": _col(nurses[(nurse % len(nurses))], nd),
            "verified_at": _col(_ts(dose_start - 5 * MIN), nd), "verified_dose_mg": _col(dose_mg, nd),
            "calculated_dose_mg": _col(dose_mg, nd),
            "dose_started_at": _col(_ts(dose_start), nd), "dose_ended_at": _col(_ts(dose_end), nd),
            "administered_mg": _col(administered, nd), "administered_by_id": _col(nurse, nd),
            "devices": _col(np.where(dose_mg > 56, 3, 2), nd | ~nasal),
            "pause_level": alert_level, "paused_at": _col(_ts(dose_start + 15 * MIN), ~(held | stopped)),
            "alert_level": alert_level, "last_vitals_at": _col(_ts(dose_end + 30 * MIN), nd),
            "alert_and_oriented": dosed & ~transferred, "steady_gait": dosed & ~transferred,
            "discharge_override_reason": np.where(override, "Escort arrived late; discharge criteria met after review",
                                                  ""),
            "discharged_at": _col(_ts(discharged_at), status != "discharged"),
            "discharged_by_id": _col(nurse, status != "discharged"),
            "transferred_at": _col(_ts(dose_start + 30 * MIN), ~transferred),
            "transfer_note": np.where(transferred, "Ambulance to the emergency department", ""),
            "nurse_signed_by_id": _col(nurse, nd | late_sign), "nurse_signed_at": _col(_ts(nurse_signed), nd | late_sign),
            "prescriber_signed_by_id": _col(s_prescriber, nd | late_sign),
            "prescriber_signed_at": _col(_ts(presc_signed), nd | late_sign),
            "pregnancy_test": np.where(dosed, "not_applicable", "")}, S,
            constants={"consent_on_file": "f", "discharge_check": "{}", "dose_override_reason": "",
                       "dose_warnings": "[]", "dose_working": "[]", "escort_name": "", "escort_phone": "",
                       "lighting": "", "lot_number": "", "music": "", "note_summary": "", "predose_override_reason": "",
                       "setting_notes": "", "vial_or_device": ""})
        lap("treatment sessions", S)

        # ---- vitals: pre-dose, during, recovery (half); the held/stopped sessions' during reading is HOLD/STOP
        d_idx = np.flatnonzero(dosed)
        rec = rng.random(len(d_idx)) < 0.5
        v_sess = np.concatenate([d_idx, d_idx, d_idx[rec]])
        v_phase = np.concatenate([np.full(len(d_idx), "pre_dose"), np.full(len(d_idx), "during"),
                                  np.full(int(rec.sum()), "recovery")])
        v_at = np.concatenate([dose_start[d_idx] - 15 * MIN, dose_start[d_idx] + 15 * MIN,
                               dose_end[d_idx[rec]] + 30 * MIN])
        NV = len(v_sess)
        mean = np.where(v_phase == "during", 142, np.where(v_phase == "pre_dose", 128, 132))
        sys_ = np.clip(rng.normal(mean, 13), 85, 230).round().astype(int)
        during = v_phase == "during"
        sys_ = np.where(during & held[v_sess], 186, np.where(during & stopped[v_sess], 206, sys_))
        dia = np.clip((sys_ * 0.62 + rng.normal(0, 6, NV)), 45, 130).round().astype(int)
        level = np.where(sys_ >= 200, 3, np.where((sys_ >= 180) | (dia >= 110), 2,
                                                  np.where((sys_ >= 160) | (dia >= 100), 1, 0)))
        vid = np.arange(1, NV + 1)
        copy_table(cur, "treatments_vitalsreading", {
            "id": vid, "session_id": sid[v_sess], "taken_at": _ts(v_at), "phase": v_phase, "systolic_mmHg": sys_,
            "diastolic_mmHg": dia, "heart_rate_bpm": np.clip(rng.normal(80, 11, NV), 45, 150).round().astype(int),
            "spo2_percent": rng.integers(94, 101, NV), "respiratory_rate_per_min": rng.integers(12, 19, NV),
            "level": level, "recorded_at": _ts(v_at + 60), "recorded_by_id": nurse[v_sess]}, NV,
            constants={"findings": "[]"})
        lap("vitals readings", NV)
        if vitals > NV and len(d_idx):
            # until the last reading the session row names: half an hour after the dose (or the discharge, if
            # sooner), or the transfer
            until = np.where(transferred, dose_start + 30 * MIN, np.minimum(dose_end + 30 * MIN, discharged_at))
            NV += _monitoring_readings(cur, np.random.default_rng(seed + 1), (vitals - NV) / len(d_idx), d_idx,
                                       sid, dose_start, dose_end, until, nurse, first_id=NV + 1)
            lap("vitals readings with routine monitoring", NV)
        # the HOLD/STOP reading of each held/stopped session is its "during" reading: index len(d_idx) + k
        during_id = np.zeros(S, dtype=np.int64)
        during_id[d_idx] = vid[len(d_idx):2 * len(d_idx)]

        # ---- dosing events
        h_idx = np.flatnonzero(held)
        st_idx = np.flatnonzero(stopped)
        e_sess = np.concatenate([d_idx, d_idx, h_idx, h_idx])
        e_kind = np.concatenate([np.full(len(d_idx), "start"), np.full(len(d_idx), "stop"),
                                 np.full(len(h_idx), "pause"), np.full(len(h_idx), "resume")])
        e_at = np.concatenate([dose_start[d_idx], dose_end[d_idx], dose_start[h_idx] + 15 * MIN,
                               dose_start[h_idx] + 25 * MIN])
        e_reading = np.concatenate([np.zeros(len(d_idx), dtype=np.int64),
                                    np.where(stopped[d_idx], during_id[d_idx], 0), during_id[h_idx],
                                    np.zeros(len(h_idx), dtype=np.int64)])
        NE = len(e_sess)
        copy_table(cur, "treatments_sessionevent", {
            "session_id": sid[e_sess], "kind": e_kind, "at": _ts(e_at), "by_id": nurse[e_sess],
            "reading_id": _col(e_reading, e_reading == 0),
            "note": np.where(e_reading > 0, "Recorded for a reading at HOLD or STOP", "")}, NE)
        lap(f"dosing events ({len(st_idx):,} stopped early)", NE)

        # ---- adverse events: ~5% of dosed sessions, all transferred sessions
        ae_mask = (rng.random(len(d_idx)) < 0.05 * np.where(s_route[d_idx] == "iv", 1.1, 0.85)) | transferred[d_idx]
        a_sess = d_idx[ae_mask]
        NA = len(a_sess)
        kw = np.array([k[1] for k in AE_KINDS], dtype=float)
        kinds = np.array([k[0] for k in AE_KINDS])[rng.choice(len(AE_KINDS), NA, p=kw / kw.sum())]
        sev = rng.choice(["mild", "moderate", "severe"], NA, p=[0.75, 0.22, 0.03])
        sev = np.where(transferred[a_sess], "severe", sev)
        onset = dose_start[a_sess] + rng.integers(5, 60, NA) * MIN
        copy_table(cur, "treatments_adverseevent", {
            "session_id": sid[a_sess], "kind": kinds, "severity": sev, "onset_at": _ts(onset),
            "resolved_at": _ts(onset + rng.integers(10, 120, NA) * MIN), "recorded_by_id": nurse[a_sess],
            "action_taken": np.where(sev == "mild", "Observed", "Dose paused; prescriber informed")}, NA,
            constants={"description": "", "rescue_medication": ""})
        lap("adverse events", NA)

        # ---- REMS forms: esketamine dosed sessions
        r_idx = d_idx[nasal[d_idx]]
        NR = len(r_idx)
        due = (start[r_idx] // DAY + 7) * DAY
        sub_delay = rng.integers(0, 10, NR)
        rstat = np.where(start[r_idx] > end_s - 3 * DAY, "complete",
                         np.where(rng.random(NR) < 0.97, "submitted", "complete"))
        copy_table(cur, "treatments_remsform", {
            "session_id": sid[r_idx], "status": rstat, "first_treatment": seq[r_idx] == 1,
            "dose_mg": dose_mg[r_idx].astype(int), "devices": np.where(dose_mg[r_idx] > 56, 3, 2),
            "completed_at": _ts(discharged_at[r_idx]),
            "due_by": np.datetime_as_string(due.astype("datetime64[s]"), unit="D"),
            "submitted_at": _col(_ts(start[r_idx] + sub_delay * DAY + DAY // 2), rstat != "submitted"),
            "submitted_by_id": _col(nurse[r_idx], rstat != "submitted"),
            "minutes_monitored": np.full(NR, 120), "transferred_to_emergency": transferred[r_idx]}, NR,
            constants={"lot_number": "", "bp_before": "", "bp_40min": "", "bp_before_completion": "",
                       "adverse_events": ""})
        lap("REMS forms", NR)

        # ---- integration sessions: a quarter of dosed sessions
        i_idx = d_idx[rng.random(len(d_idx)) < 0.25]
        NI = len(i_idx)
        w0 = dose_end[i_idx] + DAY
        istat = np.where(w0 > end_s, "offered", rng.choice(["completed", "declined", "cancelled", "offered"], NI,
                                                            p=[0.62, 0.2, 0.1, 0.08]))
        booked = istat == "completed"
        copy_table(cur, "integration_integrationsession", {
            "external_id": _uuid(0x40, NI), "patient_id": pid[sp[i_idx]], "dosing_session_id": sid[i_idx],
            "window_start": _ts(w0), "window_end": _ts(w0 + 2 * DAY), "status": istat,
            "scheduled_start": _col(_ts(w0 + 20 * 3600), ~booked),
            "therapist_id": _col(np.array(staff["therapist"])[rng.integers(0, 6, NI)], ~booked),
            "created_at": _ts(dose_end[i_idx])}, NI, constants={"scheduled_minutes": "50"})
        lap("integration sessions", NI)

        # ---- consults: one appointment a patient before the first session
        consult_at = first_day - DAY * rng.integers(7, 45, P) + (UTC_OFFSET_H + 9) * 3600
        cstat = rng.choice(["booked", "no_show", "cancelled"], P, p=[0.92, 0.05, 0.03])
        copy_table(cur, "scheduling_appointment", {
            "external_id": _uuid(0x50, P), "clinic_id": clinic.pk, "patient_id": pid, "type_id": consult_type.pk,
            "clinician_id": prescriber, "room_id": np.array(consult)[site], "start": _ts(consult_at),
            "status": cstat, "booked_by_id": staff["front_desk"][1], "created_at": _ts(referral + DAY)}, P,
            constants={"minutes": "60", "note": ""})
        lap("consult appointments", P)

        # ---- money: an invoice, a line and (mostly) a payment for each discharged session
        b_idx = np.flatnonzero(status == "discharged")
        NB = len(b_idx)
        service = np.where(s_route[b_idx] == "iv", "iv_infusion", np.where(
            s_route[b_idx] == "im", "im_injection", np.where(dose_mg[b_idx] > 56, "esketamine_84", "esketamine_56")))
        price = np.select([service == "iv_infusion", service == "im_injection", service == "esketamine_56"],
                          [45000, 30000, 60000], 80000)
        issued = discharged_at[b_idx] + 600
        inv_id = np.arange(1, NB + 1)
        copy_table(cur, "billing_invoice", {
            "id": inv_id, "external_id": _uuid(0x60, NB), "clinic_id": clinic.pk, "patient_id": pid[sp[b_idx]],
            "number": np.char.add("BS", np.char.zfill(inv_id.astype(str), 9)), "kind": "session",
            "issued_at": _ts(issued), "service_on": np.datetime_as_string(start[b_idx].astype("datetime64[s]"),
                                                                          unit="D"),
            "treatment_session_id": sid[b_idx], "rendering_provider_id": s_prescriber[b_idx],
            "total_cents": price}, NB, constants={"diagnoses": "[]", "void_reason": ""})
        copy_table(cur, "billing_invoiceline", {
            "invoice_id": inv_id, "service": service, "description": service, "amount_cents": price}, NB,
            constants={"code": "", "modifiers": "", "units": "1"})
        pay_r = rng.random(NB)
        paid = np.where(pay_r < 0.85, price, np.where(pay_r < 0.93, price // 2, 0))
        p_idx = np.flatnonzero(paid > 0)
        NPay = len(p_idx)
        copy_table(cur, "billing_payment", {
            "external_id": _uuid(0x70, NPay), "invoice_id": inv_id[p_idx], "kind": "payment",
            "method": rng.choice(["card", "cash"], NPay, p=[0.9, 0.1]), "amount_cents": paid[p_idx],
            "receipt_number": np.char.add("BR", np.char.zfill(np.arange(1, NPay + 1).astype(str), 9)),
            "at": _ts(issued[p_idx] + 300)}, NPay, constants={"reference": "", "note": ""})
        lap("invoices (+ as many lines)", NB)
        lap("payments", NPay)

        # ---- scale administrations
        A = administrations
        share = n_sess / n_sess.sum()
        a_n = np.maximum(2, np.floor(share * A).astype(int))
        diff = A - int(a_n.sum())
        if diff > 0:
            a_n += rng.multinomial(diff, share)
        while diff < 0:
            take = np.flatnonzero(a_n > 2)
            pick = rng.choice(take, min(-diff, len(take)), replace=False)
            a_n[pick] -= 1
            diff += len(pick)
        ap = np.repeat(np.arange(P), a_n)
        astart = np.concatenate([[0], np.cumsum(a_n)[:-1]])
        k = np.arange(A) - astart[ap]  # 0, 1: the two baselines
        # each later answer hangs on one of the patient's sessions
        j = pstart[ap] + np.minimum((rng.random(A) * n_sess[ap]).astype(np.int64), n_sess[ap] - 1)
        tr = rng.random(A)
        timing = np.where(tr < 0.45, "pre-dose", np.where(tr < 0.7, "24h", np.where(tr < 0.9, "7d", "weekly")))
        timing = np.where(~dosed[j] & (timing != "weekly"), "ad-hoc", timing)
        at = np.select([timing == "pre-dose", timing == "24h", timing == "7d", timing == "weekly"],
                       [start[j] - 40 * MIN, dose_end[j] + DAY, dose_end[j] + 7 * DAY,
                        start[j] + rng.integers(8, 30, A) * DAY], start[j] + 3 * DAY)
        baseline = k < 2
        at = np.where(baseline, first_day[ap] - DAY * rng.integers(1, 10, A) + (UTC_OFFSET_H + 10) * 3600, at)
        timing = np.where(baseline, "baseline", timing)
        linked = (timing == "pre-dose") | (timing == "24h") | (timing == "7d")
        scale = np.where(baseline, np.where(k == 0, primary[ap], secondary[ap]),
                         np.where(rng.random(A) < 0.72, primary[ap], secondary[ap]))
        # the effect of the dosing so far: built up over induction, fading with tau after the last dose
        depth = rng.beta(2.4, 1.9, P)
        tau = rng.uniform(8, 30, P)
        last_dose = np.where(timing == "pre-dose", j - 1, j)
        last_dose = np.maximum(last_dose, pstart[ap])
        seq_done = seq[last_dose]
        built = np.minimum(1.0, seq_done / np.maximum(induction[ap], 1))
        since = np.maximum(0, at - dose_end[last_dose]) / DAY
        in_ind = seq_done <= induction[ap]
        effect = np.where(in_ind, built * np.exp(-np.maximum(0, since - 3) / (tau[ap] * 2)),
                          np.exp(-since / tau[ap]) * 0.85 + 0.15 * built)
        effect = np.where(baseline | (at < first_day[ap]), 0.0, effect)
        lo = np.array([SCALE_BASE[s][0] for s in scale])
        hi = np.array([SCALE_BASE[s][1] for s in scale])
        base_u = rng.random((P, 3))  # each patient's baseline on each scale
        scale_col = np.select([scale == "phq9", scale == "gad7"], [0, 1], 2)
        b = lo + base_u[ap, scale_col] * (hi - lo)
        mx = np.array([SCALE_MAX[s] for s in scale])
        noise = rng.normal(0, np.where(scale == "pcl5", 4.0, 1.5))
        total = np.clip(np.round(b * (1 - depth[ap] * effect) + noise), 0, mx).astype(int)
        ar = rng.random(A)
        astat = np.where(ar < 0.015, "draft", np.where(ar < 0.025, "entered-in-error", "final"))
        draft = astat == "draft"
        bands = {code: [SCALES[code].band_for(t) or "" for t in range(SCALE_MAX[code] + 1)] for code in SCALE_MAX}
        band = np.array([bands[s][t] for s, t in zip(scale.tolist(), total.tolist(), strict=True)], dtype=object)
        band = np.where(draft, "", band)
        phq = scale == "phq9"
        q9 = np.where(rng.random(A) < np.clip((total - 9) / 36, 0.01, 0.45), rng.choice([1, 1, 1, 2, 2, 3], A), 0)
        q9 = np.where(phq, q9, 0)
        flag = phq & (q9 > 0) & ~draft
        flag_json = ('[{"code": "phq9_item9", "message": "PHQ-9 item 9 (thoughts of being better off dead or of '
                     'self-harm) answered above 0: start the suicide-risk workflow (C-SSRS screener) before any '
                     'dosing.", "urgent": true, "source": "clinical.md \\\\u00a74 PHQ-9 row"}]')
        admin_id = np.arange(1, A + 1)
        order = np.lexsort((at, ap))  # ids in time order within each patient
        ap, at, timing, scale, total, astat, band, q9, flag, j, linked, draft = (
            x[order] for x in (ap, at, timing, scale, total, astat, band, q9, flag, j, linked, draft))
        copy_table(cur, "measures_administration", {
            "id": admin_id, "external_id": _uuid(0x80, A), "patient_id": pid[ap], "scale": scale, "status": astat,
            "source": np.where(timing == "pre-dose", "staff", "portal"), "timing": timing,
            "session_id": _col(sid[j], ~linked), "administered_at": _ts(at),
            "total": _col(total, draft), "band": band, "flags": np.where(flag, flag_json, "[]"),
            "complete": ~draft, "created_at": _ts(at), "updated_at": _ts(at),
            "finalized_at": _col(_ts(at + 60), draft), "error_reason": np.where(astat == "entered-in-error",
                                                                               "Entered for the wrong patient", "")},
            A, constants={"scoring_detail": ""})
        lap("scale administrations", A)
        q_idx = np.flatnonzero(scale == "phq9")
        NQ = len(q_idx)
        copy_table(cur, "measures_itemanswer", {
            "administration_id": admin_id[q_idx], "value": q9[q_idx],
            "loinc_answer": np.array(PHQ_LOINC_ANSWERS)[q9[q_idx]]}, NQ,
            constants={"item_id": "q9", "loinc_code": "44260-8"})
        lap("PHQ-9 item 9 answers", NQ)
        t_idx = np.flatnonzero(flag & (astat == "final"))
        NT = len(t_idx)
        ack_delay = np.exp(rng.normal(np.log(2 * 3600), 1.0, NT)).astype(np.int64)
        open_ = (at[t_idx] > end_s - 2 * DAY) | (rng.random(NT) < 0.01)
        assigned = prescriber[ap[t_idx]]
        copy_table(cur, "measures_safetytask", {
            "external_id": _uuid(0x90, NT), "patient_id": pid[ap[t_idx]], "administration_id": admin_id[t_idx],
            "flag_code": "phq9_item9", "created_at": _ts(at[t_idx] + 60), "assigned_to_id": assigned,
            "status": np.where(open_, "open", "acknowledged"),
            "acknowledged_by_id": _col(assigned, open_), "acknowledged_at": _col(_ts(at[t_idx] + 60 + ack_delay), open_),
            "action_taken": np.where(open_, "", "contacted")}, NT,
            constants={"message": "PHQ-9 item 9 answered above 0", "source": "clinical.md §4 PHQ-9 row",
                       "action_note": "", "origin": "", "origin_path": ""})
        lap("safety tasks", NT)

        log(f"  rebuilding {len(deferred_indexes)} indexes ...")
        for _, definition in deferred_indexes:
            cur.execute(definition)
        lap("indexes rebuilt", len(deferred_indexes))
        # each invoice's kept balance (its triggers are off for this load), by the statement the upgrade that
        # added them runs (billing 0004), once the payments' index on their invoice is back
        cur.execute(import_module("ketaclinic.billing.migrations.0004_invoice_balance_backfill").BACKFILL)
        lap("invoice balances", NB)
        for table in ("patients_patient", "treatments_treatmentorder", "treatments_treatmentsession",
                      "treatments_vitalsreading", "billing_invoice", "measures_administration"):
            _reset_sequence(cur, table)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    log(f"  analysed; network built in {time.perf_counter() - started:.0f} s")
    return counts
