"""redmule_verif.sim.bender: a Bender package's ordered sources without the bender tool."""

import pathlib
import shutil

import pytest

from redmule_verif.sim import bender
from redmule_verif.sim.bender import BenderError, TargetSpec, checkout_name, published_flow, resolve, resolve_packages
from redmule_verif.sim.filelist import parse

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
TOY = FIX / "bender" / "toy_top"
DEPS = FIX / "bender" / "deps"
DEP_URL = "https://example.org/toy/toy_dep.git"
LEAF_URL = "https://example.org/toy/toy_leaf.git"


def _copy_root(tmp_path) -> pathlib.Path:
    root = tmp_path / "toy_top"
    shutil.copytree(TOY, root)
    return root


@pytest.fixture
def bender_layout(tmp_path):
    """toy_top with its dependencies where `bender checkout` puts them."""
    root = _copy_root(tmp_path)
    co = root / ".bender" / "git" / "checkouts"
    shutil.copytree(DEPS / "toy_dep", co / "toy_dep-bedbfbf26e57fe80")
    shutil.copytree(DEPS / "toy_leaf", co / "toy_leaf-917dd15bf0b3c2dc")
    return root


@pytest.fixture
def plain_layout(tmp_path):
    """toy_top with a plain folder of checkouts named by package."""
    root = _copy_root(tmp_path)
    deps = tmp_path / "deps"
    shutil.copytree(DEPS, deps)
    return root, deps


# ----------------------------------------------------------------- bender's checkout names


def test_checkout_name_matches_bender():
    # folders that bender (>= 0.27.2) made in public projects: hash of URL + '"root package name"'
    assert checkout_name("common_cells", "https://github.com/pulp-platform/common_cells.git", "axi") == \
        "common_cells-3e2fcccecd7aee7b"
    assert checkout_name("common_cells", "https://github.com/pulp-platform/common_cells.git", "cheshire") == \
        "common_cells-7f7ae0f5e6bf7fb5"
    assert checkout_name("toy_dep", DEP_URL, "toy_top") == "toy_dep-bedbfbf26e57fe80"
    assert checkout_name("toy_leaf", LEAF_URL, "toy_top") == "toy_leaf-917dd15bf0b3c2dc"


# ----------------------------------------------------------------- order, targets, defines, include dirs


def _expected(root: pathlib.Path, co: dict) -> list:
    return [co["toy_leaf"] / "src/leaf.sv", co["toy_dep"] / "src/dep_pkg.sv", co["toy_dep"] / "src/dep.sv",
            co["toy_dep"] / "src/dep_unused.sv", root / "rtl/toy_pkg.sv", root / "rtl/toy_top.sv"]


def test_bender_layout_same_as_bender_script_verilator(bender_layout, tmp_path):
    root = bender_layout
    fl = resolve(root, targets=["rtl"], defines={"COREV_ASSERT_OFF": None}, flow=False)
    co = {n: root / ".bender/git/checkouts" / checkout_name(n, u, "toy_top")
          for n, u in (("toy_dep", DEP_URL), ("toy_leaf", LEAF_URL))}
    assert fl.sources == _expected(root, co)
    assert fl.incdirs == [co["toy_dep"] / "include", root / "rtl/include"]
    # what `bender script verilator -t rtl -D COREV_ASSERT_OFF` writes for the same package
    text = (FIX / "filelists/bender_out/verilator.f.in").read_text().replace("@ROOT@", str(root))
    (tmp_path / "from_bender.f").write_text(text)
    ref = parse(tmp_path / "from_bender.f")
    assert ref.sources == fl.sources and ref.incdirs == fl.incdirs and ref.defines == fl.defines


def test_plain_layout(plain_layout):
    root, deps = plain_layout
    fl = resolve(root, targets=["rtl"], deps_dirs=[deps], flow=False)
    assert fl.sources == _expected(root, {"toy_dep": deps / "toy_dep", "toy_leaf": deps / "toy_leaf"})
    assert "TARGET_RTL" in fl.defines and "TOY_WIDTH" in fl.defines


def test_topological_order_and_ranks(bender_layout):
    _, _, pkgs = resolve_packages(bender_layout)
    assert [p.name for p in pkgs] == ["toy_leaf", "toy_dep", "toy_top"]
    assert pkgs[0].revision == "2222222222222222222222222222222222222222"


def test_targets_select_groups(bender_layout):
    root = bender_layout
    names = lambda fl: [p.name for p in fl.sources]  # noqa: E731
    base = resolve(root, targets=["rtl"], flow=False)
    assert "toy_sim_only.sv" not in names(base)          # all(rtl, not(synthesis)): verilator adds synthesis
    assert "tb_toy.sv" not in names(base) and "toy_doc.vhd" not in names(base)
    assert any("VHDL" in n for n in base.notes)
    sim = resolve(root, targets=["rtl"], tool="vsim", flow=False)
    assert "toy_sim_only.sv" in names(sim) and "dep_sim_model.sv" in names(sim)  # simulation target
    assert "TARGET_VSIM" in sim.defines and "TARGET_SIMULATION" in sim.defines
    extra = resolve(root, targets=["rtl", "toy_extra"], flow=False)
    assert names(extra)[-2:] == ["toy_extra_a.sv", "toy_extra_b.sv"]  # any(...) and a glob, sorted
    scoped = resolve(root, targets=["rtl", "toy_dep:simulation"], flow=False)  # a target for one package
    assert "dep_sim_model.sv" in names(scoped) and "toy_sim_only.sv" not in names(scoped)
    nothing = resolve(root, targets=[], flow=False)
    assert "toy_top.sv" not in names(nothing)  # the rtl group needs the rtl target


@pytest.mark.parametrize("expr,targets,result", [
    ("*", set(), True), ("rtl", {"rtl"}, True), ("RTL", {"rtl"}, True), ("all(rtl, sim)", {"rtl"}, False),
    ("any(fpga, asic)", {"asic"}, True), ("not(synthesis)", {"synthesis"}, False),
    ("all(any(all(not(asic), not(fpga)), tc_x), not(tc_y))", set(), True),
    ("all(any(all(not(asic), not(fpga)), tc_x), not(tc_y))", {"fpga", "tc_x", "tc_y"}, False),
])
def test_target_expressions(expr, targets, result):
    assert TargetSpec.parse(expr).matches(targets) is result


def test_published_flow(bender_layout):
    fw = published_flow(bender_layout)
    assert fw.targets == ["rtl", "toy_sim"]                     # ifneq ($(target),verilator) skipped
    assert fw.defines == {"COREV_ASSERT_OFF": None, "TOY_SIM": "1", "ONLY_VERILATOR": None}
    assert fw.verilator_args == ["-Wno-fatal", "-Wno-lint", "-Wno-BLKANDNBLK"]
    assert "--timing" in fw.other_options
    vsim = published_flow(bender_layout, tool="vsim")
    assert "not_for_verilator" in vsim.targets and vsim.verilator_args == []
    fl = resolve(bender_layout)  # the flow applies by default
    assert "TARGET_TOY_SIM" in fl.defines and fl.defines["TOY_SIM"] == "1"
    assert "-Wno-BLKANDNBLK" in fl.verilator_args
    assert any("published flow" in n for n in fl.notes)


def test_prune_to_top(bender_layout):
    fl = resolve(bender_layout, top="toy_top", flow=False, targets=["rtl"])
    assert "dep_unused.sv" not in [p.name for p in fl.sources]
    assert [p.name for p in fl.sources] == ["leaf.sv", "dep_pkg.sv", "dep.sv", "toy_pkg.sv", "toy_top.sv"]
    assert any("1 not needed" in n for n in fl.notes)


def test_prune_seeded_by_a_file(bender_layout, tmp_path):
    adapter = tmp_path / "adapter.sv"
    adapter.write_text("module adapter; dep_unused i_u (.a(1'b0), .b()); endmodule\n")
    fl = resolve(bender_layout, top=[adapter], flow=False, targets=["rtl"])
    assert [p.name for p in fl.sources] == ["dep_unused.sv"]


def test_local_path_override(bender_layout, tmp_path):
    other = tmp_path / "elsewhere" / "leaf"
    shutil.copytree(DEPS / "toy_leaf", other)
    (bender_layout / "Bender.local").write_text(f"overrides:\n  toy_leaf: {{ path: {other} }}\n")
    fl = resolve(bender_layout, targets=["rtl"], flow=False)
    assert fl.sources[0] == other / "src/leaf.sv"


def test_revision_mismatch_of_a_git_checkout_is_noted(plain_layout):
    root, deps = plain_layout
    git = deps / "toy_leaf" / ".git"
    git.mkdir()
    (git / "HEAD").write_text("3333333333333333333333333333333333333333\n")
    fl = resolve(root, targets=["rtl"], deps_dirs=[deps], flow=False)
    assert any("toy_leaf" in n and "Bender.lock pins 222222222222" in n for n in fl.notes)


# ----------------------------------------------------------------- errors


def test_error_missing_dependency(tmp_path):
    root = _copy_root(tmp_path)
    shutil.copytree(DEPS / "toy_dep", root / ".bender/git/checkouts/toy_dep-bedbfbf26e57fe80")
    with pytest.raises(BenderError) as exc:
        resolve(root, targets=["rtl"], flow=False)
    msg = str(exc.value)
    assert "1 dependency is not checked out" in msg
    assert "toy_leaf at revision 2222222222222222222222222222222222222222" in msg
    assert "toy_leaf-917dd15bf0b3c2dc" in msg  # where it was looked for
    assert "bender checkout" in msg
    assert f"git clone {LEAF_URL} DEPS/toy_leaf && git -C DEPS/toy_leaf checkout 2222" in msg


def test_missing_dependency_that_the_top_does_not_need(tmp_path):
    root = _copy_root(tmp_path)
    shutil.copytree(DEPS / "toy_dep", root / ".bender/git/checkouts/toy_dep-bedbfbf26e57fe80")
    fl = resolve(root, targets=["rtl"], flow=False, top="toy_pkg")
    assert [p.name for p in fl.sources] == ["toy_pkg.sv"]
    assert any("not needed for toy_pkg" in n and "toy_leaf" in n for n in fl.notes)
    with pytest.raises(BenderError, match=r"(?s)the design needs what is not defined anywhere else \(leaf\)"
                                          r".*toy_leaf at revision 2222"):
        resolve(root, targets=["rtl"], flow=False, top="toy_top")  # toy_top needs leaf


def test_error_no_manifest(tmp_path):
    with pytest.raises(BenderError, match="no Bender.yml here"):
        resolve(tmp_path)


def test_error_dependency_not_in_lock(bender_layout):
    (bender_layout / "Bender.lock").write_text("packages: {}\n")
    with pytest.raises(BenderError, match=r"dependency toy_dep is not in .*Bender.lock: run `bender update`"):
        resolve(bender_layout)


def test_error_no_lock(bender_layout):
    (bender_layout / "Bender.lock").unlink()
    with pytest.raises(BenderError, match=r"no Bender.lock .* run `bender update`"):
        resolve(bender_layout)


def test_error_cycle(bender_layout):
    lock = (bender_layout / "Bender.lock").read_text().replace("dependencies: []", "dependencies:\n    - toy_dep")
    (bender_layout / "Bender.lock").write_text(lock)
    with pytest.raises(BenderError, match="cycle"):
        resolve(bender_layout)


def test_error_bad_target_expression(bender_layout):
    yml = (bender_layout / "Bender.yml").read_text().replace("target: test", "target: all(test,")
    (bender_layout / "Bender.yml").write_text(yml)
    with pytest.raises(BenderError, match=r"Bender.yml \(package toy_top\): bad target expression 'all\(test,'"):
        resolve(bender_layout)


def test_error_listed_file_missing(bender_layout):
    (bender_layout / "rtl/toy_top.sv").unlink()
    with pytest.raises(BenderError, match=r"package toy_top lists .*toy_top.sv, which does not exist"):
        resolve(bender_layout, targets=["rtl"], flow=False)


def test_error_bad_yaml(bender_layout):
    (bender_layout / "Bender.yml").write_text("package: [unclosed\n")
    with pytest.raises(BenderError, match=r"Bender.yml:\d+: the package manifest \(Bender.yml\) is not valid YAML"):
        resolve(bender_layout)


def test_error_unknown_top(bender_layout):
    with pytest.raises(BenderError, match="defines no_such_module"):
        resolve(bender_layout, top="no_such_module", flow=False, targets=["rtl"])


def test_module_has_no_imports_from_the_rest_of_the_package():
    src = pathlib.Path(bender.__file__).with_name("filelist.py").read_text()
    assert "redmule_verif" not in src.replace("redmule_verif.sim.filelist", "")
