"""Job items: what one GEMM-Op job is, how it is encoded, checked and written down.

``item``       GemmJob: the dataclass, its validation and derived values
``profiles``   GrantProfile, ControlEvent: the grant profile and control events a job carries
``configs``    EngineConfig, MemoryConfig: the build's engine and TCDM window
``registers``  the job's register values (spec section 3)
``footprint``  its buffers and footprint in memory (spec section 6)
``fpdata``     its data: FP classes, value distributions, exact encoding
``expected``   its expected result, via the reference model
``serialise``  one job as dict / JSON / YAML / one line of text
``joblist``    legality of a job list (groups live together, overlaps, memory, cores)
``jobfile``    job-list files (YAML / JSON)
"""

from .configs import EngineConfig, MemoryConfig
from .fpdata import CLASS_DRAWN, DISTRIBUTIONS, FP_CLASSES, class_counts, classify, encode_exact
from .item import GemmJob
from .jobfile import JobList, dump_jobs, jobs_from_yaml, jobs_to_yaml, load_jobs
from .joblist import check_job, check_job_list, groups
from .profiles import ControlEvent, GrantProfile
from .registers import job_registers
from .serialise import format_job

__all__ = [
    "CLASS_DRAWN", "DISTRIBUTIONS", "FP_CLASSES", "ControlEvent", "EngineConfig", "GemmJob", "GrantProfile", "JobList",
    "MemoryConfig", "check_job", "check_job_list", "class_counts", "classify", "dump_jobs", "encode_exact",
    "format_job", "groups", "job_registers", "jobs_from_yaml", "jobs_to_yaml", "load_jobs",
]
