"""Coverpoints and crosses: named bins, hit counts, waivers and closure of one item.

The building blocks of ``covergroup`` (see its docstring for the model): a
``Coverpoint`` maps sampled values to named bins; a ``Cross`` is the product of
the bins of coverpoints of one covergroup; ``Many`` samples several values at
once. Plain Python, standard library only.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Callable, Iterable, Mapping

__all__ = ["CoverageError", "Many", "Coverpoint", "Cross", "check_name", "closure_of", "preview"]

_GLOB_CHARS = set("*?[]")


class CoverageError(ValueError):
    """Inconsistent coverage declaration, sample, file or merge."""


class Many:
    """Several values sampled at once on one coverpoint (see module docstring)."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable):
        self.values = tuple(values)

    def __repr__(self):
        return f"Many({list(self.values)!r})"


def check_name(kind: str, name, extra_forbidden: str = "") -> str:
    if not isinstance(name, str) or not name:
        raise CoverageError(f"{kind} name must be a non-empty string, got {name!r}")
    bad = set("/" + extra_forbidden) & set(name)
    if bad:
        raise CoverageError(f"{kind} name {name!r} may not contain {''.join(sorted(bad))!r}")
    return name


def _check_bin_name(owner: str, name) -> str:
    check_name(f"bin of {owner}", name)
    if _GLOB_CHARS & set(name):
        raise CoverageError(f"bin name {name!r} of {owner} may not contain glob characters *?[]")
    return name


def closure_of(total: int, waived: int, hit: int) -> float:
    """Closure from counts of bins: the hit share of the bins not waived (1.0 when all are waived)."""
    return hit / (total - waived) if total - waived else 1.0


def _match_waivers(owner: str, bin_names: list[str], waivers: Mapping[str, str] | None) -> dict[str, str]:
    """Expand ``{pattern: reason}`` to ``{bin: reason}`` (first pattern wins)."""
    out: dict[str, str] = {}
    for pattern, reason in (waivers or {}).items():
        if not isinstance(reason, str) or not reason.strip():
            raise CoverageError(f"waiver {pattern!r} of {owner} needs a reason (non-empty string)")
        match = re.compile(fnmatch.translate(pattern)).match  # what fnmatchcase does, compiled once per pattern
        hits = [b for b in bin_names if match(b)]
        if not hits:
            raise CoverageError(
                f"waiver pattern {pattern!r} of {owner} matches no bin (bins: {preview(bin_names)})"
            )
        for b in hits:
            out.setdefault(b, reason)
    return out


def preview(names, limit=12) -> str:
    names = list(names)
    s = ", ".join(names[:limit])
    return s + (f", ... ({len(names)} in all)" if len(names) > limit else "")


class _Item:
    """Common part of coverpoints and crosses: bins, hits, waivers, closure."""

    kind = "item"

    def __init__(self, name: str, bin_names: list[str], waivers: Mapping[str, str] | None, at_least: int):
        self.name = check_name(self.kind, name, ".")
        if len(set(bin_names)) != len(bin_names):
            raise CoverageError(f"{self.kind} {name!r} declares duplicate bins")
        if not bin_names:
            raise CoverageError(f"{self.kind} {name!r} declares no bins")
        if not isinstance(at_least, int) or at_least < 1:
            raise CoverageError(f"{self.kind} {name!r}: at_least must be an int >= 1")
        self.bin_names = list(bin_names)
        self.hits: dict[str, int] = {b: 0 for b in bin_names}
        self.waivers: dict[str, str] = _match_waivers(f"{self.kind} {name!r}", self.bin_names, waivers)
        self.at_least = at_least
        self.samples = 0

    def __repr__(self):
        st = self.stats()
        return (f"<{type(self).__name__} {self.name}: {st['hit']}/{st['bins'] - st['waived']} hit, "
                f"{st['waived']} waived, {self.samples} samples>")

    # -- closure -------------------------------------------------------------
    def is_hit(self, b: str) -> bool:
        return self.hits[b] >= self.at_least

    def holes(self) -> list[str]:
        return [b for b in self.bin_names if b not in self.waivers and not self.is_hit(b)]

    def waived_hit(self) -> list[str]:
        return [b for b in self.bin_names if b in self.waivers and self.hits[b] > 0]

    def counts(self) -> tuple[int, int, int]:
        """(bins, waived, hit): the numbers closure is computed from."""
        hits, waivers, at_least = self.hits, self.waivers, self.at_least
        hit = sum(1 for b in self.bin_names if b not in waivers and hits[b] >= at_least)
        return len(self.bin_names), len(waivers), hit

    def stats(self) -> dict:
        total, waived, hit = self.counts()
        frac = closure_of(total, waived, hit)
        return {"kind": self.kind, "samples": self.samples, "bins": total, "waived": waived,
                "hit": hit, "closure": frac, "percent": round(100.0 * frac, 2)}

    # -- persistence ---------------------------------------------------------
    def fresh(self):
        """A copy with the same bins and waivers and zero counts. It shares the read-only sampling
        tables with this item and copies everything a merge or a sample may change."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.bin_names = list(self.bin_names)
        new.hits = dict.fromkeys(self.bin_names, 0)
        new.waivers = dict(self.waivers)
        new.samples = 0
        return new

    def to_dict(self) -> dict:
        return {"kind": self.kind, "samples": self.samples, "at_least": self.at_least,
                "bins": dict(self.hits), "waivers": dict(self.waivers)}

    def _merge_counts(self, other: "_Item", owner: str, strict: bool) -> None:
        if other.bin_names != self.bin_names:
            mine, theirs = set(self.bin_names), set(other.bin_names)
            if strict or other.kind != self.kind:
                raise CoverageError(
                    f"cannot merge {owner}.{self.name}: the runs declared different bins "
                    f"(only here: {preview(sorted(mine - theirs))}; only there: "
                    f"{preview(sorted(theirs - mine))}). Were they run with different engine "
                    f"parameters? Merge with strict=False to take the union."
                )
            for b in other.bin_names:
                if b not in self.hits:
                    self.bin_names.append(b)
                    self.hits[b] = 0
        for b, n in other.hits.items():
            self.hits[b] += n
        for b, r in other.waivers.items():
            self.waivers.setdefault(b, r)
        self.samples += other.samples


class Coverpoint(_Item):
    """One sampled variable and its named bins (see module docstring)."""

    kind = "coverpoint"

    def __init__(self, name: str, bins: Mapping[str, object], waivers: Mapping[str, str] | None = None,
                 at_least: int = 1, description: str = ""):
        if not isinstance(bins, Mapping):
            raise CoverageError(f"coverpoint {name!r}: bins must be a dict name -> predicate/values")
        names = [_check_bin_name(f"coverpoint {name!r}", b) for b in bins]
        super().__init__(name, names, waivers, at_least)
        self.description = description
        self.unmatched = 0
        # value -> bins, for bins given as values; predicates are tried in order
        by_value: dict[object, list[str]] = {}
        self._predicates: list[tuple[str, Callable]] = []
        self._has_specs = True
        for b, spec in bins.items():
            if callable(spec):
                self._predicates.append((b, spec))
                continue
            for v in (spec if isinstance(spec, (set, frozenset, list, tuple, range)) else (spec,)):
                bs = by_value.setdefault(v, [])
                if b not in bs:
                    bs.append(b)
        self._by_value: dict[object, tuple[str, ...]] = {v: tuple(bs) for v, bs in by_value.items()}
        self._values_only = not self._predicates  # _sample looks the value up itself

    @classmethod
    def of_values(cls, name: str, values: Iterable, waivers=None, at_least=1, description=""):
        """One bin per value, named ``str(value)``."""
        return cls(name, {str(v): v for v in values}, waivers, at_least, description)

    def bins_of(self, value) -> list[str]:
        """Names of the bins a single value falls in (no counting)."""
        return list(self._bins_of(value))

    def _bins_of(self, value) -> tuple[str, ...]:
        """bins_of as a tuple: the bins given as values first, then the predicates that match."""
        if not self._has_specs:
            raise CoverageError(f"coverpoint {self.name!r} was loaded from a file: it cannot be sampled")
        try:
            out = self._by_value.get(value, ())
        except TypeError:  # unhashable value: only predicates can match it
            out = ()
        if self._predicates:
            more = [b for b, pred in self._predicates if pred(value) and b not in out]
            if more:
                out += tuple(more)
        return out

    def _sample(self, value) -> tuple[str, ...] | None:
        """Count one sample; returns the bins hit (None when not sampled)."""
        if value is None:
            return None
        if isinstance(value, Many):
            hit = self._bins_of_many(value.values)
        else:
            if self._values_only:  # _bins_of without a call: most coverpoints and samples
                try:
                    hit = self._by_value.get(value, ())
                except TypeError:
                    hit = ()
            else:
                hit = self._bins_of(value)
            if not hit:
                self.unmatched += 1
        self.samples += 1
        hits = self.hits
        for b in hit:
            hits[b] += 1
        return hit

    def _bins_of_many(self, values) -> tuple[str, ...]:
        """The bins any of ``values`` falls in, each once; counts the values that match no bin."""
        hit: list[str] = []
        for v in values:
            bs = self._bins_of(v)
            if not bs:
                self.unmatched += 1
            for b in bs:
                if b not in hit:
                    hit.append(b)
        return tuple(hit)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["unmatched"] = self.unmatched
        if self.description:
            d["description"] = self.description
        return d

    @classmethod
    def from_dict(cls, name: str, d: Mapping) -> "Coverpoint":
        cp = cls.__new__(cls)
        _Item.__init__(cp, name, list(d["bins"]), None, int(d.get("at_least", 1)))
        cp.hits = {b: int(n) for b, n in d["bins"].items()}
        cp.waivers = {b: r for b, r in d.get("waivers", {}).items()}
        unknown = set(cp.waivers) - set(cp.hits)
        if unknown:
            raise CoverageError(f"coverpoint {name!r}: waivers for unknown bins {sorted(unknown)}")
        cp.samples = int(d.get("samples", 0))
        cp.unmatched = int(d.get("unmatched", 0))
        cp.description = d.get("description", "")
        cp._by_value, cp._predicates, cp._has_specs, cp._values_only = {}, [], False, False
        return cp

    def fresh(self) -> "Coverpoint":
        new = super().fresh()
        new.unmatched = 0
        return new

    def _merge_counts(self, other, owner, strict):
        super()._merge_counts(other, owner, strict)
        self.unmatched += other.unmatched


class Cross(_Item):
    """Cross of coverpoints (by name, or Coverpoint objects of the same group)."""

    kind = "cross"

    def __init__(self, name: str, coverpoints: Iterable, waivers: Mapping[str, str] | None = None,
                 at_least: int = 1, description: str = ""):
        self.point_names = [cp.name if isinstance(cp, Coverpoint) else cp for cp in coverpoints]
        if len(self.point_names) < 2:
            raise CoverageError(f"cross {name!r} needs at least two coverpoints")
        self._pending_waivers = dict(waivers or {})
        self._pending_at_least = at_least
        self.description = description
        self.name = check_name("cross", name, ".")
        self._bound = False

    def _bind(self, points: Mapping[str, Coverpoint], group: str) -> None:
        """Build the bins once the covergroup's coverpoints are known."""
        missing = [p for p in self.point_names if p not in points]
        if missing:
            raise CoverageError(
                f"cross {self.name!r} of covergroup {group!r} names unknown coverpoints {missing} "
                f"(coverpoints: {list(points)})"
            )
        cps = [points[p] for p in self.point_names]
        combos = list(itertools.product(*(cp.bin_names for cp in cps)))
        self._combo_names = {combo: "/".join(combo) for combo in combos}
        super().__init__(self.name, list(self._combo_names.values()), self._pending_waivers, self._pending_at_least)
        # a cross bin made of a waived coverpoint bin is waived with that reason
        if any(cp.waivers for cp in cps):
            for combo in combos:
                for cp, b in zip(cps, combo):
                    if b in cp.waivers:
                        self.waivers.setdefault(self._combo_names[combo], f"{cp.name}={b} is waived: {cp.waivers[b]}")
                        break
        self._bound = True

    def _sample(self, per_point) -> None:
        """Count one sample from the bins each coverpoint hit (a sequence, None for a point not sampled)."""
        if None in per_point:
            return
        self.samples += 1
        hits, names = self.hits, self._combo_names
        for combo in itertools.product(*per_point):
            hits[names[combo]] += 1

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["coverpoints"] = list(self.point_names)
        if self.description:
            d["description"] = self.description
        return d

    @classmethod
    def from_dict(cls, name: str, d: Mapping) -> "Cross":
        cr = cls.__new__(cls)
        cr.point_names = list(d["coverpoints"])
        cr.description = d.get("description", "")
        _Item.__init__(cr, name, list(d["bins"]), None, int(d.get("at_least", 1)))
        cr.hits = {b: int(n) for b, n in d["bins"].items()}
        cr.waivers = dict(d.get("waivers", {}))
        unknown = set(cr.waivers) - set(cr.hits)
        if unknown:
            raise CoverageError(f"cross {name!r}: waivers for unknown bins {sorted(unknown)}")
        cr.samples = int(d.get("samples", 0))
        cr._combo_names = {tuple(b.split("/")): b for b in cr.bin_names}
        cr._bound = True
        return cr

    def fresh(self) -> "Cross":
        new = super().fresh()
        new.point_names = list(self.point_names)
        return new
