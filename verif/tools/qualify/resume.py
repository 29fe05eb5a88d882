"""``qualify --resume``: keep the decided results of an earlier run into the same OUT."""

from __future__ import annotations

from redmule_verif.tools.qualify.plan import Run

DECIDED = ("killed", "build-error", "not-applicable")


def resume(q, previous: dict) -> None:
    """Fill a new Qualifier ``q`` from ``previous`` (its qualify.json): killed, build-error and
    not-applicable mutants with the same text are not run again; survivors, incomplete and not-run are."""
    old = {r["id"]: r for r in previous.get("mutants", [])}
    q.history = list(previous.get("history") or []) + [
        {k: previous.get(k) for k in ("started", "finished", "elapsed_s", "suite", "rtl_version")}]
    chosen = {m.id for m in q.mutants}
    # mutants of the earlier run that this one does not select stay in the results as they were
    q.carried = [dict(r, resumed=True) for i, r in old.items() if i not in chosen]
    for m in q.mutants:
        r = old.get(m.id)
        keep = DECIDED
        if m.is_equivalent and not q.cfg.include_equivalent:
            keep += ("survived",)  # the evidence for its equivalence argument
        if (r and r.get("status") in keep
                and r.get("find") == m.find and r.get("replace") == m.replace and r.get("file") == m.file):
            q.results[m.id] = dict(r, resumed=True, equivalent=m.equivalent)
            q.resumed.add(m.id)
    for k, v in (previous.get("kills_by_run") or {}).items():
        q.kills[k] = q.kills.get(k, 0) + int(v)
    q.baseline.update(previous.get("baseline") or {})
    for b in previous.get("broken_on_clean_rtl") or []:
        q.broken[Run(b["test"], b["seed"], b.get("knobs") or {}, 0, {}).key] = b
