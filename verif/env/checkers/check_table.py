"""The environment's check table (``CHECKS.yaml``) as data: load it, list the checks the code reports, render it.

Each row: the check id, where it lives, the rule it enforces, the spec
section, and its negative control (a fixture bug mode or an environment
fault, with the knobs that expose it). ``tests/env/test_check_table.py``
keeps the table and the code equal; ``tests/env/test_env_checkers.py`` runs
every control. ``python -m redmule_verif.env.checkers.check_table`` prints the
table in Markdown (for the README).
"""

from __future__ import annotations

import ast
import pathlib
import re

import yaml

HERE = pathlib.Path(__file__).resolve().parent
TABLE = HERE / "CHECKS.yaml"
ENV_DIR = HERE.parent
HARNESS = ENV_DIR / "harness" / "redmule_harness.sv"
#: calls that report a check: their first argument is the check id
REPORTERS = {"check_error", "_fail", "_violate", "_error"}
_RULE_LINE = re.compile(r'"X %0d ([A-Z0-9][A-Z0-9-]*) ')


def load_checks(path=TABLE) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def harness_rules(path=HARNESS) -> set[str]:
    """Rule names the harness writes as "X <cycle> <RULE> ..." trace lines."""
    return set(_RULE_LINE.findall(pathlib.Path(path).read_text()))


def code_checks(root=ENV_DIR) -> tuple[set[str], list[str]]:
    """(check ids reported by the Python code, places that report a computed id outside a module with CHECKS).

    A literal first argument of a reporting call is an id; a module that reports
    computed ids declares them all in a module-level tuple ``CHECKS``.
    """
    ids, dynamic = set(), []
    for path in sorted(pathlib.Path(root).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        declared = None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CHECKS" for t in node.targets):
                declared = {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
                ids |= declared
        forwarding = set()  # reporting calls inside a reporter that pass its own id argument on
        for fdef in ast.walk(tree):
            if isinstance(fdef, ast.FunctionDef) and fdef.name in REPORTERS:
                forwarding |= {id(n) for n in ast.walk(fdef) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args or id(node) in forwarding:
                continue
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if fn not in REPORTERS:
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                ids.add(arg.value)
            elif declared is None:
                dynamic.append(f"{path.relative_to(root)}:{node.lineno}")
    return ids, dynamic


def markdown(rows=None) -> str:
    rows = rows if rows is not None else load_checks()
    out = ["| check | rule | where | spec | negative control "
           "(tests/env/test_env_checkers.py::test_negative_control[id]) |",
           "|---|---|---|---|---|"]
    for cid, row in rows.items():
        ctl = row["control"]
        how = [f"fixture bug `{ctl.get('bug', 'none')}`"] if ctl.get("bug", "none") != "none" else []
        if ctl.get("knobs"):
            how.append("knobs " + ", ".join(f"{k}={v}" for k, v in ctl["knobs"].items()))
        if ctl.get("env"):
            how.append(", ".join(f"{k}={v}" for k, v in ctl["env"].items()))
        if ctl.get("trace") is False:
            how.append("no +tcdm_log")
        if ctl.get("also"):
            how.append("also fires " + ", ".join(ctl["also"]))
        out.append(f"| `{cid}` | {row['rule']} | {row['where']} | {row['spec']} | {'; '.join(how)} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
