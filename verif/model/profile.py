"""Profiles: an RTL's legitimate programming conventions, as data.

The spec (``shared/spec/redmule.md``) is the default: job registers in any
order, back-to-back and queued jobs without SOFT_CLEAR. A real RTL's
documented usage may be narrower (the published RedMulE's software issues
SOFT_CLEAR before every job and writes the operation register last). A
profile states such conventions, each with the upstream file that documents
it, and the environment follows it when it drives the DUT.

A profile only changes what is legal stimulus or memory layout: it never
switches a check off (that is what ``--waive CHECK:REASON`` is for, and it is
reported). Conventions (every one optional; absent = the spec's behaviour):

``soft_clear_before_job`` (bool)
    software writes SOFT_CLEAR before acquiring each job; a job is therefore
    never queued behind or raced against another (those launches run serially).
``soft_clear_value`` (int, default 0)
    the value written (0 also clears the job registers, FINISHED and the job-id
    counter, spec section 3).
``register_order`` (list of job-register names)
    the order software writes the job registers in (names of
    :data:`REGISTER_NAMES`); default: any order (the environment shuffles).
``queued_jobs`` (bool, default true)
    whether a job may be triggered while another runs.
``partial_byte_enables`` (bool, default true)
    whether software writes registers with some byte enables off (false: whole words only).
``trigger_only_to_start_a_job`` (bool, default false)
    software writes TRIGGER only as 0, and only to start a job it has reserved and programmed (no
    non-zero TRIGGER, no TRIGGER with no context reserved).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import yaml

PROFILES_DIR = pathlib.Path(__file__).resolve().parent / "profiles"
REGISTER_NAMES = ("X_PTR", "W_PTR", "Z_PTR", "MK", "N_REG", "CFG")
_KEYS = {"soft_clear_before_job": bool, "soft_clear_value": int, "register_order": list, "queued_jobs": bool,
         "partial_byte_enables": bool, "trigger_only_to_start_a_job": bool}


class ProfileError(ValueError):
    """A profile file is wrong: the message names the file, the entry and what to do."""


@dataclasses.dataclass(frozen=True)
class Convention:
    name: str
    value: object
    cite: str  # upstream file (and line) that documents it
    why: str = ""


@dataclasses.dataclass(frozen=True)
class Profile:
    """A named set of conventions; :data:`SPEC` (no conventions) is the default."""

    name: str = "spec"
    description: str = "the spec's defaults (shared/spec/redmule.md): no conventions"
    conventions: tuple = ()
    source: str = ""

    def get(self, key: str, default=None):
        for c in self.conventions:
            if c.name == key:
                return c.value
        return default

    @property
    def soft_clear_before_job(self) -> bool:
        return bool(self.get("soft_clear_before_job", False))

    @property
    def soft_clear_value(self) -> int:
        return int(self.get("soft_clear_value", 0))

    @property
    def register_order(self) -> tuple | None:
        order = self.get("register_order")
        return tuple(order) if order else None

    @property
    def partial_byte_enables(self) -> bool:
        return bool(self.get("partial_byte_enables", True))

    @property
    def stray_triggers(self) -> bool:
        """Whether TRIGGER may be written other than as 0 to start a reserved, programmed job."""
        return not self.get("trigger_only_to_start_a_job", False)

    @property
    def queued_jobs(self) -> bool:
        return bool(self.get("queued_jobs", True)) and not self.soft_clear_before_job

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "description": self.description, "source": self.source,
                           "conventions": [dataclasses.asdict(c) for c in self.conventions]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        d = json.loads(text)
        return cls(d["name"], d.get("description", ""), tuple(Convention(**c) for c in d.get("conventions", [])),
                   d.get("source", ""))

    def summary(self) -> str:
        if not self.conventions:
            return f"profile {self.name}: the spec's defaults"
        return f"profile {self.name}: " + ", ".join(f"{c.name}={c.value}" for c in self.conventions)


SPEC = Profile()


def available_profiles() -> dict[str, pathlib.Path]:
    return {p.stem: p for p in sorted(PROFILES_DIR.glob("*.yaml"))}


def load_profile(name_or_path: str | None) -> Profile:
    """A profile by name (``verif/model/profiles/NAME.yaml``) or from a YAML file; None = the spec."""
    if not name_or_path or name_or_path == "spec":
        return SPEC
    p = pathlib.Path(name_or_path)
    if not p.is_file():
        known = available_profiles()
        if name_or_path not in known:
            raise ProfileError(f"profile {name_or_path!r}: no such file, and not one of the project's profiles "
                               f"({', '.join(['spec', *known])})")
        p = known[name_or_path]
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"profile {p}: cannot read it ({exc})") from None
    return parse_profile(data, str(p))


def parse_profile(data, where: str = "<profile>") -> Profile:
    if not isinstance(data, dict) or not isinstance(data.get("conventions", []), dict):
        raise ProfileError(f"profile {where}: expected a mapping with 'name', 'description' and 'conventions' "
                           "(a mapping of convention -> {value, cite})")
    convs = []
    for key, entry in (data.get("conventions") or {}).items():
        at = f"profile {where}, convention {key!r}"
        if key not in _KEYS:
            raise ProfileError(f"{at}: unknown convention; known: {', '.join(_KEYS)}")
        if not isinstance(entry, dict) or "value" not in entry or not str(entry.get("cite", "")).strip():
            raise ProfileError(f"{at}: needs 'value' and 'cite' (the upstream file that documents it)")
        value = entry["value"]
        if not isinstance(value, _KEYS[key]) or (_KEYS[key] is int and isinstance(value, bool)):
            raise ProfileError(f"{at}: value {value!r} must be a {_KEYS[key].__name__}")
        if key == "register_order":
            bad = [r for r in value if r not in REGISTER_NAMES]
            if bad or sorted(value) != sorted(REGISTER_NAMES):
                raise ProfileError(f"{at}: must name each of {', '.join(REGISTER_NAMES)} once (got {value})")
        convs.append(Convention(key, value, str(entry["cite"]).strip(), str(entry.get("why", "")).strip()))
    return Profile(str(data.get("name") or pathlib.Path(where).stem), str(data.get("description", "")).strip(),
                   tuple(convs), where)
