"""The shrinker's steps, in the order it makes them: one job instead of many, simpler conditions, smaller
M/N/K, plainer values. Each works on a :class:`~redmule_verif.tools.shrink.shrinker.Shrinker` ``s`` and keeps a
candidate only when it fails the same way (``s.try_jobs`` / ``s.try_job``)."""

from __future__ import annotations

from redmule_verif.sequences.items.job import GrantProfile
from redmule_verif.tools.shrink.failure import failing_element, failing_job_index
from redmule_verif.tools.shrink.surgery import crop, lighter_grant, materialize, plain_values


class NoRepro(Exception):
    """The failure does not reproduce when its job list is replayed."""


def one_job(s, idx: int | None) -> None:
    original = list(s.jobs)
    n = len(original)
    verified = False  # a directed replay has reproduced the failure
    if idx is None:
        # the failure names no job: bisect the smallest failing prefix; its last job is the culprit
        lo, hi = 1, n  # the whole list fails
        while lo < hi:
            mid = (lo + hi) // 2
            if s.try_jobs("prefix", f"first {mid} of {n} jobs", original[:mid], mid - 1):
                hi, verified = mid, True
            else:
                lo = mid + 1
        idx = hi - 1
    s.original_index = idx
    s.culprit = idx
    if n == 1 and original[0].launch == "serial" and verified:
        return
    if n > 1 or original[idx].launch != "serial":
        if s.try_jobs("one-job", f"job #{idx} alone, serial", [original[idx].replace(launch="serial")], 0):
            return
    if not verified and idx + 1 < n:
        verified = s.try_jobs("prefix", f"jobs #0..#{idx} (the failing job last)", original[: idx + 1], idx)
    if not verified:
        if not s.try_jobs("replay", f"all {n} job(s) through the directed test", original, idx):
            raise NoRepro()
    drop_earlier(s)


def drop_earlier(s) -> None:
    """ddmin over the jobs before the culprit: drop chunks while the failure stays."""
    chunk = max(1, s.culprit // 2)
    while s.culprit > 0:
        dropped = False
        start = 0
        while start < s.culprit:
            end = min(s.culprit, start + chunk)
            cand = s.jobs[:start] + s.jobs[end:]
            new_c = s.culprit - (end - start)
            if cand[0].launch != "serial":
                cand[0] = cand[0].replace(launch="serial")
            if s.try_jobs("drop", f"without jobs #{start}..#{end - 1} before the failing one", cand, new_c):
                dropped = True
            else:
                start = end
        if chunk == 1 and not dropped:
            break
        chunk = max(1, chunk // 2)


def simplify(s) -> None:
    j = s.job
    if j.control:
        s.try_job("control", "no control events", j.replace(control=[]))
    j = s.job
    if j.grant.kind != "always":
        if not s.try_job("grant", "grant always (no stalls)", j.replace(grant=GrantProfile("always"))):
            g = lighter_grant(j.grant)
            if g is not None:
                s.try_job("grant", f"lighter stalls: {g.summary()}", j.replace(grant=g))
    j = s.job
    if j.x is None and j.w is None and j.y is None:
        if j.class_weights is not None:
            s.try_job("data", "class_weights removed", j.replace(class_weights=None))
        j = s.job
        if j.data not in ("normal", "small_ints"):
            s.try_job("data", f"data {j.data} -> normal", j.replace(data="normal", class_weights=None))
        j = s.job
        if j.data == "normal" and j.class_weights is None:
            s.try_job("data", "data normal -> small_ints", j.replace(data="small_ints"))


def focus_of(s) -> tuple[int, int] | None:
    if s.record is None or failing_job_index(s.record) not in (None, s.culprit):
        return None
    return failing_element(s.record)


def dims(s) -> None:
    j = s.job
    if j.is_noop or not j.fmt_supported:
        return
    if j.x is None or j.w is None or (j.reads_y and j.y is None):
        s.jobs = s.with_culprit(materialize(j))  # same bits: no run needed
    focus = focus_of(s)
    j = s.job
    if focus and (j.m > 1 or j.k > 1):
        fm, fk = focus
        if fm < j.m and fk < j.k:
            s.try_job("crop", f"M,K {j.m}x{j.k} -> 1x1 (the failing z[{fm}][{fk}])",
                          crop(j, rows=[fm], cols=[fk]))
    for dim in ("m", "k", "n"):
        reduce_dim(s, dim)


def reduce_dim(s, dim: str, max_decrements: int = 6) -> None:
    label = dim.upper()

    def cand(keep):
        return crop(s.job, **{{"m": "rows", "n": "reds", "k": "cols"}[dim]: keep})

    def size():
        return getattr(s.job, dim)

    def focus_index():
        f = focus_of(s)
        if f is None or dim == "n":
            return None
        return f[0] if dim == "m" else f[1]

    if size() <= 1:
        return
    f = focus_index()
    if f is not None and f < size():
        if s.try_job("dims", f"{label} {size()} -> 1 (keep index {f})", cand([f])):
            return
    while size() > 1:  # halve
        sz = size()
        half = sz // 2
        parts = [list(range(half)), list(range(half, sz))]
        f = focus_index()
        if f is not None and f >= half:
            parts.reverse()
        for p in parts:
            if s.try_job("dims", f"{label} {sz} -> {len(p)} ({'first' if p[0] == 0 else 'last'} half)",
                             cand(p)):
                break
        else:
            break
    tries = 0
    pos = size() - 1
    while size() > 1 and tries < max_decrements and pos >= 0:  # decrement, from the end
        sz = size()
        pos = min(pos, sz - 1)
        if pos == focus_index():
            pos -= 1
            continue
        tries += 1
        s.try_job("dims", f"{label} {sz} -> {sz - 1} (drop index {pos})",
                      cand([i for i in range(sz) if i != pos]))
        pos -= 1  # dropped, or it matters (a remainder that makes the failure): next one down


def values(s) -> None:
    j = s.job
    if j.x is None or not j.fmt_supported:
        return
    if plain_values(j) == j:
        return
    if s.try_job("values", "every non-normal operand -> 1.0", plain_values(j)):
        return
    for which in ("x", "w", "y"):
        j = s.job
        if getattr(j, which) is None:
            continue
        c = plain_values(j, which)
        if c != j:
            s.try_job("values", f"non-normal {which.upper()} elements -> 1.0", c)
    j = s.job
    if j.core != 0 and len(s.jobs) == 1:
        s.try_job("core", f"core {j.core} -> 0", j.replace(core=0))
