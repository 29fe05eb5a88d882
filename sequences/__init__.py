"""redmule_verif.sequences: job items, the sequence library and regression suites."""

from .job import (  # noqa: E402,F401
    ControlEvent,
    EngineConfig,
    GemmJob,
    GrantProfile,
    MemoryConfig,
    check_job,
    check_job_list,
    dump_jobs,
    format_job,
    jobs_from_yaml,
    jobs_to_yaml,
    load_jobs,
)
