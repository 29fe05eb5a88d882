"""redmule_verif.sequences: job items, the sequence library and regression suites."""

from .items import (  # noqa: F401
    ControlEvent,
    EngineConfig,
    GemmJob,
    GrantProfile,
    JobList,
    MemoryConfig,
    check_job,
    check_job_list,
    dump_jobs,
    format_job,
    jobs_from_yaml,
    jobs_to_yaml,
    load_jobs,
)
from .library import SEQUENCES, SeqContext, generate, sequence, sequence_cost  # noqa: F401
from .randomize import Allocator, random_grant, random_job  # noqa: F401

__all__ = [
    "Allocator", "ControlEvent", "EngineConfig", "GemmJob", "GrantProfile", "JobList", "MemoryConfig", "SEQUENCES",
    "SeqContext", "check_job", "check_job_list", "dump_jobs", "format_job", "generate", "jobs_from_yaml",
    "jobs_to_yaml", "load_jobs", "random_grant", "random_job", "sequence", "sequence_cost",
]
