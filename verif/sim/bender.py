"""The ordered sources of a Bender package, without the ``bender`` tool.

:func:`resolve` reads a package's ``Bender.yml`` and ``Bender.lock`` (and
``Bender.local`` path overrides), finds every dependency's checkout, orders
the packages as ``bender`` does (dependencies before dependents: packages
ranked by their depth in the dependency graph, deepest first, alphabetical
within a rank, the root package last) and returns the source list that
``bender script verilator`` would write, as a :class:`~redmule_verif.sim.filelist.FileList`:

* source groups with ``target:`` expressions (names, ``all(...)``,
  ``any(...)``, ``not(...)``, ``*``), filtered by the active targets: those
  given, the tool's default targets (``verilator`` adds ``verilator`` and
  ``synthesis``, as bender does) and those of the package's published flow;
* nested groups inherit their parents' targets, include dirs and defines;
* ``defines:``, ``include_dirs:`` (also with per-entry targets),
  ``export_include_dirs`` of the package and of its direct dependencies,
  ``TARGET_<NAME>`` defines for every active target, ``files:`` globs,
  ``sv:``/``v:`` entries, ``external_flists``; VHDL files are left out (Verilator
  cannot read them), as ``bender script verilator`` leaves them out.

Where a dependency's checkout is looked for, first match wins:
``Bender.local`` ``overrides`` with a ``path``; a ``Path`` source in the lock;
the manifest's ``workspace: checkout_dir`` (``DIR/<name>``); each of
``deps_dirs`` (``DIR/<name>``, a plain folder of checkouts named by package);
Bender's own layout ``ROOT/.bender/git/checkouts/<name>-<hash>`` where hash is
the first 16 hex digits of BLAKE2b-512(git URL + the root package name in
double quotes) (bender >= 0.27.2; older versions hashed the root path, so any
``<name>-<16 hex>`` folder is accepted too).

``top=`` prunes the list to the files reachable from the named design units
(as ``bender script --top`` does with slang, here with a conservative lexical
scan): with it, only the packages actually needed must be checked out, and a
missing one is an error only when the design needs it. Every error is a
:class:`BenderError` that names the package, its revision and how to get it.

The published flow (``flow=True``): a PULP IP's ``bender_common.mk`` /
``bender_sim.mk`` give the targets (``-t``) and defines (``-D``) its
simulation flow passes to ``bender script``, and
``target/sim/<tool>/<tool>.mk`` the Verilator warning options it builds with
(``-Wno-...``); :func:`published_flow` reads them and :func:`resolve` applies them.
"""

from __future__ import annotations

import dataclasses
import glob as _glob
import hashlib
import os
import pathlib
import re
from typing import Iterable, Mapping, Sequence

import yaml

from redmule_verif.sim.filelist import FileList, FileListError, parse as parse_filelist

__all__ = ["BenderError", "Package", "Flow", "resolve", "resolve_packages", "published_flow",
           "checkout_name", "TargetSpec", "DEFAULT_TARGETS"]

# The targets `bender script FORMAT` adds by itself (bender's cmd/script.rs).
DEFAULT_TARGETS = {
    "verilator": ("verilator", "synthesis"),
    "flist": ("flist",),
    "flist-plus": ("flist",),
    "vsim": ("vsim", "simulation"),
    "vcs": ("vcs", "simulation"),
    "synopsys": ("synopsys", "synthesis"),
    "riviera": ("riviera", "simulation"),
    "genus": ("genus", "synthesis"),
    "vivado": ("vivado", "fpga", "xilinx", "synthesis"),
    "vivado-sim": ("vivado", "fpga", "xilinx", "simulation"),
    "precision": ("precision", "fpga", "synthesis"),
}
VERILOG_SUFFIXES = (".sv", ".v", ".vp")
VHDL_SUFFIXES = (".vhd", ".vhdl")


class BenderError(FileListError):
    """A Bender package could not be resolved; the message says which package and what to do."""


# --------------------------------------------------------------------------- target expressions


class TargetSpec:
    """A bender target expression: ``*``, a name, ``all(...)``, ``any(...)``, ``not(...)``."""

    _TOKEN = re.compile(r"\s*(?:(?P<ident>[A-Za-z0-9_.:\-]+)|(?P<punct>[(),*])|(?P<bad>\S))")

    def __init__(self, op: str, args: tuple = (), name: str | None = None, text: str = ""):
        self.op, self.args, self.name, self.text = op, args, name, text

    @classmethod
    def parse(cls, text) -> "TargetSpec":
        if text is None:
            return cls("*", text="*")
        text = str(text)
        toks = []
        for m in cls._TOKEN.finditer(text):
            if m.group("bad"):
                raise ValueError(f"invalid character {m.group('bad')!r}")
            toks.append(m.group("ident") or m.group("punct"))
        pos = 0

        def peek():
            return toks[pos] if pos < len(toks) else None

        def take(expected=None):
            nonlocal pos
            tok = peek()
            if tok is None:
                raise ValueError("unexpected end of the expression")
            if expected and tok != expected:
                raise ValueError(f"expected {expected!r}, found {tok!r}")
            pos += 1
            return tok

        def expr():
            tok = take()
            low = tok.lower()
            if tok == "*":
                return cls("*")
            if tok == "(":
                inner = expr()
                take(")")
                return inner
            if low in ("all", "any"):
                take("(")
                items = [expr()]
                while peek() == ",":
                    take(",")
                    items.append(expr())
                take(")")
                return cls(low, tuple(items))
            if low == "not":
                take("(")
                inner = expr()
                take(")")
                return cls("not", (inner,))
            if tok in (")", ","):
                raise ValueError(f"unexpected {tok!r}")
            if ":" in tok or tok.startswith("-"):
                raise ValueError(f"target name {tok!r} may not contain ':' or start with '-'")
            return cls("name", name=low)

        spec = expr()
        if peek() is not None:
            raise ValueError(f"unexpected {peek()!r} after the expression")
        spec.text = text
        return spec

    def matches(self, targets: set) -> bool:
        if self.op == "*":
            return True
        if self.op == "name":
            return self.name in targets
        if self.op == "all":
            return all(a.matches(targets) for a in self.args)
        if self.op == "any":
            return any(a.matches(targets) for a in self.args)
        return not self.args[0].matches(targets)

    def __repr__(self) -> str:
        return f"TargetSpec({self.text or self.op!r})"


def targets_for(targets: Sequence[str], package: str) -> set:
    """The active targets seen by ``package``: ``pkg:target`` entries scoped, ``-target`` removed (bender's rule)."""
    local = []
    for t in targets:
        t = t.lower()
        if ":" in t:
            pkg, _, tt = t.partition(":")
            if pkg == package or pkg == "*":
                local.append(tt)
        else:
            local.append(t)
    neg = {t[1:] for t in local if t.startswith("-")}
    return {t for t in local if not t.startswith("-") and t not in neg}


# --------------------------------------------------------------------------- manifests


@dataclasses.dataclass
class Package:
    """One package of the graph: where it is and what the lock says of it."""

    name: str
    path: pathlib.Path | None       # None: not checked out
    revision: str | None = None
    version: str | None = None
    url: str | None = None
    dependencies: tuple = ()
    manifest: dict | None = None
    looked_in: tuple = ()           # where its checkout was looked for (for the error message)

    def how_to_get(self, root: pathlib.Path) -> str:
        rev = self.revision or (f"version {self.version}" if self.version else "the locked revision")
        steps = [f"`bender checkout` in {root}"]
        if self.url:
            steps.append(f"`git clone {self.url} DEPS/{self.name} && git -C DEPS/{self.name} checkout {rev}` "
                         "and pass DEPS as a dependency folder")
        return " or ".join(steps)


@dataclasses.dataclass
class Flow:
    """What a package's published tool flow adds to ``bender script`` and to Verilator."""

    targets: list = dataclasses.field(default_factory=list)
    defines: dict = dataclasses.field(default_factory=dict)
    verilator_args: list = dataclasses.field(default_factory=list)
    read: list = dataclasses.field(default_factory=list)  # the files it came from
    other_options: list = dataclasses.field(default_factory=list)  # tool options seen, not applied


def checkout_name(name: str, url: str, root_package: str) -> str:
    """The folder bender gives a git dependency under ``.bender/git/checkouts`` (bender >= 0.27.2)."""
    h = hashlib.blake2b(url.encode() + f'"{root_package}"'.encode()).hexdigest()[:16]
    return f"{name}-{h}"


def _load_yaml(path: pathlib.Path, what: str, strings: bool = False) -> dict:
    """A YAML mapping; ``strings``: every scalar a string (a revision like 1234...e5 stays text)."""
    try:
        data = yaml.load(path.read_text(), Loader=yaml.BaseLoader) if strings else yaml.safe_load(path.read_text())
    except OSError as exc:
        raise BenderError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise BenderError(f"{path}{line}: the {what} is not valid YAML ({getattr(exc, 'problem', exc)}): "
                          "fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BenderError(f"{path}: the {what} must be a YAML mapping")
    return data


def _null(value):
    return None if value in (None, "", "null", "~", "Null", "NULL") else str(value)


def _manifest_path(package: str | os.PathLike) -> pathlib.Path:
    p = pathlib.Path(package).expanduser().resolve()
    if p.is_dir():
        p = p / "Bender.yml"
    if not p.is_file():
        raise BenderError(f"{p}: no Bender.yml here: give a Bender package folder or its Bender.yml")
    return p


def _git_head(path: pathlib.Path) -> str | None:
    """The commit a git work tree is at (read from .git, no git needed), or None."""
    git = path / ".git"
    try:
        if git.is_file():  # a worktree or submodule: "gitdir: ..."
            m = re.match(r"gitdir:\s*(.+)", git.read_text().strip())
            git = (path / m.group(1)).resolve() if m else None
        if not git or not (git / "HEAD").is_file():
            return None
        head = (git / "HEAD").read_text().strip()
        if re.fullmatch(r"[0-9a-f]{40}", head):
            return head
        if head.startswith("ref:"):
            ref = head[4:].strip()
            common = git
            if (git / "commondir").is_file():
                common = (git / (git / "commondir").read_text().strip()).resolve()
            for base in (git, common):
                if (base / ref).is_file():
                    return (base / ref).read_text().strip()
            packed = common / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        return parts[0]
    except OSError:
        return None
    return None


def resolve_packages(package: str | os.PathLike, deps_dirs: Iterable[str | os.PathLike] = ()) -> tuple:
    """(root manifest path, root manifest, [Package in bender's order, the root last]).

    Dependencies that are not checked out have ``path=None``; nothing is raised for them here.
    """
    mpath = _manifest_path(package)
    root = mpath.parent
    manifest = _load_yaml(mpath, "package manifest (Bender.yml)")
    try:
        root_name = str(manifest["package"]["name"])
    except (KeyError, TypeError):
        raise BenderError(f"{mpath}: the manifest has no package: name: add one") from None
    direct = [str(d).lower() for d in (manifest.get("dependencies") or {})]

    lock_path = root / "Bender.lock"
    locked: dict = {}
    if lock_path.is_file():
        locked = _load_yaml(lock_path, "lock file (Bender.lock)", strings=True).get("packages") or {}
    elif direct:
        raise BenderError(f"{lock_path}: no Bender.lock beside {mpath}, and the package has dependencies "
                          f"({', '.join(direct)}): run `bender update` once to pin their revisions")
    locked = {str(k).lower(): v or {} for k, v in locked.items()}
    for d in direct:
        if d not in locked:
            raise BenderError(f"{mpath}: dependency {d} is not in {lock_path}: run `bender update`")

    overrides = {}
    local = root / "Bender.local"
    if local.is_file():
        for k, v in (_load_yaml(local, "local configuration (Bender.local)").get("overrides") or {}).items():
            if isinstance(v, dict) and v.get("path"):
                overrides[str(k).lower()] = (root / os.path.expandvars(str(v["path"]))).resolve()

    checkout_dir = (manifest.get("workspace") or {}).get("checkout_dir")
    dirs = [pathlib.Path(d).expanduser().resolve() for d in deps_dirs]
    co_root = root / ".bender" / "git" / "checkouts"

    pkgs: dict = {}
    for name, entry in locked.items():
        src = entry.get("source") or {}
        url = src.get("Git") if isinstance(src, dict) else None
        path_src = src.get("Path") if isinstance(src, dict) else None
        looked = []
        found = None
        candidates = []
        if name in overrides:
            candidates.append(overrides[name])
        if path_src:
            candidates.append((root / path_src).resolve())
        if checkout_dir:
            candidates.append((root / checkout_dir / name).resolve())
        candidates += [d / name for d in dirs]
        if url:
            candidates.append(co_root / checkout_name(name, url, root_name))
        for c in candidates:
            looked.append(str(c))
            if (c / "Bender.yml").is_file() or (c.is_dir() and any(c.iterdir())):
                found = c
                break
        if found is None and url and co_root.is_dir():  # older bender: hash of the root path
            others = sorted(p for p in co_root.glob(f"{name}-*") if re.fullmatch(
                re.escape(name) + r"-[0-9a-f]{16}", p.name) and p.is_dir())
            looked.append(str(co_root / f"{name}-*"))
            if others:
                found = others[0]
        deps = tuple(str(d).lower() for d in (entry.get("dependencies") or []))
        pkgs[name] = Package(name=name, path=found.resolve() if found else None, revision=_null(entry.get("revision")),
                             version=_null(entry.get("version")), url=url, dependencies=deps,
                             looked_in=tuple(looked))
    for p in pkgs.values():
        for d in p.dependencies:
            if d not in pkgs:
                raise BenderError(f"{lock_path}: package {p.name} depends on {d}, which the lock does not list: "
                                  "run `bender update`")

    # bender's ranking (sess.rs, load_locked): a package's rank exceeds its dependents'.
    rank = {n: 0 for n in pkgs}
    pending = list(dict.fromkeys(direct))
    limit = 2 * len(pkgs) + 2
    while pending:
        current, pending = pending, []
        for n in current:
            for d in pkgs[n].dependencies:
                if rank[d] <= rank[n] + 1:
                    rank[d] = rank[n] + 1
                    if d not in pending:
                        pending.append(d)
            if rank[n] > limit:
                raise BenderError(f"{lock_path}: the dependencies form a cycle through {sorted(current)}: "
                                  "fix the Bender.yml files (bender refuses cycles too)")
    order = sorted(pkgs, key=lambda n: (-rank[n], n))
    result = [pkgs[n] for n in order]
    result.append(Package(name=root_name.lower(), path=root, dependencies=tuple(direct), manifest=manifest))
    return mpath, manifest, result


# --------------------------------------------------------------------------- published flow


_MK_ASSIGN = re.compile(r"^\s*(?:override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(\+=|:=|\?=|=)\s*(.*)$")
_MK_COND = re.compile(r"^\s*(ifeq|ifneq)\s*\(\s*([^,]*?)\s*,\s*([^)]*?)\s*\)\s*$")


def _mk_expand(text: str, variables: Mapping[str, str]) -> str:
    return re.sub(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", lambda m: variables.get(m.group(1), ""), text)


def _read_mk(path: pathlib.Path, variables: dict) -> None:
    """Assignments of a simple makefile fragment (ifeq/ifneq/else/endif honoured) into ``variables``."""
    active = [True]
    in_rule = False
    text = path.read_text(errors="replace").replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("\t") and in_rule:  # a recipe line
            continue
        if line.strip() and not line.startswith("\t"):
            in_rule = bool(re.match(r"^[^\s#=:][^=]*:(?!=)", line)) and not _MK_ASSIGN.match(line)
            if in_rule:
                continue
        line = line.split("#", 1)[0].strip()
        m = _MK_COND.match(line)
        if m:
            a, b = _mk_expand(m.group(2), variables).strip(), _mk_expand(m.group(3), variables).strip()
            active.append(active[-1] and ((a == b) if m.group(1) == "ifeq" else (a != b)))
            continue
        if line.strip() == "else" and len(active) > 1:
            active[-1] = active[-2] and not active[-1]
            continue
        if line.strip() == "endif" and len(active) > 1:
            active.pop()
            continue
        m = _MK_ASSIGN.match(line)
        if m and active[-1]:
            name, op, value = m.group(1), m.group(2), _mk_expand(m.group(3), variables).strip()
            if op == "+=":
                variables[name] = (variables.get(name, "") + " " + value).strip()
            elif op == "?=":
                variables.setdefault(name, value)
            else:
                variables[name] = value


def published_flow(package: str | os.PathLike, tool: str = "verilator") -> Flow:
    """The targets, defines and Verilator options of a PULP IP's own simulation flow for ``tool``.

    Reads ``bender_common.mk`` and ``bender_sim.mk`` (the ``common_targs``/``common_defs`` and
    ``sim_targs``/``sim_defs`` it hands ``bender script``, with ``target=TOOL``) and the tool's
    makefile fragment ``target/sim/TOOL/TOOL.mk`` (its ``-Wno-...`` options). Absent files add nothing.
    """
    root = _manifest_path(package).parent
    flow = Flow()
    variables = {"target": tool}
    for name in ("bender_common.mk", "bender_sim.mk"):
        p = root / name
        if p.is_file():
            _read_mk(p, variables)
            flow.read.append(p)
    for var in ("common_targs", "sim_targs"):
        words = variables.get(var, "").split()
        for i, w in enumerate(words):
            if w == "-t" and i + 1 < len(words):
                t = words[i + 1].lower()
                if t not in flow.targets:
                    flow.targets.append(t)
            elif w.startswith("-t") and len(w) > 2:
                flow.targets.append(w[2:].lower())
    for var in ("common_defs", "sim_defs"):
        words = variables.get(var, "").split()
        for i, w in enumerate(words):
            spec = words[i + 1] if w == "-D" and i + 1 < len(words) else (w[2:] if w.startswith("-D") and
                                                                          len(w) > 2 else None)
            if spec:
                k, sep, v = spec.partition("=")
                flow.defines[k] = v if sep else None
    mk = root / "target" / "sim" / tool / f"{tool}.mk"
    if mk.is_file():
        flow.read.append(mk)
        text = mk.read_text(errors="replace").replace("\\\n", " ")
        for w in re.findall(r"(?<!\S)(--?[A-Za-z][\w-]*)", text):
            if re.match(r"--?Wno-", w):
                norm = "-" + w.lstrip("-")
                if norm not in flow.verilator_args:
                    flow.verilator_args.append(norm)
            elif w in ("--timing", "--bbox-unsup", "--trace", "-Wall", "-Wno-fatal") and w not in flow.other_options:
                flow.other_options.append(w)
    return flow


# --------------------------------------------------------------------------- sources


@dataclasses.dataclass
class _Group:
    package: str
    target: TargetSpec
    include_dirs: list       # [(TargetSpec, Path)]
    defines: list            # [(name, TargetSpec, value|None)]
    files: list              # [Path | _Group]
    where: str


def _spec(value, where: str) -> TargetSpec:
    try:
        return TargetSpec.parse(value)
    except ValueError as exc:
        raise BenderError(f"{where}: bad target expression {value!r}: {exc}") from None


def _subst(text: str, where: str) -> str:
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in os.environ:
            raise BenderError(f"{where}: environment variable {name} is not set (used in {text!r}): export it")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)", sub, text)


def _parse_group(data, pkg: str, base: pathlib.Path, where: str) -> _Group:
    if isinstance(data, list):
        data = {"files": data}
    if not isinstance(data, dict):
        raise BenderError(f"{where}: a source group must be a list or a mapping, not {type(data).__name__}")
    target = _spec(data.get("target"), where)
    incs = []
    for entry in data.get("include_dirs") or []:
        if isinstance(entry, dict):
            incs.append((_spec(entry.get("target"), where), base / _subst(str(entry["dir"]), where)))
        else:
            incs.append((TargetSpec.parse(None), base / _subst(str(entry), where)))
    defs = []
    for name, value in (data.get("defines") or {}).items():
        spec = TargetSpec.parse(None)
        if isinstance(value, dict):
            spec = _spec(value.get("target"), where)
            value = value.get("value")
        if isinstance(value, bool):
            value = str(value).lower()
        defs.append((str(name), spec, None if value is None else str(value)))
    files: list = []
    for entry in data.get("files") or []:
        if isinstance(entry, str):
            files.extend(_expand_file(entry, base, where))
        elif isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) in ("sv", "v", "vhd"):
            files.extend(_expand_file(str(next(iter(entry.values()))), base, where))
        elif isinstance(entry, (dict, list)):
            files.append(_parse_group(entry, pkg, base, where))
        else:
            raise BenderError(f"{where}: unexpected source entry {entry!r}")
    for fl in data.get("external_flists") or []:
        path = base / _subst(str(fl), where)
        try:
            ext = parse_filelist(path)
        except FileListError as exc:
            raise BenderError(f"{where}: external_flists: {exc}") from None
        sub = _Group(pkg, TargetSpec.parse(None), [(TargetSpec.parse(None), d) for d in ext.incdirs],
                     [(k, TargetSpec.parse(None), v) for k, v in ext.defines.items()], list(ext.sources), where)
        files.append(sub)
    return _Group(pkg, target, incs, defs, files, where)


def _expand_file(entry: str, base: pathlib.Path, where: str) -> list:
    entry = _subst(entry, where)
    p = base / entry
    if any(c in entry for c in "*?"):
        return [pathlib.Path(m) for m in sorted(_glob.glob(str(p), recursive=True))]
    return [p]


@dataclasses.dataclass
class _Flat:
    package: str
    target: list             # specs that must all match
    include_dirs: list
    defines: list
    files: list


def _flatten(g: _Group, parent: _Flat | None, out: list) -> None:
    me = _Flat(g.package, (parent.target if parent else []) + [g.target],
               (parent.include_dirs if parent else []) + g.include_dirs,
               (parent.defines if parent else []) + g.defines, [])
    run: list = []
    for f in g.files:
        if isinstance(f, _Group):
            if run:
                out.append(dataclasses.replace(me, files=run))
                run = []
            _flatten(f, me, out)
        else:
            run.append(f)
    if run:
        out.append(dataclasses.replace(me, files=run))


def resolve(package: str | os.PathLike, targets: Iterable[str] = (), defines: Mapping[str, object] | None = None,
            tool: str = "verilator", default_targets: bool = True, deps_dirs: Iterable[str | os.PathLike] = (),
            top: str | Iterable[str] | None = None, flow: bool | Flow = True,
            check_files: bool = True) -> FileList:
    """The sources of the Bender package at ``package`` (a folder or its Bender.yml), in bender's order.

    targets: extra targets (``-t``); defines: extra defines (``-D``, on every group);
    tool: the ``bender script`` format whose default targets apply; deps_dirs: plain
    folders of checkouts named by package; top: prune to the files these design
    units need (then only needed packages must be checked out); flow: apply the
    package's published flow (True), a given :class:`Flow`, or nothing (False).
    """
    mpath, manifest, pkgs = resolve_packages(package, deps_dirs)
    root = mpath.parent
    root_pkg = pkgs[-1]
    fl = FileList()
    fl.origins.append(mpath)

    active = [t.lower() for t in targets]
    if default_targets:
        active += list(DEFAULT_TARGETS.get(tool, (tool,)))
    extra_defs: dict = {}
    if flow:
        fw = flow if isinstance(flow, Flow) else published_flow(mpath, tool)
        active += fw.targets
        extra_defs.update(fw.defines)
        for a in fw.verilator_args:
            if a not in fl.verilator_args:
                fl.verilator_args.append(a)
        if fw.read:
            fl.notes.append(f"published flow from {', '.join(str(p) for p in fw.read)}: targets {fw.targets}, "
                            f"defines {fw.defines}, Verilator options {fw.verilator_args}"
                            + (f" (not applied: {fw.other_options})" if fw.other_options else ""))
    for k, v in (defines or {}).items():
        extra_defs[str(k)] = None if v is None else str(v)
    active = list(dict.fromkeys(active))

    missing = [p for p in pkgs[:-1] if p.path is None]
    if missing and top is None:
        raise BenderError(_missing_message(missing, root, mpath))

    # manifests of everything checked out
    by_name = {p.name: p for p in pkgs}
    for p in pkgs:
        if p.path is None:
            continue
        if p.manifest is None:
            man = p.path / "Bender.yml"
            p.manifest = _load_yaml(man, f"manifest of {p.name}") if man.is_file() else {}
        head = _git_head(p.path) if p is not root_pkg else None
        if head and p.revision and head != p.revision:
            fl.notes.append(f"{p.name}: the checkout {p.path} is at {head[:12]}, Bender.lock pins "
                            f"{p.revision[:12]}: run `bender checkout` (or git checkout {p.revision})")

    exports = {}
    for p in pkgs:
        if p.path is not None:
            exports[p.name] = [(_spec(e.get("target"), str(p.path)), p.path / str(e["dir"])) if isinstance(e, dict)
                               else (TargetSpec.parse(None), p.path / _subst(str(e), str(p.path)))
                               for e in (p.manifest.get("export_include_dirs") or [])]

    groups: list[_Flat] = []
    for p in pkgs:
        if p.path is None or not p.manifest.get("sources"):
            continue
        where = f"{p.path / 'Bender.yml'} (package {p.name})"
        g = _parse_group(p.manifest["sources"], p.name, p.path, where)
        flat: list = []
        _flatten(g, None, flat)
        incl_export = [(p.name, d) for d in exports.get(p.name, [])]
        deps = [str(d).lower() for d in (p.manifest.get("dependencies") or {})] if p is not root_pkg \
            else list(p.dependencies)
        for d in deps:
            incl_export += [(d, e) for e in exports.get(d, [])]
        pkg_targets = targets_for(active, p.name)
        tdefs = sorted("TARGET_" + t.upper() for t in pkg_targets)
        for f in flat:
            if not all(s.matches(pkg_targets) for s in f.target):
                continue
            f.include_dirs = [d for s, d in f.include_dirs if s.matches(pkg_targets)]
            for dep, (s, d) in incl_export:
                if s.matches(targets_for(active, dep)):
                    f.include_dirs.append(d)
            defs = {}
            for name, s, v in f.defines:
                if s.matches(pkg_targets):
                    defs[name] = v
            for t in tdefs:
                defs[t] = None
            defs.update(extra_defs)
            f.defines = defs
            groups.append(f)

    for g in groups:
        for d in g.include_dirs:
            fl.add_incdir(d.resolve() if d.exists() else d)
        for k, v in g.defines.items():
            if k not in fl.defines:
                fl.defines[k] = v
        for f in g.files:
            if f.suffix.lower() in VHDL_SUFFIXES:
                fl.notes.append(f"{f}: VHDL, left out (Verilator reads no VHDL; bender script verilator "
                                "leaves it out too)")
                continue
            if f.suffix.lower() not in VERILOG_SUFFIXES:
                fl.notes.append(f"{f}: not a Verilog file, left out")
                continue
            if check_files and not f.is_file():
                raise BenderError(f"{by_name[g.package].path / 'Bender.yml'}: package {g.package} lists {f}, "
                                  f"which does not exist in its checkout {by_name[g.package].path}: check that the "
                                  "checkout is complete (git submodules?) and at the locked revision")
            fl.add_source(f.resolve() if f.exists() else f)

    if top is not None:
        tops = [top] if isinstance(top, (str, os.PathLike)) else list(top)
        _prune(fl, tops, missing, root, mpath)
    elif missing:  # pragma: no cover - raised above
        raise BenderError(_missing_message(missing, root, mpath))
    return fl


def _missing_message(missing: list, root: pathlib.Path, mpath: pathlib.Path, needed_for: str = "") -> str:
    lines = [f"{mpath}: {len(missing)} dependenc{'y is' if len(missing) == 1 else 'ies are'} not checked out"
             + (f" {needed_for}" if needed_for else "") + ":"]
    for p in missing:
        rev = p.revision or "?"
        lines.append(f"  - {p.name} at revision {rev}" + (f" (version {p.version})" if p.version else "")
                     + (f" from {p.url}" if p.url else ""))
        lines.append(f"    looked in: {', '.join(p.looked_in) or '-'}")
        lines.append(f"    get it: {p.how_to_get(root)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pruning to a top


_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"", re.S)
_DEFINES_UNIT = re.compile(r"\b(?:module|macromodule|interface|package|program|primitive|checker)\s+"
                           r"(?:(?:automatic|static)\s+)?([A-Za-z_]\w*)")
_CLASS = re.compile(r"\bclass\s+([A-Za-z_]\w*)")
_IDENT = re.compile(r"(?<![`$\w])([A-Za-z_]\w*)")
_INCLUDE = re.compile(r"`include\s+\"([^\"]+)\"")
_PKG_REF = re.compile(r"\b([A-Za-z_]\w*)\b\s*::")
_INST = re.compile(r"^\s*([A-Za-z_]\w*)\b\s*(?:#\s*\(|([A-Za-z_]\w*)\b\s*(?:\[[^\]]*\]\s*)*\()", re.M)
_IFPORT = re.compile(r"[(,]\s*([A-Za-z_]\w*)\s*\.\s*[A-Za-z_]\w*\s+[A-Za-z_]\w*\b\s*[,)\[]")
_KEYWORDS = set("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before begin bind
bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos config
const constraint context continue cover covergroup coverpoint cross deassign default defparam design disable
dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable endtask
enum event eventually expect export extends extern final first_match for force foreach forever fork forkjoin
function generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import
incdir include initial inout input inside instance int integer interconnect interface intersect join join_any
join_none large let liblist library local localparam logic longint macromodule matches medium modport module
nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed
parameter pmos posedge primitive priority program property protected pull0 pull1 pulldown pullup
pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg
reject_on release repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime
s_until s_until_with scalared sequence shortint shortreal showcancelled signed small soft solve specify
specparam static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior
trireg type typedef union unique unique0 unsigned until until_with untyped use uwire var vectored virtual void
wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor std
""".split())


PREDEFINED = ("VERILATOR", "verilator", "verilator3", "SYSTEMVERILOG")
_DIRECTIVE = re.compile(r"`(ifdef|ifndef|elsif|else|endif|undef)\b\s*([A-Za-z_]\w*)?")
_DEFINE = re.compile(r"^\s*`define\s+([A-Za-z_]\w*)")


def _preprocess(text: str, defined: set) -> str:
    """``text`` without the regions that `ifdef/`ifndef/`elsif/`else/`endif switch off, and without `define bodies.

    A small preprocessor for the scan only: macros are not expanded, and `define/`undef
    in the file itself are honoured from where they stand.
    """
    defined = set(defined)
    out = []
    stack: list = []  # [(active, taken)]
    active = True
    for line in text.replace("\\\n", " ").splitlines():
        m = _DEFINE.match(line)
        if m:
            if active:
                defined.add(m.group(1))
            continue
        pos, keep = 0, []
        for d in _DIRECTIVE.finditer(line):
            if active:
                keep.append(line[pos:d.start()])
            kind, name = d.group(1), d.group(2)
            if kind in ("ifdef", "ifndef"):
                stack.append((active, False))
                cond = (name in defined) == (kind == "ifdef")
                active = active and cond
                stack[-1] = (stack[-1][0], cond)
            elif kind == "elsif" and stack:
                parent, taken = stack[-1]
                cond = (name in defined) and not taken
                active = parent and cond
                stack[-1] = (parent, taken or cond)
            elif kind == "else" and stack:
                parent, taken = stack[-1]
                active = parent and not taken
                stack[-1] = (parent, True)
            elif kind == "endif" and stack:
                active = stack.pop()[0]
            elif kind == "undef" and active and name:
                defined.discard(name)
            pos = d.start() + 1 + len(kind) if kind in ("else", "endif") else d.end()
        if active:
            keep.append(line[pos:])
        out.append("".join(keep))
    return "\n".join(out)


def _scan(path: pathlib.Path, incdirs: Sequence[pathlib.Path], cache: dict, macros: set = frozenset()) -> tuple:
    """(units defined, identifiers used, likely unit references, includes not found) of one file."""
    if path in cache:
        return cache[path]
    cache[path] = (set(), set(), set(), set())  # breaks include cycles
    try:
        raw = path.read_text(errors="replace")
    except OSError:
        return cache[path]
    pre = _COMMENTS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", raw)
    pre = _preprocess(pre, set(macros) | set(PREDEFINED))
    text = _COMMENTS.sub(lambda m: '""' if m.group(0).startswith('"') else " ", pre)
    defined = set(_DEFINES_UNIT.findall(text)) | set(_CLASS.findall(text))
    idents = set(_IDENT.findall(text))
    refs = set(_PKG_REF.findall(text)) | set(_IFPORT.findall(text))
    for m in _INST.finditer(text):
        if m.group(1) not in _KEYWORDS and (m.group(2) is None or m.group(2) not in _KEYWORDS):
            refs.add(m.group(1))
    refs -= _KEYWORDS
    unfound = set()
    for inc in _INCLUDE.findall(pre):
        for d in [path.parent, *incdirs]:
            cand = pathlib.Path(d) / inc
            if cand.is_file():
                d2, i2, r2, u2 = _scan(cand.resolve(), incdirs, cache, macros)
                defined |= d2
                idents |= i2
                refs |= r2
                unfound |= u2
                break
        else:
            unfound.add(inc)
    cache[path] = (defined, idents, refs, unfound)
    return cache[path]


def _prune(fl: FileList, tops: list, missing: list, root: pathlib.Path, mpath: pathlib.Path) -> None:
    """Keep the sources that the design units ``tops`` need (a path in ``tops``: what that file uses)."""
    cache: dict = {}
    scans = {f: _scan(f, fl.incdirs, cache, set(fl.defines)) for f in fl.sources}
    where: dict = {}
    for f, (defined, *_rest) in scans.items():
        for u in defined:
            where.setdefault(u, []).append(f)
    names, extra_refs, extra_unfound = [], set(), set()
    for t in tops:
        if isinstance(t, os.PathLike):  # a file outside the package (an adapter): seed with what it uses
            d, idents, refs, unfound = _scan(pathlib.Path(t).resolve(), fl.incdirs, cache, set(fl.defines))
            names += sorted(i for i in idents if i in where and i not in d)
            extra_refs |= refs - d
            extra_unfound |= unfound
        else:
            names.append(str(t))
    label = [t.name if isinstance(t, os.PathLike) else str(t) for t in tops]
    tops = names
    unknown_tops = [t for t in tops if t not in where]
    keep = {f for f, s in scans.items() if not s[0]}  # files that define no unit (macros, globals) stay
    todo = [f for t in tops for f in where.get(t, [])]
    while todo:
        f = todo.pop()
        if f in keep and scans[f][0]:
            continue
        keep.add(f)
        for ident in scans[f][1]:
            for g in where.get(ident, ()):
                if g not in keep:
                    todo.append(g)
    # what the kept files need but nothing defines
    undefined, unfound = set(extra_refs), set(extra_unfound)
    for f in keep:
        undefined |= scans[f][2]
        unfound |= scans[f][3]
    undefined -= set(where) | _KEYWORDS | {"$unit", "$root"}
    undefined = {u for u in undefined if not u.startswith("$")}
    dropped = [f for f in fl.sources if f not in keep]
    fl.sources = [f for f in fl.sources if f in keep]
    fl.notes.append(f"pruned to what {', '.join(label)} need{'s' if len(label) == 1 else ''}: {len(fl.sources)} files "
                    f"kept, {len(dropped)} not needed")
    if missing:
        if unknown_tops or undefined or unfound:
            needs = sorted(unknown_tops) + sorted(undefined)[:20] + [f'`include "{u}"' for u in sorted(unfound)]
            raise BenderError(_missing_message(missing, root, mpath, needed_for=f"and the design needs what is not "
                                               f"defined anywhere else ({', '.join(needs)})"))
        fl.notes.append("not needed for " + ", ".join(label) + " (not checked out, nothing refers to them): "
                        + ", ".join(f"{p.name} ({(p.revision or '?')[:12]})" for p in missing))
    elif unknown_tops:
        raise BenderError(f"{mpath}: no source of the package or its dependencies defines {', '.join(unknown_tops)}: "
                          "check the top name and the targets")
