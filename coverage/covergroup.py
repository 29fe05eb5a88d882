"""A small functional-coverage library: coverpoints, crosses, covergroups, a DB.

Plain Python, no simulator and no third-party dependency, so the coverage of a
run can be sampled in a cocotb test, saved as JSON, and merged and reported by
any Python process (the regression, a closure loop, pytest).

Why not cocotb-coverage
-----------------------
cocotb-coverage 2.0 (PyPI) was evaluated and not used:

- It keeps one process-global ``coverage_db`` that coverpoints register into by
  decorating the sampled function; two environments in one process (or two
  tests in one cocotb run) share and pollute it, and a covergroup is not an
  object that can be built from engine parameters, passed around and reset.
- It has no waivers: an unreachable bin can only be removed from the bins,
  which loses the reason and hides the bin if it is ever hit. Here a waived
  bin stays visible, is excluded from closure, carries its proof, and is
  reported if it is hit anyway (which means the proof or the DUT is wrong).
- Its merge works on its XML/YAML exports, not on live objects, and does not
  check that the runs declared the same bins (different engine parameters
  give different bins: merging them silently gives a meaningless closure).
- It imports cocotb, so report and merge scripts would drag the simulator
  package in. This module needs only the standard library.

The model
---------
``Coverpoint(name, bins, waivers)``
    ``bins`` maps a bin name to a predicate (callable value -> bool), to a set
    of values (set, frozenset, list, tuple, range: membership) or to a single
    value (equality). A sampled value hits *every* bin that matches it (bins
    may overlap, e.g. "1" and "tile_edge" when a tile is one row). A value
    that matches no bin is counted in ``unmatched`` (visible in the report).
``Cross(name, coverpoints, waivers)``
    The product of the bins of two or more coverpoints of the same covergroup;
    a cross bin is named by its point bins joined with "/", e.g. "GEMM/FP16".
    Cross bins made of a waived coverpoint bin are waived too.
``waivers``
    ``{pattern: reason}``; the pattern is an ``fnmatch`` glob over bin names
    ("MATMUL/*/*" waives every MATMUL bin of a cross). Every pattern must match
    at least one bin and every reason must be a non-empty string.
``Covergroup(name, points, crosses)``
    ``sample(**values)`` takes one value per coverpoint name. ``None`` (or a
    missing name) means "not applicable this time": that coverpoint and every
    cross over it are not sampled. ``Many(values)`` samples several values at
    once (e.g. every FP class present in a matrix): each bin that any of them
    hits counts once, and a cross counts every combination once.
``closure``
    hit / (all bins - waived), over non-waived bins hit at least ``at_least``
    times. 1.0 (100 %) means every non-waived bin is hit; a covergroup with no
    non-waived bin at all counts as closed. A covergroup that was declared but
    never sampled has ``samples == 0`` and is reported as ``sampled: False``.
``CoverageDB``
    A named set of covergroups plus metadata; ``save(path)`` writes one JSON
    file per run (atomically), ``CoverageDB.load(paths)`` merges many: hit
    counts add, and the bins of the runs must agree.

References (used by the testplan) name a covergroup, one of its items or
bins: ``"cg"``, ``"cg.item"``, ``"cg.item/bin"``, where the item and the bin may
be fnmatch globs ("job.op_x_fmt/*/FP8", "layout.*_align/FP16/*"); every item a
glob selects must have a matching bin. Names of covergroups and items may not contain
"." or "/"; bin names may not contain "/" or glob characters.
"""

import fnmatch
import json
import operator
import os
import tempfile
from collections.abc import Iterable, Mapping

from .coverpoint import CoverageError, Coverpoint, Cross, Many, check_name, closure_of, preview

__all__ = [
    "Many",
    "Coverpoint",
    "Cross",
    "Covergroup",
    "CoverageDB",
    "CoverageError",
    "SCHEMA",
    "split_ref",
    "format_report",
]

SCHEMA = "redmule_verif.coverage/1"


class Covergroup:
    """A named set of coverpoints and crosses sampled together."""

    def __init__(self, name: str, points: Iterable[Coverpoint], crosses: Iterable[Cross] = (),
                 description: str = ""):
        self.name = check_name("covergroup", name, ".")
        self.description = description
        self.points: dict[str, Coverpoint] = {}
        for cp in points:
            if not isinstance(cp, Coverpoint):
                raise CoverageError(f"covergroup {name!r}: {cp!r} is not a Coverpoint")
            if cp.name in self.points:
                raise CoverageError(f"covergroup {name!r}: duplicate coverpoint {cp.name!r}")
            self.points[cp.name] = cp
        if not self.points:
            raise CoverageError(f"covergroup {name!r} has no coverpoints")
        self.crosses: dict[str, Cross] = {}
        for cr in crosses:
            if not isinstance(cr, Cross):
                raise CoverageError(f"covergroup {name!r}: {cr!r} is not a Cross")
            if cr.name in self.crosses or cr.name in self.points:
                raise CoverageError(f"covergroup {name!r}: duplicate item name {cr.name!r}")
            if not cr._bound:
                cr._bind(self.points, name)
            self.crosses[cr.name] = cr
        self.samples = 0
        self._plan = None  # what sample() iterates over; built on first use, dropped when items change

    def __repr__(self):
        r = self.report()
        return (f"<Covergroup {self.name}: {r['percent']:.2f} % ({r['hit']}/{r['bins'] - r['waived']}), "
                f"{self.samples} samples>")

    # -- sampling ------------------------------------------------------------
    def sample(self, **values) -> None:
        """Count one sample: one value (or Many(values), or None) per coverpoint."""
        names, points, crosses = self._plan or self._make_plan()
        if not values.keys() <= names:
            unknown = set(values) - names
            raise CoverageError(
                f"covergroup {self.name!r}: sample() got unknown coverpoints {sorted(unknown)} "
                f"(coverpoints: {list(self.points)})"
            )
        self.samples += 1
        get = values.get
        hits = [cp._sample(get(n)) for n, cp in points]
        for cr, bins_per_point in crosses:
            cr._sample(bins_per_point(hits))

    def _make_plan(self):
        """(coverpoint names, [(name, coverpoint)], [(cross, getter of its points' bins from the list of
        the coverpoints' hits)]): sample() without dicts built or searched per sample."""
        position = {n: i for i, n in enumerate(self.points)}
        crosses = [(cr, _picker([position[p] for p in cr.point_names])) for cr in self.crosses.values()]
        self._plan = (frozenset(self.points), list(self.points.items()), crosses)
        return self._plan

    # -- access --------------------------------------------------------------
    def items(self) -> dict[str, Coverpoint | Cross]:
        return {**self.points, **self.crosses}

    def __getitem__(self, item: str) -> Coverpoint | Cross:
        try:
            return self.items()[item]
        except KeyError:
            raise KeyError(f"covergroup {self.name!r} has no coverpoint or cross {item!r} "
                           f"(items: {list(self.items())})") from None

    def bins(self) -> list[str]:
        """Every bin as a reference "cg.item/bin"."""
        return [f"{self.name}.{it.name}/{b}" for it in self.items().values() for b in it.bin_names]

    # -- closure -------------------------------------------------------------
    def holes(self) -> list[str]:
        return [f"{self.name}.{it.name}/{b}" for it in self.items().values() for b in it.holes()]

    def counts(self) -> tuple[int, int, int]:
        """(bins, waived, hit) over every item."""
        return _sum_counts(self.items().values())

    def closure(self) -> float:
        return closure_of(*self.counts())

    def report(self) -> dict:
        items = {n: it.stats() for n, it in self.items().items()}
        total = sum(s["bins"] for s in items.values())
        waived = sum(s["waived"] for s in items.values())
        hit = sum(s["hit"] for s in items.values())
        frac = closure_of(total, waived, hit)
        for n, it in self.items().items():
            items[n]["holes"] = it.holes()
        return {
            "samples": self.samples,
            "sampled": self.samples > 0,
            "bins": total,
            "waived": waived,
            "hit": hit,
            "closure": frac,
            "percent": round(100.0 * frac, 2),
            "holes": self.holes(),
            "waived_hit": [f"{self.name}.{it.name}/{b}" for it in self.items().values() for b in it.waived_hit()],
            "unmatched": {n: cp.unmatched for n, cp in self.points.items() if cp.unmatched},
            "items": items,
        }

    # -- persistence and merging ---------------------------------------------
    def to_dict(self) -> dict:
        d = {"name": self.name, "samples": self.samples,
             "coverpoints": {n: cp.to_dict() for n, cp in self.points.items()},
             "crosses": {n: cr.to_dict() for n, cr in self.crosses.items()}}
        if self.description:
            d["description"] = self.description
        return d

    @classmethod
    def from_dict(cls, d, name: str | None = None) -> "Covergroup":
        """A data-only covergroup (bins, hits, waivers) from ``to_dict()``: reportable and mergeable,
        not sampleable. ``name`` defaults to ``d["name"]`` (``from_dict(name, d)`` works too)."""
        if isinstance(d, str):
            d, name = name, d
        if not isinstance(d, Mapping):
            raise CoverageError(f"covergroup data must be a mapping, got {type(d).__name__}")
        name = name if name is not None else d.get("name")
        if not isinstance(name, str):
            raise CoverageError("covergroup data without a name")
        try:
            points = [Coverpoint.from_dict(n, x) for n, x in d["coverpoints"].items()]
            crosses = [Cross.from_dict(n, x) for n, x in d.get("crosses", {}).items()]
        except (KeyError, TypeError, AttributeError) as e:
            raise CoverageError(f"covergroup {name!r}: malformed data ({e!r})") from None
        cg = cls(name, points, crosses, d.get("description", ""))
        for cr in crosses:
            missing = [p for p in cr.point_names if p not in cg.points]
            if missing:
                raise CoverageError(f"covergroup {name!r}: cross {cr.name!r} names unknown coverpoints {missing}")
        cg.samples = int(d.get("samples", 0))
        return cg

    def fresh(self) -> "Covergroup":
        """A copy with the same declarations and zero counts, independent of this covergroup
        (see ``_Item.fresh``): building a covergroup once and taking a fresh copy per run is cheaper
        than declaring it again."""
        return Covergroup(self.name, [cp.fresh() for cp in self.points.values()],
                          [cr.fresh() for cr in self.crosses.values()], self.description)

    def merge(self, *others: "Covergroup | Mapping", strict: bool = True) -> "Covergroup":
        """Add the hit counts of other runs of this covergroup (in place; returns self)."""
        self._plan = None  # a merge may add items
        for other in others:
            if isinstance(other, Mapping):
                other = Covergroup.from_dict(other, other.get("name", self.name))
            if other.name != self.name:
                raise CoverageError(f"cannot merge covergroup {other.name!r} into {self.name!r}")
            mine, theirs = set(self.items()), set(other.items())
            if mine != theirs and strict:
                raise CoverageError(
                    f"cannot merge covergroup {self.name!r}: items differ (only here: "
                    f"{sorted(mine - theirs)}, only there: {sorted(theirs - mine)})"
                )
            for n, it in other.items().items():
                if n in self.points or n in self.crosses:
                    self[n]._merge_counts(it, self.name, strict)
                elif isinstance(it, Coverpoint):
                    self.points[n] = Coverpoint.from_dict(n, it.to_dict())
                else:
                    self.crosses[n] = Cross.from_dict(n, it.to_dict())
            self.samples += other.samples
        return self

    def reset(self) -> None:
        """Zero every count (declarations and waivers are kept)."""
        self.samples = 0
        for it in self.items().values():
            it.samples = 0
            for b in it.hits:
                it.hits[b] = 0
            if isinstance(it, Coverpoint):
                it.unmatched = 0


def _sum_counts(parts) -> tuple[int, int, int]:
    """(bins, waived, hit) summed over items or covergroups (anything with counts())."""
    total = waived = hit = 0
    for part in parts:
        t, w, h = part.counts()
        total, waived, hit = total + t, waived + w, hit + h
    return total, waived, hit


def _picker(indexes: list[int]):
    """A function: list -> tuple of its items at ``indexes`` (itemgetter, but a tuple for one index too)."""
    if len(indexes) == 1:
        i = indexes[0]
        return lambda items: (items[i],)
    return operator.itemgetter(*indexes)


def split_ref(ref: str) -> tuple[str, str | None, str | None]:
    """"cg" / "cg.item" / "cg.item/bin-glob" -> (cg, item or None, bin or None)."""
    if not isinstance(ref, str) or not ref:
        raise CoverageError(f"coverage reference must be a non-empty string, got {ref!r}")
    head, _, bin_ = ref.partition("/")
    cg, _, item = head.partition(".")
    if "/" in ref and not item:
        raise CoverageError(f"coverage reference {ref!r}: a bin needs 'covergroup.item/bin'")
    return cg, (item or None), (bin_ or None)


def _json_default(o):
    """numpy scalars and other numbers in run metadata -> plain JSON values."""
    for conv in (int, float):
        try:
            v = conv(o)
        except (TypeError, ValueError):
            continue
        if v == o:
            return v
    return str(o)


def _expand_paths(paths) -> list[str]:
    """Paths, with a directory standing for the *.json files in it (sorted)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".json"))
        else:
            out.append(p)
    return out


class CoverageDB:
    """Covergroups of one run (or of many merged runs) and their metadata.

    ``config`` identifies what fixes the bins (e.g. the engine parameters);
    runs with different configs are not merged unless ``strict=False``.
    ``meta["runs"]`` lists the per-run records (test, seed, ...) merged in.
    """

    def __init__(self, groups: Iterable[Covergroup] = (), config: Mapping | None = None,
                 meta: Mapping | None = None):
        self.groups: dict[str, Covergroup] = {}
        for g in groups:
            self.add(g)
        self.config = dict(config or {})
        self.meta = dict(meta or {})
        self.meta.setdefault("runs", [])

    def add(self, group: Covergroup) -> Covergroup:
        if group.name in self.groups:
            raise CoverageError(f"covergroup {group.name!r} declared twice")
        self.groups[group.name] = group
        return group

    def __getitem__(self, name: str) -> Covergroup:
        try:
            return self.groups[name]
        except KeyError:
            raise KeyError(f"no covergroup {name!r} (covergroups: {list(self.groups)})") from None

    def __contains__(self, name) -> bool:
        return name in self.groups

    def __iter__(self):
        return iter(self.groups.values())

    # -- references ----------------------------------------------------------
    def resolve(self, ref: str) -> list[str]:
        """Full bin references ("cg.item/bin") that a reference names; raises on unknown names."""
        cg_name, item, bin_ = split_ref(ref)
        if cg_name not in self.groups:
            raise CoverageError(f"unknown covergroup {cg_name!r} in {ref!r} (covergroups: {list(self.groups)})")
        cg = self.groups[cg_name]
        if item is None:
            return cg.bins()
        items = cg.items()
        chosen = [n for n in items if fnmatch.fnmatchcase(n, item)]
        if not chosen:
            raise CoverageError(
                f"unknown coverpoint/cross {item!r} of covergroup {cg_name!r} in {ref!r} "
                f"(items: {list(items)})"
            )
        out = []
        for name in chosen:
            it = items[name]
            names = it.bin_names if bin_ is None else [b for b in it.bin_names if fnmatch.fnmatchcase(b, bin_)]
            if not names:
                raise CoverageError(
                    f"unknown bin {bin_!r} of {cg_name}.{name} in {ref!r} (bins: {preview(it.bin_names)})"
                )
            out += [f"{cg_name}.{name}/{b}" for b in names]
        return out

    def bin_state(self, full_ref: str) -> tuple[int, str | None, int]:
        """(hits, waiver reason or None, at_least) of one bin "cg.item/bin"."""
        cg_name, item, bin_ = split_ref(full_ref)
        it = self[cg_name][item]
        return it.hits[bin_], it.waivers.get(bin_), it.at_least

    # -- closure -------------------------------------------------------------
    def report(self) -> dict:
        groups = {n: g.report() for n, g in self.groups.items()}
        total = sum(r["bins"] for r in groups.values())
        waived = sum(r["waived"] for r in groups.values())
        hit = sum(r["hit"] for r in groups.values())
        frac = closure_of(total, waived, hit)
        return {
            "total": {"bins": total, "waived": waived, "hit": hit, "closure": frac,
                      "percent": round(100.0 * frac, 2),
                      "unsampled": [n for n, r in groups.items() if not r["sampled"]],
                      "runs": len(self.meta.get("runs", []))},
            "covergroups": groups,
        }

    def holes(self) -> list[str]:
        return [h for g in self.groups.values() for h in g.holes()]

    def closure(self) -> float:
        """report()["total"]["closure"], without building the report."""
        return closure_of(*_sum_counts(self.groups.values()))

    # -- persistence ---------------------------------------------------------
    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "config": self.config, "meta": self.meta,
                "covergroups": {n: g.to_dict() for n, g in self.groups.items()}}

    @classmethod
    def from_dict(cls, d: Mapping, source: str = "<dict>") -> "CoverageDB":
        if not isinstance(d, Mapping) or d.get("schema") != SCHEMA:
            raise CoverageError(f"{source}: not a coverage file of schema {SCHEMA!r}")
        groups = [Covergroup.from_dict(g, n) for n, g in d.get("covergroups", {}).items()]
        return cls(groups, d.get("config"), d.get("meta"))

    def save(self, path, run: Mapping | None = None) -> str:
        """Write this DB as JSON (atomically). ``run`` (test, seed, ...) is recorded in meta.runs
        of the file when the DB has no run record yet."""
        path = os.fspath(path)
        d = self.to_dict()
        if run is not None and not d["meta"]["runs"]:
            d["meta"] = {**d["meta"], "runs": [dict(run)]}
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cov-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                # one line, by the C encoder: indenting forces json's Python encoder, ~10x slower on a run's
                # ~140 KB (every run pays it); readers parse it. The data is a tree that to_dict just built
                # (no cycle to look for: check_circular=False saves a quarter of the encoding)
                f.write(json.dumps(d, sort_keys=False, default=_json_default, check_circular=False))
                f.write("\n")
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, paths, strict: bool = True) -> "CoverageDB":
        """Load one file or merge many (a path, or an iterable of paths; a directory stands for
        the *.json files in it)."""
        paths = _expand_paths(paths)
        if not paths:
            raise CoverageError("CoverageDB.load: no coverage files given (or found)")
        db = None
        for p in paths:
            try:
                with open(p) as f:
                    d = json.load(f)
            except json.JSONDecodeError as e:
                raise CoverageError(f"{p}: not valid JSON ({e})") from None
            one = cls.from_dict(d, p)
            if db is None:
                db = one
            else:
                db.merge(one, strict=strict, source=p)
        return db

    def merge(self, *others: "CoverageDB", strict: bool = True, source: str | None = None) -> "CoverageDB":
        """Add other runs' hit counts (in place; returns self)."""
        for other in others:
            where = f" ({source})" if source else ""
            if strict and self.config and other.config and self.config != other.config:
                raise CoverageError(
                    f"cannot merge coverage of different configurations{where}: {self.config} vs {other.config}"
                )
            if not self.config:
                self.config = dict(other.config)
            for n, g in other.groups.items():
                if n in self.groups:
                    self.groups[n].merge(g, strict=strict)
                else:
                    self.groups[n] = Covergroup.from_dict(g.to_dict(), n)
            self.meta["runs"] = list(self.meta.get("runs", [])) + list(other.meta.get("runs", []))
        return self

    def reset(self) -> None:
        for g in self.groups.values():
            g.reset()
        self.meta["runs"] = []


def format_report(report: Mapping, holes_per_group: int = 20) -> str:
    """Human-readable text of a ``CoverageDB.report()``."""
    t = report["total"]
    lines = [f"functional coverage: {t['percent']:.2f} % ({t['hit']}/{t['bins'] - t['waived']} bins, "
             f"{t['waived']} waived, {t['runs']} run(s))"]
    for name, g in report["covergroups"].items():
        flag = "" if g["sampled"] else "  [NEVER SAMPLED]"
        lines.append(f"  {name:<14} {g['percent']:6.2f} %  {g['hit']}/{g['bins'] - g['waived']}"
                     f"  ({g['samples']} samples, {g['waived']} waived){flag}")
        for ref in g["waived_hit"]:
            lines.append(f"      WAIVED BIN HIT: {ref}")
        for ref in g["holes"][:holes_per_group]:
            lines.append(f"      hole: {ref}")
        if len(g["holes"]) > holes_per_group:
            lines.append(f"      ... {len(g['holes']) - holes_per_group} more holes")
    return "\n".join(lines)
