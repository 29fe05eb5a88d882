"""redmule_verif.sim.filelist: EDA file lists (.f) into a FileList, and every error message."""

import pathlib
import shutil

import pytest

from redmule_verif.sim.filelist import FileList, FileListError, merge, parse, parse_text

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
FL = FIX / "filelists"
ERR = FL / "errors"
BENDER = FIX / "bender"


@pytest.fixture
def env():
    return {"FIXTURE_FL_DIR": str(FL)}


def test_common_syntax(env):
    fl = parse(FL / "top.f", env=env)
    assert fl.sources == [FL / "rtl/a_pkg.sv", FL / "rtl/b.sv", FL / "sub/c.sv", FL / "sub/own_a.sv",
                          FL / "rtl/from_caller.sv"]
    assert list(fl.defines.items()) == [("ALPHA", None), ("BETA", "2"), ("GAMMA", "three"), ("DELTA", None)]
    assert fl.incdirs == [FL / "include", FL / "sub", FL / "lib"]
    assert fl.lib_files == [FL / "lib/c.v"]
    assert fl.lib_dirs == [FL / "libdir"]
    assert fl.libexts == [".v", ".sv"]
    assert fl.vlt_files == [FL / "cfg.vlt"]
    assert fl.verilator_args == ["-Wno-BLKANDNBLK", "--x-assign", "unique"]
    assert fl.origins == [FL / "top.f", FL / "sub/own.f", FL / "sub/caller.f"]
    assert all(p.is_absolute() for p in fl.sources + fl.incdirs + fl.vlt_files)


def test_dash_F_is_relative_to_the_nested_list_and_dash_f_to_the_caller(env):
    fl = parse(FL / "top.f", env=env)
    assert FL / "sub/own_a.sv" in fl.sources       # -F sub/own.f lists own_a.sv (sub/own_a.sv)
    assert FL / "rtl/from_caller.sv" in fl.sources  # -f sub/caller.f lists rtl/from_caller.sv (caller's base)


def test_relative_to_cwd_mode(tmp_path, env):
    lst = tmp_path / "lists" / "cwd.f"
    lst.parent.mkdir()
    lst.write_text("rtl/a_pkg.sv\n")
    fl = parse(lst, relative_to="cwd", base=FL, env=env)
    assert fl.sources == [FL / "rtl/a_pkg.sv"]
    with pytest.raises(ValueError):
        parse(lst, relative_to="elsewhere")


def test_env_var_forms_and_later_define_wins(tmp_path):
    (tmp_path / "x.sv").write_text("module x; endmodule\n")
    text = "+define+A=1\n$D/x.sv ${D}/x.sv $(D)/x.sv\n+define+A=2\n"
    fl = parse_text(text, tmp_path, env={"D": str(tmp_path)})
    assert fl.sources == [tmp_path / "x.sv"]  # duplicates dropped
    assert fl.defines == {"A": "2"}


def test_text_round_trip(env):
    fl = parse(FL / "top.f", env=env)
    again = parse_text(fl.text(), "/")
    for attr in ("sources", "incdirs", "defines", "vlt_files", "lib_files", "lib_dirs", "libexts", "verilator_args"):
        assert getattr(again, attr) == getattr(fl, attr), attr


def test_args_for_verilator(env):
    args = parse(FL / "top.f", env=env).args()
    assert args[:3] == ["-Wno-BLKANDNBLK", "--x-assign", "unique"]
    assert "+define+BETA=2" in args and "+define+ALPHA" in args
    assert f"+incdir+{FL / 'include'}" in args
    assert ["-v", str(FL / "lib/c.v")] == args[args.index("-v"):args.index("-v") + 2]
    assert "+libext+.v+.sv" in args
    assert args.index(str(FL / "cfg.vlt")) < args.index(str(FL / "rtl/a_pkg.sv"))
    assert args[-1] == str(FL / "rtl/from_caller.sv")


def test_missing_incdir_is_a_note_not_an_error(tmp_path):
    fl = parse_text("+incdir+nowhere\n", tmp_path, name="l.f")
    assert fl.incdirs == [tmp_path / "nowhere"]
    assert "l.f:1" in fl.notes[0] and "does not exist" in fl.notes[0]


def test_merge_keeps_order_and_drops_duplicates(env):
    a = parse(FL / "top.f", env=env)
    b = FileList(sources=[FL / "rtl/b.sv", FL / "sub/c.sv"], defines={"ALPHA": "9"})
    m = merge([a, b])
    assert m.sources == a.sources
    assert m.defines["ALPHA"] == "9"


# ----------------------------------------------------------------- lists in bender's own formats


def _toy_in_bender_layout(tmp_path) -> pathlib.Path:
    root = tmp_path / "toy_top"
    shutil.copytree(BENDER / "toy_top", root)
    co = root / ".bender" / "git" / "checkouts"
    shutil.copytree(BENDER / "deps" / "toy_dep", co / "toy_dep-bedbfbf26e57fe80")
    shutil.copytree(BENDER / "deps" / "toy_leaf", co / "toy_leaf-917dd15bf0b3c2dc")
    return root


def _realize(src: pathlib.Path, root: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    dest.write_text(src.read_text().replace("@ROOT@", str(root)))
    return dest


def test_bender_script_verilator_format(tmp_path):
    root = _toy_in_bender_layout(tmp_path)
    fl = parse(_realize(FL / "bender_out" / "verilator.f.in", root, tmp_path / "verilator.f"))
    co = root / ".bender/git/checkouts"
    assert fl.sources == [co / "toy_leaf-917dd15bf0b3c2dc/src/leaf.sv",
                          co / "toy_dep-bedbfbf26e57fe80/src/dep_pkg.sv",
                          co / "toy_dep-bedbfbf26e57fe80/src/dep.sv",
                          co / "toy_dep-bedbfbf26e57fe80/src/dep_unused.sv",
                          root / "rtl/toy_pkg.sv", root / "rtl/toy_top.sv"]
    assert fl.incdirs == [co / "toy_dep-bedbfbf26e57fe80/include", root / "rtl/include"]
    assert fl.defines == {"TARGET_RTL": None, "TARGET_SYNTHESIS": None, "TARGET_VERILATOR": None,
                          "COREV_ASSERT_OFF": None, "TOY_WIDTH": "8"}
    assert not fl.notes


def test_bender_script_flist_formats(tmp_path):
    root = _toy_in_bender_layout(tmp_path)
    plus = parse(_realize(FL / "bender_out" / "flist_plus.f.in", root, tmp_path / "plus.f"))
    assert plus.defines == {"TARGET_FLIST": None, "TARGET_RTL": None, "TOY_WIDTH": "8"}
    assert plus.sources[-1] == root / "rtl/toy_doc.vhd"  # flist lists every file, VHDL too
    shutil.copy(FL / "bender_out" / "flist_relative.f", root / "sources.f")  # --relative-path: from the root
    rel = parse(root / "sources.f")
    assert rel.sources == plus.sources and not rel.defines and not rel.incdirs


# ----------------------------------------------------------------- errors: list, line, what, what to do


def _error(path, **kw) -> str:
    with pytest.raises(FileListError) as exc:
        parse(path, **kw)
    return str(exc.value)


def test_error_missing_file():
    msg = _error(ERR / "missing_file.f")
    assert f"{ERR / 'missing_file.f'}:3:" in msg
    assert "not_there.sv not found" in msg and "check the path" in msg


def test_error_unknown_option():
    msg = _error(ERR / "unknown_option.f")
    assert f"{ERR / 'unknown_option.f'}:3:" in msg and "unknown option '-frobnicate'" in msg
    assert "remove it" in msg


def test_error_unknown_plus_option():
    msg = _error(ERR / "unknown_plus.f")
    assert f"{ERR / 'unknown_plus.f'}:2:" in msg and "+weird+x" in msg and "+define+" in msg


def test_error_unset_env_var():
    msg = _error(ERR / "unset_env.f", env={})
    assert f"{ERR / 'unset_env.f'}:2:" in msg
    assert "FIXTURE_SURELY_UNSET_VAR is not set" in msg and "export FIXTURE_SURELY_UNSET_VAR=" in msg


def test_error_recursion_loop():
    msg = _error(ERR / "loop_a.f")
    assert "recursion loop" in msg and "loop_a.f" in msg and "loop_b.f" in msg
    assert f"{ERR / 'loop_b.f'}:2:" in msg  # the line that closes the loop
    assert "remove the -f/-F line" in msg


def test_error_unterminated_quote():
    msg = _error(ERR / "bad_quote.f")
    assert f"{ERR / 'bad_quote.f'}:1:" in msg and "unterminated quote" in msg


def test_error_bad_define():
    msg = _error(ERR / "bad_define.f")
    assert f"{ERR / 'bad_define.f'}:1:" in msg and "'1BAD'" in msg and "NAME=VALUE" in msg


def test_error_option_without_argument():
    msg = _error(ERR / "missing_arg.f")
    assert f"{ERR / 'missing_arg.f'}:1:" in msg and "-f needs an argument" in msg


def test_error_missing_nested_list():
    msg = _error(ERR / "missing_nested.f")
    assert f"{ERR / 'missing_nested.f'}:1:" in msg and "no_such_list.f not found" in msg


def test_error_missing_list_itself(tmp_path):
    msg = _error(tmp_path / "absent.f")
    assert "absent.f: file list not found" in msg


def test_error_cxx_and_directory_entries(tmp_path):
    (tmp_path / "tb.cpp").write_text("int main() {}\n")
    (tmp_path / "d").mkdir()
    with pytest.raises(FileListError, match=r"l\.f:1: tb\.cpp: C/C\+\+ files"):
        parse_text("tb.cpp\n", tmp_path, name="l.f")
    with pytest.raises(FileListError, match=r"l\.f:2: d is a directory.*-y DIR"):
        parse_text("\nd\n", tmp_path, name="l.f")
