"""EDA file lists (``.f``): the common syntax of VCS, Xcelium, Questa and Verilator.

:func:`parse` reads a list into a :class:`FileList` (sources in order, include
directories, defines in order, Verilator config files, library files and
directories, extra Verilator options), every path absolute. Understood, one
or more a line:

* a path: an HDL source (a ``*.vlt`` file is a Verilator config file);
* ``+define+NAME[=VALUE][+NAME2...]``, ``-D NAME[=VALUE]``, ``-DNAME[=VALUE]``;
* ``+incdir+DIR[+DIR2...]``, ``-I DIR``, ``-IDIR``;
* ``-f FILE``: a nested list whose relative paths are relative to the same
  folder as the including list's own (the current directory for a list read
  with ``relative_to="cwd"``), as VCS and Verilator define ``-f``;
* ``-F FILE``: a nested list whose relative paths are relative to its own folder;
* ``-v FILE`` (library file), ``-y DIR`` (library directory), ``+libext+.v+.sv``;
* a few Verilator options that a list may carry (``-Wno-...``, ``--timing``,
  ``-sv``, ``--bbox-unsup``, ``--x-assign X`` ...): kept in ``verilator_args``;
* ``//`` and ``#`` comments (from the start of a word to the end of the line),
  ``/* ... */`` comments, double or single quotes around a word;
* ``$VAR``, ``${VAR}``, ``$(VAR)``: environment variables (an unset one is an error).

Every error is a :class:`FileListError` naming the list file, the line and
what to do. Pure standard library: nothing here imports the rest of the package.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Iterable, Mapping

__all__ = ["FileList", "FileListError", "parse", "parse_text"]

VLT_SUFFIXES = (".vlt",)
CXX_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".h", ".hpp")

# Verilator options a file list may carry, passed through to Verilator, with
# the number of arguments each takes. Warning options (-W...) are matched by prefix.
PASS_THROUGH = {
    "-sv": 0, "--sv": 0, "--timing": 0, "--no-timing": 0, "--bbox-unsup": 0, "-bbox-unsup": 0,
    "--bbox-sys": 0, "-Wall": 0, "-Wpedantic": 0, "--assert": 0, "--no-assert": 0,
    "--x-assign": 1, "-x-assign": 1, "--x-initial": 1, "-x-initial": 1, "--timescale": 1,
    "--timescale-override": 1, "--language": 1, "--default-language": 1, "-CFLAGS": 1,
    "-LDFLAGS": 1, "--unroll-count": 1, "--unroll-stmts": 1, "--error-limit": 1,
    "--no-timescale-error": 0, "--relative-includes": 0, "--no-relative-includes": 0,
}
PASS_THROUGH_PREFIXES = ("-Wno-", "--Wno-", "-Wwarn-", "--Wwarn-", "-Werror-", "--Werror-",
                         "-Wfuture-", "+systemverilogext+", "+verilog1995ext+", "+verilog2001ext+",
                         "+1364-1995ext+", "+1364-2001ext+", "+1364-2005ext+", "+1800-2005ext+",
                         "+1800-2009ext+", "+1800-2012ext+", "+1800-2017ext+", "+1800-2023ext+")


class FileListError(ValueError):
    """A file list could not be read; the message names the list, the line and what to do."""


@dataclasses.dataclass
class FileList:
    """What a file list (or a Bender package) asks a compiler for; every path absolute."""

    sources: list = dataclasses.field(default_factory=list)        # HDL files, compile order
    incdirs: list = dataclasses.field(default_factory=list)        # include directories, in order
    defines: dict = dataclasses.field(default_factory=dict)        # NAME -> value or None, in order
    vlt_files: list = dataclasses.field(default_factory=list)      # Verilator config files
    lib_files: list = dataclasses.field(default_factory=list)      # -v
    lib_dirs: list = dataclasses.field(default_factory=list)       # -y
    libexts: list = dataclasses.field(default_factory=list)        # +libext+ extensions
    verilator_args: list = dataclasses.field(default_factory=list)  # extra Verilator options
    top: str | None = None                                          # a --top-module the list named
    origins: list = dataclasses.field(default_factory=list)        # the lists/manifests read
    notes: list = dataclasses.field(default_factory=list)          # warnings worth showing a user

    # ------------------------------------------------------------------ building

    def add_source(self, path: pathlib.Path) -> None:
        path = pathlib.Path(path)
        target = self.vlt_files if path.suffix in VLT_SUFFIXES else self.sources
        if path not in target:
            target.append(path)

    def add_incdir(self, path: pathlib.Path) -> None:
        if path not in self.incdirs:
            self.incdirs.append(pathlib.Path(path))

    def add_define(self, name: str, value: str | None = None) -> None:
        self.defines.pop(name, None)  # a later definition wins, and moves to the end
        self.defines[name] = value

    def extend(self, other: "FileList") -> "FileList":
        """Append ``other`` to this list (duplicates dropped, later defines win); returns self."""
        for f in other.sources:
            self.add_source(f)
        for f in other.vlt_files:
            self.add_source(f)
        for d in other.incdirs:
            self.add_incdir(d)
        for k, v in other.defines.items():
            self.add_define(k, v)
        for attr in ("lib_files", "lib_dirs", "libexts", "origins", "notes"):
            mine = getattr(self, attr)
            mine.extend(x for x in getattr(other, attr) if x not in mine)
        self.verilator_args.extend(a for a in other.verilator_args if a not in self.verilator_args
                                   or not a.startswith("-W"))
        self.top = self.top or other.top
        return self

    # ------------------------------------------------------------------ output

    def define_args(self) -> list[str]:
        return [f"+define+{k}" if v is None else f"+define+{k}={v}" for k, v in self.defines.items()]

    def compiler_args(self) -> list[str]:
        """Everything but the sources, as Verilator command-line arguments."""
        args = list(self.verilator_args)
        args += self.define_args()
        args += [f"+incdir+{d}" for d in self.incdirs]
        args += self.library_args()
        args += [str(f) for f in self.vlt_files]
        return args

    def library_args(self) -> list[str]:
        """The library files and folders Verilator searches for undefined modules (-v, -y, +libext+)."""
        args = []
        for f in self.lib_files:
            args += ["-v", str(f)]
        for d in self.lib_dirs:
            args += ["-y", str(d)]
        if self.libexts:
            args.append("+libext+" + "+".join(self.libexts))
        return args

    def args(self) -> list[str]:
        """The whole list as Verilator arguments: options, config files, then sources in order."""
        return self.compiler_args() + [str(f) for f in self.sources]

    def text(self) -> str:
        """The list as a ``.f`` file (absolute paths), one item a line; :func:`parse` reads it back."""
        lines = [f"// {len(self.sources)} sources" + (f" from {', '.join(map(str, self.origins))}"
                                                     if self.origins else "")]
        lines += self.verilator_args
        lines += self.define_args()
        lines += [f"+incdir+{_quote(d)}" for d in self.incdirs]
        lines += [f"-v {_quote(f)}" for f in self.lib_files]
        lines += [f"-y {_quote(d)}" for d in self.lib_dirs]
        if self.libexts:
            lines.append("+libext+" + "+".join(self.libexts))
        lines += [_quote(f) for f in self.vlt_files]
        lines += [_quote(f) for f in self.sources]
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text())
        return path


def _quote(p) -> str:
    s = str(p)
    return f'"{s}"' if any(c.isspace() for c in s) else s


# --------------------------------------------------------------------------- parsing


_ENV_RE = re.compile(r"\$(?:\{(?P<b>[^}]*)\}|\((?P<p>[^)]*)\)|(?P<n>[A-Za-z_][A-Za-z0-9_]*))")


class _Ctx:
    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.stack: list[pathlib.Path] = []
        self.out = FileList()


def parse(path: str | os.PathLike, relative_to: str = "list", base: str | os.PathLike | None = None,
          env: Mapping[str, str] | None = None) -> FileList:
    """Read the file list at ``path``.

    Relative paths inside it are relative to the list's own folder
    (``relative_to="list"``, like ``-F``; the default), or to ``base`` (default
    the current directory) for ``relative_to="cwd"`` (like ``-f``).
    """
    if relative_to not in ("list", "cwd"):
        raise ValueError(f"relative_to must be 'list' or 'cwd', not {relative_to!r}")
    path = pathlib.Path(path).expanduser()
    if not path.is_absolute():
        path = pathlib.Path(base or os.getcwd()) / path
    path = pathlib.Path(os.path.abspath(path))
    if not path.is_file():
        raise FileListError(f"{path}: file list not found: check the path")
    ctx = _Ctx(os.environ if env is None else env)
    b = path.parent if relative_to == "list" else pathlib.Path(os.path.abspath(base or os.getcwd()))
    _read(ctx, path, b)
    return ctx.out


def parse_text(text: str, base: str | os.PathLike, name: str = "<text>",
               env: Mapping[str, str] | None = None) -> FileList:
    """Parse list ``text`` with relative paths against ``base`` (for lists that are not files)."""
    ctx = _Ctx(os.environ if env is None else env)
    _parse_lines(ctx, text, pathlib.Path(name), pathlib.Path(os.path.abspath(base)))
    return ctx.out


def _read(ctx: _Ctx, path: pathlib.Path, base: pathlib.Path, where: str | None = None) -> None:
    real = path.resolve()
    if real in ctx.stack:
        chain = " -> ".join(str(p) for p in ctx.stack + [real])
        raise FileListError(f"{where or path}: file list {path} includes itself (recursion loop: {chain}); "
                            "remove the -f/-F line that closes the loop")
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise FileListError(f"{where or path}: cannot read file list {path}: {exc.strerror}") from None
    ctx.stack.append(real)
    ctx.out.origins.append(path)
    try:
        _parse_lines(ctx, text, path, base)
    finally:
        ctx.stack.pop()


def _tokens(text: str, listname: pathlib.Path):
    """(line number, word) pairs, comments removed, quotes honoured."""
    in_block = False
    for lineno, line in enumerate(text.splitlines(), 1):
        i, n = 0, len(line)
        while i < n:
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    i = n
                    continue
                in_block, i = False, end + 2
                continue
            c = line[i]
            if c.isspace():
                i += 1
                continue
            if line.startswith("//", i) or c == "#":
                break
            if line.startswith("/*", i):
                in_block, i = True, i + 2
                continue
            word, quoted = [], False
            while i < n and not line[i].isspace():
                c = line[i]
                if c in "\"'":
                    end = line.find(c, i + 1)
                    if end < 0:
                        raise FileListError(f"{listname}:{lineno}: unterminated quote {c}: close it on the same line")
                    word.append(line[i + 1:end])
                    quoted, i = True, end + 1
                    continue
                word.append(c)
                i += 1
            yield lineno, "".join(word), quoted
    if in_block:
        raise FileListError(f"{listname}: a /* comment is never closed: add */")


def _expand_env(ctx: _Ctx, word: str, where: str) -> str:
    def sub(m):
        name = m.group("b") or m.group("p") or m.group("n")
        if name not in ctx.env:
            raise FileListError(f"{where}: environment variable {name} is not set: export {name}=... "
                                "before building (or write the path out)")
        return ctx.env[name]

    return _ENV_RE.sub(sub, word)


def _parse_lines(ctx: _Ctx, text: str, listname: pathlib.Path, base: pathlib.Path) -> None:
    out = ctx.out
    toks = list(_tokens(text, listname))
    i = 0

    def where(lineno):
        return f"{listname}:{lineno}"

    def path_of(word: str) -> pathlib.Path:
        p = pathlib.Path(word).expanduser()
        return pathlib.Path(os.path.abspath(p if p.is_absolute() else base / p))

    def take_arg(opt: str, lineno: int) -> str:
        nonlocal i
        if i + 1 >= len(toks):
            raise FileListError(f"{where(lineno)}: option {opt} needs an argument: write `{opt} VALUE`")
        i += 1
        return _expand_env(ctx, toks[i][1], where(toks[i][0]))

    while i < len(toks):
        lineno, word, quoted = toks[i]
        w = _expand_env(ctx, word, where(lineno))
        if not quoted and w.startswith("+"):
            _plus_option(ctx, w, lineno, where(lineno), path_of)
        elif not quoted and w.startswith("-") and len(w) > 1:
            if w in ("-f", "-F"):
                arg = take_arg(w, lineno)
                nested = path_of(arg)
                if not nested.is_file():
                    raise FileListError(f"{where(lineno)}: {w} {arg}: nested file list {nested} not found: "
                                        f"check the path (relative to {base})")
                _read(ctx, nested, base if w == "-f" else nested.parent, where(lineno))
            elif w == "-v":
                f = path_of(take_arg(w, lineno))
                _must_exist(f, where(lineno), "library file (-v)")
                if f not in out.lib_files:
                    out.lib_files.append(f)
            elif w == "-y":
                d = path_of(take_arg(w, lineno))
                if not d.is_dir():
                    raise FileListError(f"{where(lineno)}: -y {d}: library directory not found: check the path")
                if d not in out.lib_dirs:
                    out.lib_dirs.append(d)
            elif w.startswith("-D"):
                spec = w[2:] or take_arg(w, lineno)
                _define(out, spec, where(lineno))
            elif w.startswith("-I") and not w.startswith("-I-"):
                out.add_incdir(path_of(w[2:] or take_arg(w, lineno)))
                _note_missing_dir(out, out.incdirs[-1], where(lineno))
            elif w in ("--top-module", "-top-module", "--top", "-top"):
                out.top = take_arg(w, lineno)
            elif w in PASS_THROUGH:
                args = [w] + [take_arg(w, lineno) for _ in range(PASS_THROUGH[w])]
                out.verilator_args.extend(args)
            elif w.startswith(PASS_THROUGH_PREFIXES):
                out.verilator_args.append(w)
            else:
                raise FileListError(f"{where(lineno)}: unknown option {w!r}: a file list here takes paths, "
                                    "+define+, +incdir+, +libext+, -f, -F, -v, -y, -D, -I and Verilator warning "
                                    "options; remove it or pass it to the build as an extra Verilator argument")
        else:
            p = path_of(w)
            if p.suffix.lower() in CXX_SUFFIXES:
                raise FileListError(f"{where(lineno)}: {w}: C/C++ files cannot be simulated from a file list: "
                                    "remove the line")
            _must_exist(p, where(lineno), "source file")
            if p.is_dir():
                raise FileListError(f"{where(lineno)}: {w} is a directory, not a source file: list its files, "
                                    "or use -y DIR for a library directory")
            out.add_source(p)
        i += 1


def _plus_option(ctx: _Ctx, w: str, lineno: int, where: str, path_of) -> None:
    out = ctx.out
    if w.startswith("+define+"):
        for spec in w[len("+define+"):].split("+"):
            if spec:
                _define(out, spec, where)
    elif w.startswith("+incdir+"):
        for d in w[len("+incdir+"):].split("+"):
            if d:
                out.add_incdir(path_of(d))
                _note_missing_dir(out, out.incdirs[-1], where)
    elif w.startswith("+libext+"):
        for e in w[len("+libext+"):].split("+"):
            if e and e not in out.libexts:
                out.libexts.append(e)
    elif w.startswith(PASS_THROUGH_PREFIXES):
        out.verilator_args.append(w)
    else:
        raise FileListError(f"{where}: unknown option {w.split('+')[1] if w.count('+') > 1 else w!r} in {w!r}: "
                            "known + options are +define+, +incdir+ and +libext+")


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*$")


def _define(out: FileList, spec: str, where: str) -> None:
    name, sep, value = spec.partition("=")
    if not _NAME_RE.match(name):
        raise FileListError(f"{where}: {spec!r} is not a macro definition: expected NAME or NAME=VALUE")
    out.add_define(name, value if sep else None)


def _must_exist(p: pathlib.Path, where: str, what: str) -> None:
    if not p.exists():
        raise FileListError(f"{where}: {what} {p} not found: check the path, or check out the package "
                            "that holds it")


def _note_missing_dir(out: FileList, d: pathlib.Path, where: str) -> None:
    if not d.is_dir():
        out.notes.append(f"{where}: include directory {d} does not exist (ignored by the compiler)")


def merge(lists: Iterable[FileList]) -> FileList:
    """One list of several, in order."""
    out = FileList()
    for fl in lists:
        out.extend(fl)
    return out
