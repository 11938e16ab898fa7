"""A real one-node SLURM cluster for tests: munged, slurmctld and slurmd started on this machine.

Why: the SLURM profile (and anything else that submits jobs through ``sbatch``) can only be
trusted once it has run real jobs on a real scheduler; a dry run never asks SLURM anything.

The cluster lives entirely in one temporary directory (configuration, munge key and socket,
state, spool and logs) and listens on free TCP ports, so it needs no systemd, touches nothing
under /etc, /run or /var, and two test sessions on one machine do not collide. It has no
accounting database (``AccountingStorageType=accounting_storage/none``): ``sacct`` and
``sacctmgr`` do not work, job states come from ``squeue``.

Clients find the cluster through ``SLURM_CONF``, and through wrappers of the client commands
(``<directory>/bin/srun`` ...) that set it: some tools drop every ``SLURM_*`` variable before
calling ``srun`` (Snakemake's SLURM job-step executor does, inside each job), and ``srun`` then
looks for /etc/slurm/slurm.conf, which a test must not write.

The daemons run as root (``SlurmUser=root``, ``SlurmdUser=root``), as in a container; jobs run
as the user who submits them. Not root: :func:`unavailable_reason` says so.

Use it through the ``slurm_cluster`` fixture of ``tests/conftest.py`` (one cluster per test
session); :class:`SlurmCluster` is what that fixture yields.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: The daemons and client commands a cluster needs (Debian packages `slurm-wlm` and `munge`).
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun", "salloc", "sacct", "sacctmgr", "sshare")
PARTITION = "debug"
ACTIVE = {"RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STOPPED"}
#: Memory left to the system and the test process itself (the node's RealMemory is the rest).
RESERVED_MB = 2048


class SlurmClusterError(RuntimeError):
    """The cluster did not come up; the message holds the daemons' logs."""


@dataclass
class SlurmCluster:
    """A running one-node SLURM cluster.

    Attributes (a stable interface: other tests build on it):

    - ``env``: environment variables to add to a subprocess's environment so that ``sbatch``,
      ``squeue``, ``sinfo``, ``scontrol``, ``scancel``, ``srun`` (and anything calling them)
      use this cluster: ``SLURM_CONF``, and ``PATH`` (this process's PATH with the cluster's
      command wrappers first; put your own directories in front of it, do not replace it).
      Jobs inherit both (``sbatch`` exports the environment). For code in the test process
      itself (dask-jobqueue's ``SLURMCluster``), use :meth:`environ`.
    - ``partition``: the one partition (``debug``, the default, no time limit).
    - ``cpus``: the node's CPUs (what a job may ask for at most with ``--cpus-per-task``).
    - ``mem_mb``: the node's memory in MB (what a job may ask for at most with ``--mem``).
    - ``node``: the node's name (this machine's short host name).
    - ``directory``: the cluster's temporary directory; ``conf`` its slurm.conf, ``log_dir``
      the daemons' logs.

    Methods: :meth:`run` (a client command on this cluster), :meth:`jobs` (what ``squeue``
    knows, finished jobs included), :meth:`logs` (the daemons' logs, for error messages),
    :meth:`environ` (``env`` in this process for a ``with`` block).

    Jobs run as the submitting user on this machine, in the directory they were submitted
    from (or ``sbatch -D``), so they see the same filesystem as the test.
    """

    env: dict[str, str]
    partition: str
    cpus: int
    mem_mb: int
    node: str
    directory: Path
    conf: Path
    log_dir: Path
    _processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    @contextlib.contextmanager
    def environ(self) -> Iterator[None]:
        """``env`` set in this process's ``os.environ`` for the ``with`` block, then restored."""
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def run(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """A SLURM client command (``squeue``, ``scontrol`` ...) on this cluster; output as text."""
        return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **self.env}, timeout=timeout)

    def jobs(self) -> list[dict[str, str]]:
        """Jobs SLURM still knows (any state; finished ones for MinJobAge = 10 minutes), each
        ``{"id", "name", "state", "cpus", "comment"}`` (an array task's id: ``<job>_<task>``)."""
        out = self.run("squeue", "--noheader", "--states=all", "--format=%i|%j|%T|%C|%k")
        keys = ("id", "name", "state", "cpus", "comment")
        return [dict(zip(keys, line.split("|", 4))) for line in out.stdout.splitlines() if line.strip()]

    def logs(self, tail: int = 60) -> str:
        """The last ``tail`` lines of each daemon's log, for error messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {path} ---\n" + "\n".join(lines))
        return "\n".join(parts) or f"(no logs in {self.log_dir})"


def missing_binaries() -> list[str]:
    """The SLURM and munge commands not found on PATH (or in /usr/sbin, where Debian puts daemons)."""
    return [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]


def unavailable_reason() -> str | None:
    """Why no cluster can start here (commands missing, not root), or None."""
    missing = missing_binaries()
    if missing:
        return f"SLURM missing ({', '.join(missing)} not found): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "a test SLURM cluster runs its daemons as root; this user is not root"
    return None


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _free_ports(n: int) -> list[int]:
    """``n`` TCP ports free right now (the kernel picks them; all held until all are picked)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _node_resources() -> tuple[int, int]:
    """CPUs this process may use and the memory SLURM may hand out (total less RESERVED_MB)."""
    cpus = len(os.sched_getaffinity(0))
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return cpus, max(512, total_mb - RESERVED_MB)


def slurm_conf(*, node: str, cpus: int, mem_mb: int, directory: Path, ports: tuple[int, int], munge_socket: Path) -> str:
    """slurm.conf of the one-node cluster: everything under ``directory``, no accounting,
    no cgroups (no systemd in a container), root as the daemons' user."""
    ctld_port, slurmd_port = ports
    return f"""\
# One-node test cluster (tests/slurm_cluster.py)
ClusterName=deeplense-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={directory}/state
SlurmdSpoolDir={directory}/spool
SlurmctldPidFile={directory}/run/slurmctld.pid
SlurmdPidFile={directory}/run/slurmd.pid
SlurmctldLogFile={directory}/log/slurmctld.log
SlurmdLogFile={directory}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
# Finished jobs stay visible to squeue for MinJobAge seconds: Snakemake's SLURM executor reads
# their final state there when there is no accounting (its status command `squeue`).
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
# Pending jobs are looked at every second, not every minute: tests wait for them.
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def start(directory: Path | None = None, timeout: float = 60) -> SlurmCluster:
    """Start munged, slurmctld and slurmd and wait until the node is idle in ``sinfo``.

    ``directory``: where the cluster keeps everything (default: a new temporary directory,
    removed by :func:`stop`). Raises :class:`SlurmClusterError` (with the daemons' logs) when
    SLURM cannot run here (:func:`unavailable_reason`) or the node is not idle within ``timeout`` seconds.
    """
    reason = unavailable_reason()
    if reason:
        raise SlurmClusterError(reason)
    directory = Path(directory or tempfile.mkdtemp(prefix="deeplense-slurm-"))
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # munged refuses a key or socket in a directory others may write
    for sub in ("state", "spool", "run", "log", "munge"):
        (directory / sub).mkdir(mode=0o700, exist_ok=True)
    node = socket.gethostname().split(".")[0]
    cpus, mem_mb = _node_resources()
    munge_socket = directory / "munge" / "munge.socket"
    conf = directory / "slurm.conf"
    bin_dir = _write_wrappers(directory / "bin", conf)
    conf.write_text(slurm_conf(node=node, cpus=cpus, mem_mb=mem_mb, directory=directory, ports=tuple(_free_ports(2)), munge_socket=munge_socket))
    cluster = SlurmCluster(
        env={"SLURM_CONF": str(conf), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"},
        partition=PARTITION,
        cpus=cpus,
        mem_mb=mem_mb,
        node=node,
        directory=directory,
        conf=conf,
        log_dir=directory / "log",
    )
    env = {**os.environ, **cluster.env}
    try:
        key = directory / "munge" / "munge.key"
        subprocess.run([_which("mungekey"), "--create", "--keyfile", str(key)], check=True, capture_output=True, text=True, timeout=30)
        munged = [
            _which("munged"), "--foreground", "--force",
            f"--key-file={key}", f"--socket={munge_socket}", f"--pid-file={directory}/munge/munged.pid",
            f"--log-file={directory}/log/munged.log", f"--seed-file={directory}/munge/munged.seed",
        ]  # fmt: skip
        _spawn(cluster, "munged", munged, env)
        _wait(cluster, munge_socket.exists, 20, "munged did not create its socket")
        _spawn(cluster, "slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(conf)], env)
        _spawn(cluster, "slurmd", [_which("slurmd"), "-D", "-N", node, "-f", str(conf)], env)
        _wait(cluster, lambda: _node_state(cluster) == "idle", timeout, f"node {node} not idle in sinfo")
    except BaseException:
        stop(cluster, remove=False)
        raise
    return cluster


def _write_wrappers(bin_dir: Path, conf: Path) -> Path:
    """``bin_dir`` with one script per client command that runs the real one on this cluster."""
    bin_dir.mkdir(mode=0o755, exist_ok=True)
    for name in CLIENTS:
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexport SLURM_CONF={shlex.quote(str(conf))}\nexec {shlex.quote(_which(name))} "$@"\n')
        wrapper.chmod(0o755)
    return bin_dir


def _spawn(cluster: SlurmCluster, name: str, command: list[str], env: dict[str, str]) -> None:
    """A daemon in the foreground, in its own session (stop() ends it and what it started)."""
    log = open(cluster.log_dir / f"{name}.out", "w")
    cluster._processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    log.close()


def _node_state(cluster: SlurmCluster) -> str:
    out = cluster.run("sinfo", "--noheader", "--nodes", cluster.node, "--format=%T", timeout=10)
    return out.stdout.strip() if out.returncode == 0 else ""


def _wait(cluster: SlurmCluster, ready, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        dead = {name: p.returncode for name, p in cluster._processes.items() if p.poll() is not None}
        if dead:
            raise SlurmClusterError(f"{what}: daemon(s) exited {dead}\n{_all_logs(cluster)}")
        time.sleep(0.5)
    raise SlurmClusterError(f"{what} after {timeout:.0f} s (state: {_node_state(cluster)!r})\n{_all_logs(cluster)}")


def _all_logs(cluster: SlurmCluster) -> str:
    outs = [f"--- {p} ---\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(cluster.log_dir.glob("*.out"))]
    return cluster.logs() + "\n" + "\n".join(outs)


def stop(cluster: SlurmCluster, remove: bool = True) -> None:
    """Cancel every job, stop the daemons (and the job steps they started) and, with
    ``remove``, delete the cluster's directory. Safe to call twice."""
    if cluster._processes.get("slurmctld") and cluster._processes["slurmctld"].poll() is None:
        with contextlib.suppress(Exception):
            cluster.run("scancel", "--full", "--user", str(os.getuid()), timeout=10)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(j["state"] in ACTIVE for j in cluster.jobs()):
                time.sleep(0.5)
    # slurmd before slurmctld before munged; each in its own session: its process group too.
    for name in ("slurmd", "slurmctld", "munged"):
        process = cluster._processes.pop(name, None)
        if process is None:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    _kill_strays(cluster)
    if remove:
        shutil.rmtree(cluster.directory, ignore_errors=True)


def _kill_strays(cluster: SlurmCluster) -> None:
    """Processes of this cluster that outlive its daemons: job steps (slurmstepd, in their own
    sessions) and what they ran. Found by their environment (``SLURM_CONF`` of this cluster,
    which slurmd passes on to them), never by name; this process itself is spared."""
    marker = f"SLURM_CONF={cluster.conf}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)


@contextlib.contextmanager
def running(directory: Path | None = None, timeout: float = 60) -> Iterator[SlurmCluster]:
    """A cluster for the ``with`` block: :func:`start`, then :func:`stop` whatever happens."""
    cluster = start(directory, timeout)
    try:
        yield cluster
    finally:
        stop(cluster)
