"""A private single-node Slurm cluster for the tests: the `slurm_cluster` fixture.

The fixture (session-scoped) writes its own slurm.conf in a fresh temporary
directory, starts munged, slurmctld and slurmd as root, waits until the node is
idle, and hands the tests a `SlurmCluster` whose `env` (SLURM_CONF, PATH) the
Slurm client commands need; the same variables are exported in os.environ for
the session and restored at teardown, when every daemon, job step and job
process of the cluster is stopped (nothing is left behind).

Loopback only. slurmctld and slurmd bind their ports on every address
(INADDR_ANY: Slurm 22.05 has no option to bind one address), so the daemons run
in a network namespace of their own that has only the loopback interface (plus
127.0.0.2 on it: glibc's AI_ADDRCONFIG ignores 127.0.0.1, and Slurm resolves
every address with it). The client commands reach them through small wrappers
(`bin/sbatch` ... in the cluster's folder, first on PATH) that run the real
command in that namespace with nsenter. munged serves a Unix socket in the
cluster's folder, which works across network namespaces. A supervisor process
(this file run as a script) creates the namespace, runs the three daemons in
the foreground as its children, and kills them and every process left in the
namespace (job steps and their tasks) when it is terminated or when the pytest
process that started it dies (PR_SET_PDEATHSIG).

xdist: each worker that runs a test using the fixture starts its own cluster
(its own folder, namespace and ports), so `pytest -n 2` needs no coordination
between workers; the fixture costs about 3 s per worker.

Configuration choices (Slurm 22.05 from Debian bookworm):
  * AuthType=auth/munge with a key made in the temporary folder and a munged of
    the fixture's own (AuthInfo=socket=...); no system-wide daemon or key used.
  * ProctrackType=proctrack/linuxproc, TaskPlugin=task/none: need no cgroup
    hierarchy or systemd, so they work in any container. Memory limits are
    enforced by JobAcctGatherParams=OverMemoryKill (jobacct_gather/linux,
    sampled every second); Slurm then reports such a job FAILED and writes
    "exceeded memory limit" to its stderr, which the engine maps to
    OUT_OF_MEMORY. With REDMULE_SLURM_CGROUP=1 the cluster uses
    proctrack/cgroup + task/cgroup instead (Slurm itself then reports
    OUT_OF_MEMORY; works where the cgroup v1 memory controller is mounted).
  * SelectType=select/cons_tres with CR_Core_Memory (CR_Core would ignore
    --mem, so no memory test would be possible), DefMemPerCPU=1024.
  * Two partitions on the one node: `main` (default) and `urgent`, which
    preempts main's jobs (PreemptType=preempt/partition_prio, PreemptMode=CANCEL)
    so that the engine's requeue of preempted tasks can be tested.
  * MinJobAge=600 (final states stay readable with scontrol for 10 min),
    OverTimeLimit=0 and KillWait=2 (a job over its time limit is gone within
    about 30 s of the limit: slurmctld checks limits every 30 s).

Environment:
  REDMULE_REQUIRE_SLURM=1   missing Slurm (or no root, or no namespace) fails
                            instead of skipping (for CI)
  REDMULE_SLURM_HOST_NET=1  no network namespace (the daemons then listen on
                            all addresses of the machine, on free ports)
  REDMULE_SLURM_CGROUP=1    proctrack/cgroup + task/cgroup
  REDMULE_SLURM_KEEP=1      keep the cluster's folder (config, logs) after the run
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo", "sacct", "srun", "salloc", "sprio", "sstat")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
MARKER = "REDMULE_SLURM_CLUSTER"


def which(name: str) -> str | None:
    return shutil.which(name, path=SEARCH_PATH)


def missing_binaries() -> list[str]:
    need = DAEMONS + ("sbatch", "squeue", "scontrol", "scancel", "sinfo")
    if os.environ.get("REDMULE_SLURM_HOST_NET") != "1":
        need += ("nsenter",)
    return [b for b in need if not which(b)]


def slurm_version() -> str:
    exe = which("slurmctld")
    if not exe:
        return ""
    out = subprocess.run([exe, "-V"], capture_output=True, text=True).stdout.strip()
    return out.split()[-1] if out else ""


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _mem_total_mib() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 4096


def _netns_inode(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _environ_has(pid: str, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return needle in f.read().split(b"\0")
    except OSError:
        return False


def cluster_processes(netns_inode: int | None, marker: str | None) -> list[int]:
    """Pids of the processes that belong to a cluster: those in its network
    namespace (when it has one) or with its marker in their environment."""
    me = os.getpid()
    needle = f"{MARKER}={marker}".encode() if marker else None
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        if netns_inode is not None and _netns_inode(d) == netns_inode:
            pids.append(int(d))
        elif needle is not None and _environ_has(d, needle):
            pids.append(int(d))
    return pids


def kill_cluster_processes(netns_inode: int | None, marker: str | None, exclude=()) -> int:
    """SIGKILL every process of the cluster (twice over, for late forks)."""
    killed = 0
    for _ in range(3):
        pids = [p for p in cluster_processes(netns_inode, marker) if p not in exclude]
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    return killed


# --------------------------------------------------------------------------
# The supervisor (run as `python slurm_cluster.py --supervise DIR`)
# --------------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFADDR = 0x8913, 0x8914, 0x8916
IFF_UP = 0x1


def _enter_private_netns() -> None:
    """A new network namespace with lo up, and 127.0.0.2 on it (lo:0)."""
    import fcntl

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))
        sin = struct.pack("HH4s8s", socket.AF_INET, 0, socket.inet_aton("127.0.0.2"), b"")
        fcntl.ioctl(s, SIOCSIFADDR, struct.pack("16s16s", b"lo:0", sin))
    finally:
        s.close()


def supervise(folder: str) -> int:
    d = pathlib.Path(folder)
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl
        return 1
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _stop)

    use_netns = os.environ.get("REDMULE_SLURM_HOST_NET") != "1"
    if use_netns:
        try:
            _enter_private_netns()
        except OSError as e:
            print(f"ERROR no network namespace for the daemons ({e}); REDMULE_SLURM_HOST_NET=1 runs them"
                  " in the machine's own (listening on all its addresses)", flush=True)
            return 2
    netns = _netns_inode(os.getpid()) if use_netns else None
    marker = os.environ.get(MARKER)
    env = dict(os.environ, SLURM_CONF=str(d / "slurm.conf"))
    log = d / "log"
    cmds = {
        "munged": [which("munged"), "-F", "--force", f"--socket={d / 'munge' / 'munge.socket'}",
                   f"--key-file={d / 'munge' / 'munge.key'}", f"--pid-file={d / 'run' / 'munged.pid'}",
                   f"--log-file={log / 'munged.log'}", f"--seed-file={d / 'munge' / 'munged.seed'}",
                   "--num-threads=2"],
        "slurmctld": [which("slurmctld"), "-D", "-f", str(d / "slurm.conf")],
        "slurmd": [which("slurmd"), "-D", "-N", os.environ.get("REDMULE_SLURM_NODE", "localhost"),
                   "-f", str(d / "slurm.conf")],
    }
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in DAEMONS:
            with open(log / f"{name}.out", "ab") as out:
                procs[name] = subprocess.Popen(cmds[name], env=env, stdin=subprocess.DEVNULL,
                                               stdout=out, stderr=subprocess.STDOUT)
            if name == "munged":
                sock = d / "munge" / "munge.socket"
                t0 = time.monotonic()
                while not sock.exists() and procs[name].poll() is None and time.monotonic() - t0 < 10:
                    time.sleep(0.05)
        print(f"STARTED {os.getpid()} netns={netns}", flush=True)
        reported = set()
        while not stopping:
            for name, p in procs.items():
                if p.poll() is not None and name not in reported:
                    reported.add(name)
                    print(f"supervisor: {name} exited rc={p.returncode}", file=sys.stderr, flush=True)
            time.sleep(0.2)
            if os.getppid() != parent:
                break
    finally:
        for name in ("slurmd", "slurmctld"):
            p = procs.get(name)
            if p and p.poll() is None:
                p.terminate()
        for name in ("slurmd", "slurmctld"):
            p = procs.get(name)
            if p:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        # job steps (slurmstepd) and the tasks they ran outlive slurmd
        kill_cluster_processes(netns, marker, exclude={procs["munged"].pid} if "munged" in procs else ())
        p = procs.get("munged")
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        kill_cluster_processes(netns, marker)
    return 0


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------


class SlurmClusterError(RuntimeError):
    pass


class SlurmCluster:
    """A single-node cluster in `folder` (made when None). start() / stop()."""

    def __init__(self, folder: str | os.PathLike | None = None, name: str = "rvtest", cpus: int = 2,
                 host_net: bool | None = None, cgroup: bool | None = None, keep: bool | None = None):
        self.name = name
        self.cpus = cpus
        self.host_net = os.environ.get("REDMULE_SLURM_HOST_NET") == "1" if host_net is None else host_net
        self.cgroup = os.environ.get("REDMULE_SLURM_CGROUP") == "1" if cgroup is None else cgroup
        # the node's cgroups are /sys/fs/cgroup/*/slurm_<node>/uid_*/job_<id>: clusters running side by
        # side (xdist) need node names of their own there, or their job ids collide
        self.node = name if self.cgroup else "localhost"
        self.keep = os.environ.get("REDMULE_SLURM_KEEP") == "1" if keep is None else keep
        self._own_folder = folder is None
        # short paths: the munge socket path must fit in sockaddr_un (108 bytes)
        self.folder = pathlib.Path(folder or tempfile.mkdtemp(prefix="rv-slurm-", dir="/tmp"))
        self.marker = uuid.uuid4().hex
        self.conf = self.folder / "slurm.conf"
        self.bin = self.folder / "bin"
        self.supervisor: subprocess.Popen | None = None
        self.netns_inode: int | None = None
        self.version = slurm_version()
        self.ctld_port = self.slurmd_port = 0
        self.real_memory = 0
        self.env: dict[str, str] = {}
        self.start_seconds = 0.0

    # ---- configuration ----
    def write_config(self) -> None:
        d = self.folder
        for sub in ("state", "spool", "log", "run", "munge", "bin", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        os.chmod(d / "munge", 0o700)
        key = d / "munge" / "munge.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(1024))
        self.ctld_port, self.slurmd_port = _free_ports(2)
        self.real_memory = max(1024, int(_mem_total_mib() * 0.8))
        defmem = min(1024, self.real_memory // self.cpus)
        if self.cgroup:
            plugins = "ProctrackType=proctrack/cgroup\nTaskPlugin=task/cgroup\nJobAcctGatherType=jobacct_gather/linux\n"
            (d / "cgroup.conf").write_text("CgroupPlugin=autodetect\nConstrainRAMSpace=yes\nConstrainCores=no\n")
        else:
            plugins = ("ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
                       "JobAcctGatherType=jobacct_gather/linux\nJobAcctGatherParams=OverMemoryKill\n")
        self.conf.write_text(f"""\
# written by tests/slurm_cluster.py: a private single-node test cluster
ClusterName={self.name}
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d / 'munge' / 'munge.socket'}
CredType=cred/munge
StateSaveLocation={d / 'state'}
SlurmdSpoolDir={d / 'spool'}
SlurmctldPidFile={d / 'run' / 'slurmctld.pid'}
SlurmdPidFile={d / 'run' / 'slurmd.pid'}
SlurmctldLogFile={d / 'log' / 'slurmctld.log'}
SlurmdLogFile={d / 'log' / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
TmpFS={d / 'tmp'}
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
{plugins}JobAcctGatherFrequency=task=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={defmem}
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MinJobAge=600
KillWait=2
OverTimeLimit=0
InactiveLimit=0
ReturnToService=2
SlurmdParameters=config_overrides
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={self.cpus} RealMemory={self.real_memory} State=UNKNOWN
PartitionName=main Nodes={self.node} Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes={self.node} MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
""")

    def _write_wrappers(self) -> None:
        for name in CLIENTS:
            real = which(name)
            if not real:
                continue
            w = self.bin / name
            if self.host_net:
                w.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
            else:
                w.write_text(f'#!/bin/sh\nexec nsenter --net=/proc/{self.supervisor.pid}/ns/net {real} "$@"\n')
            w.chmod(0o755)

    # ---- life cycle ----
    def start(self, timeout: float = 60.0) -> "SlurmCluster":
        t0 = time.monotonic()
        self.write_config()
        env = dict(os.environ, SLURM_CONF=str(self.conf), REDMULE_SLURM_NODE=self.node, **{MARKER: self.marker})
        if self.host_net:
            env["REDMULE_SLURM_HOST_NET"] = "1"
        self.supervisor = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--supervise", str(self.folder)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=open(self.folder / "log" / "supervisor.err", "wb"), text=True, start_new_session=True)
        line = self.supervisor.stdout.readline().strip()
        if not line.startswith("STARTED"):
            self.stop()
            raise SlurmClusterError(f"the cluster's supervisor did not start: {line or 'no output'}\n{self.logs()}")
        self.netns_inode = None if self.host_net else _netns_inode(self.supervisor.pid)
        self._write_wrappers()
        self.env = {
            "SLURM_CONF": str(self.conf),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            MARKER: self.marker,
        }
        try:
            self.wait_idle(timeout - (time.monotonic() - t0))
        except Exception:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def run(self, args: list[str], check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a Slurm client command (sbatch, squeue ...) against this cluster."""
        env = dict(os.environ, **self.env)
        r = subprocess.run([str(self.bin / args[0]), *args[1:]], env=env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise SlurmClusterError(f"{' '.join(args)}: rc={r.returncode}: {r.stderr.strip()}")
        return r

    def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + max(timeout, 1)
        last = ""
        while time.monotonic() < deadline:
            if self.supervisor.poll() is not None:
                break
            try:
                r = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False, timeout=10)
                last = (r.stdout + r.stderr).strip()
                if r.returncode == 0 and r.stdout.split() and all(s == "idle" for s in r.stdout.split()):
                    return
            except subprocess.TimeoutExpired:
                last = "sinfo timed out"
            time.sleep(0.3)
        raise SlurmClusterError(f"the node did not become idle (sinfo: {last!r})\n{self.logs()}")

    def logs(self, lines: int = 15) -> str:
        out = []
        for f in sorted((self.folder / "log").glob("*")):
            try:
                tail = f.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            if tail:
                out.append(f"--- {f.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def jobs(self) -> list[str]:
        """Job ids still pending/running/completing (squeue's default view)."""
        r = self.run(["squeue", "-h", "-o", "%i %T"], check=False)
        return [ln for ln in r.stdout.splitlines() if ln.strip()]

    def stop(self) -> None:
        sup = self.supervisor
        if sup is not None and sup.poll() is None:
            sup.terminate()
            try:
                sup.wait(30)
            except subprocess.TimeoutExpired:
                sup.kill()
                sup.wait()
        if sup is not None and sup.stdout:
            sup.stdout.close()
        # anything the supervisor could not stop
        kill_cluster_processes(self.netns_inode, self.marker)
        if self.cgroup:
            _remove_cgroups(self.node)
        if self._own_folder and not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _remove_cgroups(node: str) -> None:
    root = pathlib.Path("/sys/fs/cgroup")
    for top in list(root.glob(f"*/slurm_{node}")) + list(root.glob(f"slurm_{node}")):
        for sub in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir():
                try:
                    sub.rmdir()
                except OSError:
                    pass
        try:
            top.rmdir()
        except OSError:
            pass


# --------------------------------------------------------------------------
# pytest
# --------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # the supervisor runs without pytest
    pytest = None

if pytest is not None:

    def pytest_configure(config):
        config.addinivalue_line("markers", "slurm: tests of the Slurm engine (against a private Slurm cluster)")

    def _unavailable(msg: str):
        if os.environ.get("REDMULE_REQUIRE_SLURM") == "1":
            pytest.fail(f"{msg} (REDMULE_REQUIRE_SLURM=1)", pytrace=False)
        pytest.skip(msg)

    @pytest.fixture(scope="session")
    def slurm_cluster():
        """A running single-node cluster (see the module docstring); skips when
        Slurm is not installed, unless REDMULE_REQUIRE_SLURM=1."""
        missing = missing_binaries()
        if missing:
            _unavailable(f"Slurm is not installed (missing {', '.join(missing)}; tools/install_slurm.sh installs it)")
        if os.geteuid() != 0:
            _unavailable("the test Slurm cluster runs its daemons as root")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
        cluster = SlurmCluster(name=f"rv{worker}{uuid.uuid4().hex[:4]}"[:20])
        try:
            cluster.start()
        except (SlurmClusterError, OSError) as e:
            _unavailable(f"the test Slurm cluster did not start: {e}")
        saved = {k: os.environ.get(k) for k in cluster.env}
        os.environ.update(cluster.env)
        try:
            yield cluster
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--supervise":
        sys.exit(supervise(sys.argv[2]))
    # By hand: `python tests/slurm_cluster.py` starts a cluster and stops it on
    # Enter; `python tests/slurm_cluster.py -- CMD ...` runs CMD against it
    # (e.g. python -m redmule_verif.flow.bench_slurm) and stops it after.
    cmd = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    with SlurmCluster(keep=not cmd) as c:
        print(f"Slurm {c.version} test cluster up in {c.start_seconds:.1f} s; folder {c.folder}", flush=True)
        if cmd:
            rc = subprocess.call(cmd, env=dict(os.environ, **c.env))
        else:
            print(f"export SLURM_CONF={c.conf} PATH={c.bin}:$PATH")
            try:
                input("Enter stops it ")
            except (KeyboardInterrupt, EOFError):
                pass
            rc = 0
    sys.exit(rc)
