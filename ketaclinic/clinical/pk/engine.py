"""Exact, vectorised linear compartment engine: N patients at once, any schedule of zero-order inputs and impulses.

Mathematics (pk-models.md §4): the amounts x (mg) obey dx/dt = K x + r(t), with K the (n x n) rate matrix of a
patient (1/min) and r(t) piecewise constant (zero-order infusions, including an absorption depot's zero-order
filling) plus impulses (boluses, and doses placed in an absorption depot). Each patient's K is diagonalised once,
K = P diag(-lambda) P^-1, and the modal state z = P^-1 x is propagated exactly from breakpoint to breakpoint:

    z(t + s) = z(t) e^(-lambda s) + b (1 - e^(-lambda s)) / lambda,     b = P^-1 r on the segment,

so a concentration is a sum of exponentials on every segment, with no step error at any resolution. A first-order
absorption depot is one more compartment (its mode is ka), a metabolite is a downstream block of compartments
(block lower-triangular K), a hepatic first-pass compartment is one more compartment in the system.

Uniform grids are filled segment by segment as a batched (blocks x modes) @ (modes x block) matrix product whose
factors are exact exponentials (e^(-lambda (a + b)) = e^(-lambda a) e^(-lambda b) and
(1 - e^(-lambda (a + b))) = (1 - e^(-lambda a)) + e^(-lambda a) (1 - e^(-lambda b))), so no error builds up.
A patient whose eigenvector matrix is ill-conditioned (two modes nearly equal, e.g. an absorption rate equal to a
disposition rate) is evaluated instead through the matrix exponential of the augmented system (Van Loan), which
has no such singularity.

Times are in minutes, amounts in mg, volumes in L; concentrations come out in ng/mL (mg/L x 1000).
NumPy only; no Django, no SciPy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .errors import PKInputError

#: Patients whose eigenvector matrix has a 1-norm condition number above this are evaluated through the matrix
#: exponential instead of modal sums (round-off in the modal form grows like eps x condition number).
COND_LIMIT = 1e6
NG_PER_ML_PER_MG_PER_L = 1000.0


@dataclass(frozen=True)
class Grid:
    """A uniform time grid: ``start``, ``start + step``, ... up to and including ``stop`` (minutes)."""

    start: float
    stop: float
    step: float

    def __post_init__(self) -> None:
        for name in ("start", "stop", "step"):
            if not math.isfinite(getattr(self, name)):
                raise PKInputError("must be a finite number of minutes.", name)
        if self.step <= 0:
            raise PKInputError("the grid step must be more than 0 minutes.", "step")
        if self.stop < self.start:
            raise PKInputError("the grid ends before it starts.", "stop")

    @property
    def count(self) -> int:
        return int(math.floor((self.stop - self.start) / self.step * (1 + 1e-12))) + 1

    @property
    def times(self) -> np.ndarray:
        return self.start + np.arange(self.count) * self.step


@dataclass(frozen=True)
class ZeroOrder:
    """A constant input of ``rate`` mg/min per patient (array (N,) or scalar) into ``compartment`` from ``start``
    up to ``end`` (minutes)."""

    compartment: int
    start: float
    end: float
    rate: np.ndarray | float


@dataclass(frozen=True)
class Impulse:
    """``amount`` mg per patient (array (N,) or scalar) placed in ``compartment`` at ``time`` (minutes)."""

    compartment: int
    time: float
    amount: np.ndarray | float


Input = ZeroOrder | Impulse


@dataclass(frozen=True)
class LinearSystem:
    """N patients' linear compartment models: ``rates[p]`` is patient p's K (1/min), with K[i, j] the first-order
    rate from compartment j into compartment i and K[j, j] minus everything leaving j."""

    rates: np.ndarray
    compartments: tuple[str, ...]

    def __post_init__(self) -> None:
        k = np.asarray(self.rates, dtype=float)
        if k.ndim != 3 or k.shape[1] != k.shape[2] or k.shape[1] != len(self.compartments) or k.shape[0] < 1:
            raise PKInputError("rates must have shape (patients, compartments, compartments).", "rates")
        if not np.isfinite(k).all():
            raise PKInputError("every rate constant must be a finite number.", "rates")
        off = k.copy()
        idx = np.arange(k.shape[1])
        off[:, idx, idx] = 0.0
        if (off < 0).any():
            raise PKInputError("a transfer rate between compartments is negative.", "rates")
        if (k.sum(axis=1) > 1e-12 * np.abs(k).max()).any():
            raise PKInputError("a compartment sends out more than it loses (mass would be created).", "rates")
        object.__setattr__(self, "rates", k)

    @property
    def patients(self) -> int:
        return self.rates.shape[0]

    def index(self, name: str) -> int:
        try:
            return self.compartments.index(name)
        except ValueError:
            raise PKInputError(f"no compartment named {name!r} in this model.", "compartment") from None


@dataclass(frozen=True)
class Observation:
    """A concentration to report: the amount in ``compartment`` divided by ``volume`` (L, array (N,))."""

    compartment: int
    volume: np.ndarray


@dataclass
class Modes:
    """One eigendecomposition per patient: K = P diag(-lam) P^-1 (lam > 0, 1/min)."""

    lam: np.ndarray  # (N, n)
    P: np.ndarray  # (N, n, n)
    Pinv: np.ndarray  # (N, n, n)
    exact: np.ndarray  # (N,) bool: modal sums are accurate for this patient (else: matrix exponential)

    @classmethod
    def of(cls, system: LinearSystem) -> Modes:
        sym = _symmetrized(system.rates)
        if sym is not None:  # K = D^(1/2) S D^(-1/2) with S symmetric: S = Q diag(-lam) Q^T, Q orthogonal
            s, root_d = sym
            vals, q = np.linalg.eigh(s)  # ascending -lam: lam descending
            lam = -vals[:, ::-1]
            q = q[:, :, ::-1]
            vecs = root_d[:, :, None] * q
            pinv = q.transpose(0, 2, 1) / root_d[:, None, :]
            if (lam <= 0).any():
                raise PKInputError("a compartment never empties (a rate matrix without elimination).", "rates")
        else:
            vals, vecs = np.linalg.eig(system.rates)
            if np.iscomplexobj(vals):
                if np.abs(vals.imag).max() > 1e-9 * np.abs(vals).max():
                    raise PKInputError("the model has oscillating modes; it is not a compartment model.", "rates")
                vals, vecs = vals.real, vecs.real
            lam = -vals
            if (lam <= 0).any():
                raise PKInputError("a compartment never empties (a rate matrix without elimination).", "rates")
            order = np.argsort(lam, axis=1)
            lam = np.take_along_axis(lam, order, axis=1)
            vecs = np.take_along_axis(vecs, order[:, None, :], axis=2)
            pinv = np.linalg.inv(vecs)
        cond = np.abs(vecs).sum(axis=1).max(axis=1) * np.abs(pinv).sum(axis=1).max(axis=1)
        return cls(lam=lam, P=vecs, Pinv=pinv, exact=np.isfinite(cond) & (cond < COND_LIMIT))


def _symmetrized(k: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For a reversible system (every transfer has its way back, and the flows balance around every loop, as in
    mammillary and catenary models): S = D^(-1/2) K D^(1/2), symmetric, and sqrt(D) (N, n), with D the diagonal
    of "volumes" d_j / d_i = K[j, i] / K[i, j] along a spanning tree. Symmetric S is diagonalised by the
    symmetric eigensolver (faster and better conditioned than the general one, orthogonal eigenvectors, no
    inverse). None when K is not of that kind (an absorption depot, a metabolite: one-way transfers)."""
    N, n = k.shape[:2]
    off = k.copy()
    idx = np.arange(n)
    off[:, idx, idx] = 0.0
    linked = off > 0
    if not (linked == linked[:1]).all() or not (linked[0] == linked[0].T).all():
        return None
    log_d = np.zeros((N, n))
    seen = [False] * n
    for root in range(n):  # spanning trees of each connected part, breadth first
        if seen[root]:
            continue
        seen[root], queue = True, [root]
        while queue:
            i = queue.pop(0)
            for j in np.flatnonzero(linked[0, :, i]):
                if not seen[j]:
                    seen[j] = True
                    log_d[:, j] = log_d[:, i] + np.log(k[:, j, i] / k[:, i, j])
                    queue.append(j)
    root_d = np.exp(0.5 * log_d)
    s = k * root_d[:, None, :] / root_d[:, :, None]
    scale = np.abs(s).max(axis=(1, 2))
    if (np.abs(s - s.transpose(0, 2, 1)).max(axis=(1, 2)) > 1e-13 * scale).any():
        return None  # a loop whose flows do not balance
    return 0.5 * (s + s.transpose(0, 2, 1)), root_d


@dataclass
class Schedule:
    """Inputs resolved onto breakpoints: segment k runs from ``breaks[k]`` to ``breaks[k + 1]`` (the last one has
    no end) with constant ``rates[k]`` (N, n) mg/min, after ``impulses[k]`` (N, n) mg placed at ``breaks[k]``."""

    breaks: np.ndarray
    rates: np.ndarray
    impulses: np.ndarray
    ends: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ends = np.append(self.breaks[1:], np.inf)

    @classmethod
    def of(cls, inputs: Sequence[Input], patients: int, compartments: int) -> Schedule:
        if not inputs:
            raise PKInputError("the regimen has no dose.", "regimen")
        times = set()
        for item in inputs:
            if not 0 <= item.compartment < compartments:
                raise PKInputError("an input names a compartment the model does not have.", "compartment")
            if isinstance(item, ZeroOrder):
                if not (math.isfinite(item.start) and math.isfinite(item.end)):
                    raise PKInputError("an infusion needs a finite start and end (minutes).", "start")
                if item.end <= item.start:
                    raise PKInputError(
                        f"an infusion ends ({item.end:g} min) before or when it starts ({item.start:g} min).", "end")
                times.update((item.start, item.end))
            else:
                if not math.isfinite(item.time):
                    raise PKInputError("a dose needs a finite time (minutes).", "time")
                times.add(item.time)
        breaks = np.array(sorted(times))
        rates = np.zeros((len(breaks), patients, compartments))
        impulses = np.zeros((len(breaks), patients, compartments))
        for item in inputs:
            if isinstance(item, ZeroOrder):
                value = _per_patient(item.rate, patients, "rate")
                lo, hi = np.searchsorted(breaks, [item.start, item.end])
                rates[lo:hi, :, item.compartment] += value
            else:
                value = _per_patient(item.amount, patients, "amount")
                impulses[np.searchsorted(breaks, item.time), :, item.compartment] += value
        return cls(breaks=breaks, rates=rates, impulses=impulses)


def _per_patient(value: np.ndarray | float, patients: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=float), (patients,)) if np.ndim(value) == 0 else \
        np.asarray(value, dtype=float)
    if arr.shape != (patients,):
        raise PKInputError(f"needs one value per patient ({patients}), got shape {arr.shape}.", name)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise PKInputError("an input amount or rate is negative or not a number.", name)
    return arr


def _phi(lam: np.ndarray, s: np.ndarray | float) -> np.ndarray:
    """(1 - e^(-lam s)) / lam, exact for small lam s."""
    r = np.multiply(lam, np.negative(s))
    np.expm1(r, out=r)
    return np.divide(r, np.negative(lam), out=r)


@dataclass
class Propagated:
    """Modal state at the start of each segment (after its impulse) and the modal input on it."""

    z0: np.ndarray  # (S, N, n)
    b: np.ndarray  # (S, N, n)


def propagate(modes: Modes, schedule: Schedule) -> Propagated:
    S = len(schedule.breaks)
    N, n = modes.lam.shape
    z = np.zeros((N, n))
    z0 = np.empty((S, N, n))
    b = np.einsum("pij,spj->spi", modes.Pinv, schedule.rates)
    dz = np.einsum("pij,spj->spi", modes.Pinv, schedule.impulses)
    for k in range(S):
        z = z + dz[k]
        z0[k] = z
        if k + 1 < S:
            length = schedule.breaks[k + 1] - schedule.breaks[k]
            z = z * np.exp(-modes.lam * length) + b[k] * _phi(modes.lam, length)
    return Propagated(z0=z0, b=b)


#: e^(-x) for x above this (e^(-x) below 1e-260) is taken as 0: NumPy's exp is ten times slower where its result is
#: subnormal, and a term that small is below any concentration's last digit.
DECAY_CUTOFF = 600.0
#: Patients filled at once on a uniform grid, so the exponential factors stay in cache.
CHUNK_PATIENTS = 1024


def _decay(lam: np.ndarray, s: np.ndarray) -> np.ndarray:
    """e^(-lam s) for lam (..., 1) >= 0 and times s >= 0 (broadcast), exactly 0 where lam s > DECAY_CUTOFF."""
    r = np.multiply(lam, -s)
    if lam.size and s.size and float(lam.max()) * float(s.max()) > DECAY_CUTOFF:
        gone = r < -DECAY_CUTOFF
        np.maximum(r, -DECAY_CUTOFF, out=r)
        np.exp(r, out=r)
        r[gone] = 0.0
    else:
        np.exp(r, out=r)
    return r


#: Grid points per block on a uniform grid: NumPy's batched matrix product writes (blocks x m) @ (m x 32) about
#: as fast as a plain fill of the output on this machine kind, wider blocks more slowly (bench/pk.py, docs/pk.md).
BLOCK = 32
#: Block starts per group: the starts' factors are (groups) x (INNER) products, long enough for NumPy's loops.
INNER = 64


def _fill_uniform(out: np.ndarray, alpha: np.ndarray, beta: np.ndarray | None, lam: np.ndarray, s0: float,
                  step: float) -> None:
    """out[:, j] = sum_i alpha_i e^(-lam_i s_j) + beta_i (1 - e^(-lam_i s_j)) / lam_i with s_j = s0 + j step.

    The grid is cut into blocks of B points; s_j = a + b with a a block start and b an offset in the block, and
    e^(-lam (a + b)) = e^(-lam a) e^(-lam b), (1 - e^(-lam (a + b))) = (1 - e^(-lam a)) + e^(-lam a)
    (1 - e^(-lam b)). So each patient's segment is one matrix product, (blocks x m) @ (m x B) with m = n modes
    (no input) or 2n + 1 (an input), written straight into ``out``. The block starts' factors are themselves
    products, e^(-lam (s0 + (g G + k) B step)) = e^(-lam (s0 + g G B step)) e^(-lam k B step) with G up to
    INNER, so a segment needs n (blocks / G + G + B) exponentials instead of n x points. Every factor is
    an exact exponential or the product of two (no recurrence), so no error builds up: about 2 ulp per factor."""
    N, K = out.shape
    if K == 0:
        return
    n = lam.shape[1]
    B = min(K, BLOCK)
    nb, rem = divmod(K, B)
    blocks = nb + (1 if rem else 0)
    G1 = -(-blocks // INNER)  # block starts g G + k, k < G, g < G1
    G = -(-blocks // G1)
    offsets = np.arange(B) * step
    outer = s0 + np.arange(G1) * (G * B * step)
    inner = np.arange(G) * (B * step)
    m = n if beta is None else 2 * n + 1

    def fill(lo: int, hi: int) -> None:
        c = hi - lo
        lam_c = lam[lo:hi, :, None]
        # factors laid out (patients, modes, blocks or offsets): NumPy's elementwise loops run along the long axis
        e_outer = _decay(lam_c, outer)[:, :, :, None]  # (c, n, G1, 1)
        e_inner = _decay(lam_c, inner)[:, :, None, :]  # (c, n, 1, G)
        U = np.empty((c, m, G1 * G))
        grid = U.reshape(c, m, G1, G)
        np.multiply(alpha[lo:hi, :, None, None] * e_outer, e_inner, out=grid[:, :n])
        V = np.empty((c, m, B))
        V[:, :n] = _decay(lam_c, offsets)  # (c, n, B)
        if beta is not None:
            b_c = beta[lo:hi, :, None]
            np.multiply(b_c[:, :, :, None] * e_outer, e_inner, out=grid[:, n:2 * n])
            starts = (outer[:, None] + inner[None, :]).reshape(-1)
            np.matmul(beta[lo:hi, None, :], _phi(lam_c, starts), out=U[:, 2 * n:])
            V[:, n:2 * n] = _phi(lam_c, offsets)
            V[:, 2 * n] = 1.0
        Ut = U.transpose(0, 2, 1)  # (c, blocks, m): a transposed view the matrix product reads as it is
        if nb:
            target = out[lo:hi, : nb * B].reshape(c, nb, B)
            if np.shares_memory(target, out):
                np.matmul(Ut[:, :nb], V, out=target)
            else:  # pragma: no cover - a reshape of a row slice is always a view for C-ordered output
                out[lo:hi, : nb * B] = np.matmul(Ut[:, :nb], V).reshape(c, nb * B)
        if rem:
            out[lo:hi, nb * B:] = np.matmul(Ut[:, nb:nb + 1], V[:, :, :rem])[:, 0]

    _in_parallel(fill, N, N * K)
    _no_negative_round_off(out, alpha, beta)


#: A uniform grid of at least this many points (patients x times) is filled by WORKERS threads, each on its own
#: patients' rows (NumPy's loops and matrix products release the GIL); a smaller one in the calling thread.
PARALLEL_POINTS = 1 << 21
WORKERS = min(2, os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts its own pool when it needs one."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def _in_parallel(fill: Callable[[int, int], None], patients: int, points: int) -> None:
    """fill(lo, hi) for every run of at most CHUNK_PATIENTS patients: in WORKERS threads for a large grid."""
    global _pool
    workers = WORKERS if points >= PARALLEL_POINTS and patients >= 2 else 1
    size = min(CHUNK_PATIENTS, -(-patients // workers))
    runs = [(lo, min(patients, lo + size)) for lo in range(0, patients, size)]
    if workers == 1:
        for lo, hi in runs:
            fill(lo, hi)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pk-fill")
    for done in [_pool.submit(fill, lo, hi) for lo, hi in runs]:
        done.result()


def _no_negative_round_off(out: np.ndarray, alpha: np.ndarray, beta: np.ndarray | None) -> None:
    """Terms of both signs (an absorption depot, a metabolite) cancel to round-off around a true zero, which can
    come out as -1e-14 ng/mL; a concentration is never negative, so such values are set to 0. Sums of terms of
    one sign (IV into the central compartment) cannot go negative and are left untouched."""
    if (alpha < 0).any() or (beta is not None and (beta < 0).any()):
        np.maximum(out, 0.0, out=out)


def _fill_points(out: np.ndarray, alpha: np.ndarray, beta: np.ndarray | None, lam: np.ndarray,
                 s: np.ndarray) -> None:
    lam3 = lam[:, :, None]
    chunk = max(1, 2_000_000 // max(1, lam.shape[0] * lam.shape[1]))
    for lo in range(0, len(s), chunk):
        ss = s[lo:lo + chunk]
        y = (alpha[:, :, None] * np.exp(-lam3 * ss)).sum(axis=1)
        if beta is not None:
            y += (beta[:, :, None] * _phi(lam3, ss)).sum(axis=1)
        out[:, lo:lo + chunk] = y
    _no_negative_round_off(out, alpha, beta)


def evaluate(system: LinearSystem, inputs: Sequence[Input], observe: Mapping[str, Observation],
             times: Grid | np.ndarray | Sequence[float], out: Mapping[str, np.ndarray] | None = None,
             ) -> dict[str, np.ndarray]:
    """Concentrations (ng/mL) of each observation, shape (patients, times). At a bolus time the value includes
    the bolus (right-continuous). ``out`` may hold preallocated C-ordered float64 arrays to fill."""
    N, n = system.patients, len(system.compartments)
    schedule = Schedule.of(inputs, N, n)
    modes = Modes.of(system)
    prop = propagate(modes, schedule)
    uniform = isinstance(times, Grid)
    t = times.times if uniform else np.asarray(times, dtype=float)
    if t.ndim != 1 or not np.isfinite(t).all() or (np.diff(t) < 0).any():
        raise PKInputError("times must be a finite, non-decreasing list of minutes.", "times")
    seg = np.searchsorted(schedule.breaks, t, side="right") - 1
    results: dict[str, np.ndarray] = {}
    for name, obs in observe.items():
        c = np.zeros((N, n))
        c[:, obs.compartment] = NG_PER_ML_PER_MG_PER_L / np.asarray(obs.volume, dtype=float)
        w = np.einsum("pk,pki->pi", c, modes.P)  # output row in modal coordinates
        res = out[name] if out is not None and name in out else np.empty((N, len(t)))
        if res.shape != (N, len(t)) or res.dtype != np.float64 or not res.flags.c_contiguous:
            raise PKInputError("out arrays must be C-ordered float64 of shape (patients, times).", "out")
        first = np.searchsorted(seg, 0)
        res[:, :first] = 0.0
        for k in range(len(schedule.breaks)):
            lo, hi = np.searchsorted(seg, [k, k + 1])
            if hi == lo:
                continue
            alpha = w * prop.z0[k]
            beta = w * prop.b[k] if schedule.rates[k].any() else None
            if uniform:
                _fill_uniform(res[:, lo:hi], alpha, beta, modes.lam, t[lo] - schedule.breaks[k], times.step)
            else:
                _fill_points(res[:, lo:hi], alpha, beta, modes.lam, t[lo:hi] - schedule.breaks[k])
        bad = np.flatnonzero(~modes.exact)
        if bad.size:
            res[bad] = _evaluate_expm(system.rates[bad], schedule, bad, obs, t)
        results[name] = res
    return results


# --- Matrix-exponential path (ill-conditioned patients; also an independent check) -------------------------------

_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0,
           1.0)
_THETA13 = 5.371920351148152


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential of a stack of square matrices (..., m, m): Pade 13 with scaling and squaring
    (Higham 2005)."""
    a = np.asarray(a, dtype=float)
    norm = np.abs(a).sum(axis=-2).max(axis=-1)
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / _THETA13))).astype(int)
    a = a / (2.0 ** s)[..., None, None]
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    b = _PADE13
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(s.max()) if s.size else 0):
        square = s > k
        r = np.where(square[..., None, None], r @ r, r)
    return r


def _state_expm(k: np.ndarray, x0: np.ndarray, rate: np.ndarray, s: np.ndarray) -> np.ndarray:
    """States after time(s) s from x0 under constant input ``rate``: exp([[K, r], [0, 0]] s) [x0; 1]."""
    n = k.shape[-1]
    aug = np.zeros(k.shape[:-2] + (n + 1, n + 1))
    aug[..., :n, :n] = k
    aug[..., :n, n] = rate
    phi = expm(aug[..., None, :, :] * np.asarray(s)[..., :, None, None])
    vec = np.concatenate([x0, np.ones(x0.shape[:-1] + (1,))], axis=-1)
    return (phi @ vec[..., None, :, None])[..., :n, 0]


def _states_at_breaks(k: np.ndarray, schedule: Schedule, rows: np.ndarray) -> np.ndarray:
    """Amounts (after the impulse) at the start of every segment for the given patients: (S, M, n)."""
    S = len(schedule.breaks)
    x = np.zeros((len(rows), k.shape[-1]))
    out = np.empty((S,) + x.shape)
    for j in range(S):
        x = x + schedule.impulses[j][rows]
        out[j] = x
        if j + 1 < S:
            length = np.array([schedule.breaks[j + 1] - schedule.breaks[j]])
            x = _state_expm(k, x, schedule.rates[j][rows], length)[:, 0]
    return out


def _evaluate_expm(k: np.ndarray, schedule: Schedule, rows: np.ndarray, obs: Observation,
                   t: np.ndarray) -> np.ndarray:
    starts = _states_at_breaks(k, schedule, rows)
    seg = np.searchsorted(schedule.breaks, t, side="right") - 1
    scale = NG_PER_ML_PER_MG_PER_L / np.asarray(obs.volume, dtype=float)[rows]
    res = np.zeros((len(rows), len(t)))
    for j in range(len(schedule.breaks)):
        lo, hi = np.searchsorted(seg, [j, j + 1])
        for c in range(lo, hi, 2048):
            s = t[c:min(hi, c + 2048)] - schedule.breaks[j]
            res[:, c:c + len(s)] = _state_expm(k, starts[j], schedule.rates[j][rows], s)[..., obs.compartment] \
                * scale[:, None]
    return res


# --- Time back below a threshold, on the closed form ------------------------------------------------------------

def _exp_sum(c0: float, cs: Sequence[float], lams: Sequence[float], s: float) -> tuple[float, float]:
    """f(s) = c0 + sum c_i e^(-lam_i s) and f'(s)."""
    f, d = c0, 0.0
    for c, lam in zip(cs, lams, strict=True):
        e = c * math.exp(-lam * s)
        f += e
        d -= lam * e
    return f, d


def _solve(c0: float, cs: Sequence[float], lams: Sequence[float], a: float, b: float) -> float:
    """The root of f in [a, b], where f(a) and f(b) have opposite signs: Newton's method kept inside the
    bracket, bisection whenever a Newton step leaves it or does not halve the bracket."""
    fa, _ = _exp_sum(c0, cs, lams, a)
    fb, _ = _exp_sum(c0, cs, lams, b)
    if fa == 0:
        return a
    if fb == 0:
        return b
    x = 0.5 * (a + b)
    for _ in range(200):
        fx, dx = _exp_sum(c0, cs, lams, x)
        if fx == 0:
            return x
        if (fx > 0) == (fa > 0):
            a, fa = x, fx
        else:
            b = x
        width = b - a
        if width <= 4e-16 * max(1.0, abs(a), abs(b)):
            break
        step = x - fx / dx if dx != 0 else math.nan
        x = step if a < step < b and abs(step - x) < 0.5 * width else 0.5 * (a + b)
    return x


def exp_sum_roots(c0: float, cs: Sequence[float], lams: Sequence[float], lo: float, hi: float) -> list[float]:
    """Every root of f(s) = c0 + sum c_i e^(-lam_i s) in [lo, hi] where f changes sign, ascending.

    Roots are isolated exactly: by Laguerre's rule of signs an exponential sum has no more real roots than sign
    changes in its coefficients (ordered by exponent); with more than one, the roots of f' (itself an
    exponential sum after multiplying by e^(lam_min s)) split [lo, hi] into pieces where f is monotone, and each
    piece with a sign change holds exactly one root.
    """
    terms: dict[float, float] = {}
    for c, lam in zip(cs, lams, strict=True):
        if lam <= 0:
            raise PKInputError("exponential rates must be more than 0.", "lams")
        terms[lam] = terms.get(lam, 0.0) + c
    items = sorted((lam, c) for lam, c in terms.items() if c != 0.0)
    if not items:
        return []
    signs = [s for s in [math.copysign(1, c0) if c0 else 0.0] + [math.copysign(1, c) for _, c in items] if s]
    changes = sum(1 for x, y in zip(signs, signs[1:], strict=False) if x != y)
    lams_s = [lam for lam, _ in items]
    cs_s = [c for _, c in items]
    if changes == 0:
        return []
    cuts = [lo]
    if changes > 1:
        lam0 = lams_s[0]
        g0 = -lam0 * cs_s[0]
        g_cs = [-lam * c for lam, c in items[1:]]
        g_lams = [lam - lam0 for lam in lams_s[1:]]
        keep = [(c, lam) for c, lam in zip(g_cs, g_lams, strict=True) if lam > 0]
        cuts += [r for r in exp_sum_roots(g0, [c for c, _ in keep], [lam for _, lam in keep], lo, hi)
                 if lo < r < hi]
    cuts.append(hi)
    roots = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        fa, _ = _exp_sum(c0, cs_s, lams_s, a)
        fb, _ = _exp_sum(c0, cs_s, lams_s, b)
        if (fa > 0) != (fb > 0) or fa == 0 or fb == 0:
            roots.append(_solve(c0, cs_s, lams_s, a, b))
    return roots


def last_time_above(system: LinearSystem, inputs: Sequence[Input], obs: Observation,
                    threshold: float | np.ndarray) -> np.ndarray:
    """Per patient, the time (minutes) after which the concentration stays below ``threshold`` (ng/mL) for good:
    the last time it is at or above it. NaN for a patient whose concentration never reaches the threshold."""
    N, n = system.patients, len(system.compartments)
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), (N,))
    if not np.isfinite(thr).all() or (thr <= 0).any():
        raise PKInputError("the threshold must be a concentration above 0 ng/mL.", "threshold")
    schedule = Schedule.of(inputs, N, n)
    modes = Modes.of(system)
    prop = propagate(modes, schedule)
    c = np.zeros((N, n))
    c[:, obs.compartment] = NG_PER_ML_PER_MG_PER_L / np.asarray(obs.volume, dtype=float)
    w = np.einsum("pk,pki->pi", c, modes.P)
    alpha = w[None] * prop.z0  # (S, N, n)
    beta_over = w[None] * prop.b / modes.lam[None]  # (S, N, n)
    result = np.full(N, np.nan)
    S = len(schedule.breaks)
    for p in range(N):
        if not modes.exact[p]:
            result[p] = _last_time_above_expm(system.rates[p], schedule, p, obs, thr[p])
            continue
        lams = modes.lam[p].tolist()
        for k in range(S - 1, -1, -1):
            c0 = float(beta_over[k, p].sum()) - thr[p]
            cs = (alpha[k, p] - beta_over[k, p]).tolist()
            length = schedule.ends[k] - schedule.breaks[k]
            if math.isinf(length):
                pos = [(ci, lam) for ci, lam in zip(cs, lams, strict=True) if ci > 0]
                if c0 >= 0:  # pragma: no cover - the last segment has no input, so c0 = -threshold
                    raise PKInputError("the regimen never ends.", "regimen")
                length = max([0.0] + [math.log(len(pos) * ci / -c0) / lam for ci, lam in pos]) + 1.0
            f_end, _ = _exp_sum(c0, cs, lams, length)
            if f_end >= 0 and not math.isinf(schedule.ends[k]):
                result[p] = schedule.ends[k]
                break
            roots = exp_sum_roots(c0, cs, lams, 0.0, length)
            if roots:
                result[p] = schedule.breaks[k] + roots[-1]
                break
            f_start, _ = _exp_sum(c0, cs, lams, 0.0)
            if f_start >= 0:
                result[p] = schedule.breaks[k]
                break
    return result


def _last_time_above_expm(k: np.ndarray, schedule: Schedule, p: int, obs: Observation, thr: float) -> float:
    """The same answer for an ill-conditioned patient: the matrix exponential sampled densely on each segment,
    then bisection to machine precision on the last sign change."""
    rows = np.array([p])
    starts = _states_at_breaks(k[None], schedule, rows)
    scale = NG_PER_ML_PER_MG_PER_L / float(np.asarray(obs.volume, dtype=float)[p])

    def conc(j: int, s: np.ndarray) -> np.ndarray:
        return _state_expm(k[None], starts[j], schedule.rates[j][rows], s)[0, :, obs.compartment] * scale

    for j in range(len(schedule.breaks) - 1, -1, -1):
        length = schedule.ends[j] - schedule.breaks[j]
        if math.isinf(length):
            length = 1.0
            while conc(j, np.array([length]))[0] >= thr * 1e-3 and length < 1e7:
                length *= 2
        s = np.linspace(0.0, length, 4097)
        f = conc(j, s) - thr
        above = np.flatnonzero(f >= 0)
        if above.size == 0:
            continue
        i = above[-1]
        if i == len(s) - 1:
            return float(schedule.breaks[j] + length)
        a, b = s[i], s[i + 1]
        while b - a > 4e-16 * max(1.0, b):
            mid = 0.5 * (a + b)
            if mid in (a, b):
                break
            if conc(j, np.array([mid]))[0] - thr >= 0:
                a = mid
            else:
                b = mid
        return float(schedule.breaks[j] + a)
    return math.nan
