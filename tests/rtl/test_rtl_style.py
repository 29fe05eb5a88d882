"""Synthesisable-style checks on the project's RTL (rtl/).

* Every rtl/*.sv, *.svh and *.v file (not only the FP units) is scanned, with
  comments removed, for constructs that have no place in synthesisable RTL:
  delays (``#5``, ``#DLY``, ``<= #(T)``; parameter lists ``#(`` and the SVA
  operators ``##``, ``#-#``, ``#=#`` are fine), ``initial`` blocks,
  ``real``/``shortreal``/``realtime``, display-type and other simulation-only
  system tasks ($display, $write, $strobe, $monitor and their file variants,
  $finish, $stop, file I/O, $readmem, $random, $dumpvars, $time ...), and DPI
  imports/exports. The elaboration-time severity tasks ($info, $warning,
  $error, $fatal) are allowed: they are legal in generate blocks for parameter
  checks and synthesis tools accept them there.
* ``verilator --lint-only -Wall`` reports nothing at all (no warning, no
  report line) on each of the four floating-point units, the FMA at several
  NUM_REGS values.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
RTL = REPO / "rtl"
RTL_FILES = sorted(p for ext in ("*.sv", "*.svh", "*.v") for p in RTL.glob(ext))

FP_UNITS = {
    "redmule_fp16_fma": [0, 1, 2, 3, 4, 6],  # NUM_REGS values to lint
    "redmule_fp16_minmax": [None],
    "redmule_fp8_to_fp16": [None],
    "redmule_fp16_to_fp8": [None],
}

# comments, string literals
_LEXEMES = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"', re.S)

_SYSTASKS = (
    r"\$(?:f?(?:display|write|strobe|monitor)[bho]?|finish|stop|exit|fopen|fclose|fflush|fgets|fgetc|"
    r"fscanf|sscanf|fread|feof|readmem[hb]|writemem[hb]|random|urandom(?:_range)?|dist_\w+|"
    r"dump\w*|time|stime|realtime|system|monitoron|monitoroff|printtimescale|timeformat|"
    r"value\$plusargs|test\$plusargs)\b"
)
# keywords after which "#(" starts a delay, not a parameter list
_STMT_KEYWORDS = {
    "assign", "begin", "end", "else", "always", "always_ff", "always_comb", "always_latch", "fork",
    "join", "join_any", "join_none", "forever", "repeat", "do", "return", "wait", "force", "release",
    "deassign", "initial", "final",
}

RULES = [
    ("initial block", re.compile(r"\binitial\b")),
    ("real-valued type", re.compile(r"\b(?:real|shortreal|realtime)\b")),
    ("simulation-only system task", re.compile(_SYSTASKS)),
    ("DPI import/export", re.compile(r'\b(?:import|export)\s+"DPI(?:-C|-SC)?"')),
]


def _blank(m: re.Match) -> str:
    """Replace a lexeme by spaces, keeping its newlines (line numbers stay right)."""
    return re.sub(r"[^\n]", " ", m.group(0))


def strip_comments(text: str) -> tuple[str, str]:
    """(code without comments, code without comments and without string contents)."""
    no_comments = _LEXEMES.sub(lambda m: m.group(0) if m.group(0).startswith('"') else _blank(m), text)
    no_strings = _LEXEMES.sub(lambda m: '"' + _blank(m)[2:] + '"' if m.group(0).startswith('"') else _blank(m),
                              text)
    return no_comments, no_strings


def _delays(code: str):
    """Positions of delay controls in comment- and string-free code."""
    # module/interface/program headers: "module m [import p::*;] #(" is a parameter list
    code = re.sub(r"\b(?:module|macromodule|interface|program|class|checker)\s+\w+\s*(?:import\s+[^;]*;\s*)*#",
                  lambda m: m.group(0)[:-1] + " ", code)
    code = re.sub(r"#-#|#=#|##", lambda m: " " * len(m.group(0)), code)  # SVA operators and cycle delays
    for m in re.finditer(r"#", code):
        rest = code[m.end():].lstrip()
        if not rest:
            continue
        nxt = rest[0]
        if nxt.isdigit() or nxt == "`" or nxt == "_" or nxt.isalpha():
            yield m.start()
        elif nxt == "(":
            before = code[:m.start()].rstrip()
            tok = re.search(r"(\w+|\S)$", before)
            prev = tok.group(1) if tok else ""
            if not re.fullmatch(r"[A-Za-z_]\w*", prev) or prev in _STMT_KEYWORDS:
                yield m.start()


def violations(text: str) -> list[tuple[int, str, str]]:
    """(line, rule, excerpt) for each forbidden construct in SystemVerilog source text."""
    with_strings, code = strip_comments(text)
    found = []

    def add(pos: int, rule: str, src: str):
        line = src.count("\n", 0, pos) + 1
        found.append((line, rule, text.splitlines()[line - 1].strip()))

    for rule, rx in RULES:
        src = with_strings if rule.startswith("DPI") else code
        for m in rx.finditer(src):
            add(m.start(), rule, src)
    for pos in _delays(code):
        add(pos, "delay", code)
    return sorted(found)


# --------------------------------------------------------------------------- the checker itself


@pytest.mark.parametrize("snippet", [
    "always_ff @(posedge clk) q <= #1 d;",
    "assign #5 a = b;",
    "always @(posedge clk) begin #DLY q = d; end",
    "always_ff @(posedge clk) q <= #(T) d;",
    "assign #(1) a = b;",
    "initial begin a = 0; end",
    "real x;",
    "shortreal y;",
    "always_comb $display(\"x=%d\", x);",
    "always_ff @(posedge c) $fwrite(fd, \"x\");",
    "always_ff @(posedge c) if (x) $finish;",
    "import \"DPI-C\" function int f(int a);",
    "export \"DPI-C\" function g;",
])
def test_checker_catches(snippet):
    assert violations(f"module m;\n{snippet}\nendmodule\n"), snippet


@pytest.mark.parametrize("snippet", [
    "// initial begin $display(\"x\"); #5 end real",
    "/* initial\n  #10 $display shortreal */",
    "foo #(.W(8)) u_foo (.a(a));",
    "logic [7:0] initial_value; // an identifier containing initial",
    "assert property (@(posedge clk) a |-> ##1 b);",
    "cover property (@(posedge clk) a #-# b);",
    "if (W < 1) begin : gen_err $error(\"W must be positive\"); end",
    "localparam string S = \"initial #5 $display\";",
])
def test_checker_accepts(snippet):
    assert not violations(f"module m #(parameter int W = 1) (input logic a);\n{snippet}\nendmodule\n"), snippet


def test_checker_accepts_module_header_with_import():
    text = "module m import p::*; #(parameter int W = 1) (input logic a);\nendmodule\n"
    assert not violations(text)


# --------------------------------------------------------------------------- the RTL


def test_rtl_files_found():
    names = {p.stem for p in RTL_FILES}
    assert set(FP_UNITS) <= names, f"missing FP units in {RTL}: {set(FP_UNITS) - names}"


@pytest.mark.parametrize("path", RTL_FILES, ids=lambda p: p.name)
def test_rtl_synthesisable_style(path):
    found = violations(path.read_text())
    assert not found, f"{path.relative_to(REPO)}: constructs not allowed in synthesisable RTL:\n" + "\n".join(
        f"  line {ln}: {rule}: {src}" for ln, rule, src in found)


def _verilator() -> str:
    exe = pathlib.Path(sys.executable).parent / "verilator"
    assert exe.exists(), f"the venv's verilator ({exe}) is missing: run `make venv`"
    return str(exe)


@pytest.mark.parametrize(
    "module,num_regs",
    [(m, n) for m, regs in FP_UNITS.items() for n in regs],
    ids=lambda v: str(v) if v is not None else "default",
)
def test_fp_unit_lint_clean(module, num_regs):
    cmd = [_verilator(), "--lint-only", "-Wall", "--quiet", "--top-module", module]
    if num_regs is not None:
        cmd.append(f"-GNUM_REGS={num_regs}")
    cmd.append(str(RTL / f"{module}.sv"))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and not out, f"{' '.join(cmd)}\nexit {proc.returncode}\n{out}"
