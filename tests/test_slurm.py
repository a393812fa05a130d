"""The workflow through a real single-node SLURM: profiles/slurm with the SLURM executor plugin.

The fixture starts munged (own key and socket), slurmctld and slurmd from Debian's slurm-wlm and
munge (installed by .ci/run), with a slurm.conf written for this machine, and stops them after.
The config has to be /etc/slurm/slurm.conf: the plugin's job step drops SLURM_CONF from the
environment of the srun it starts inside each job. An existing slurm.conf not written here is
never touched (the test skips). Under CI the test must run: a missing piece fails it instead.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from helpers import TINY, assert_report_shows, copy_project, snakemake

pytestmark = [pytest.mark.system, pytest.mark.e2e]

SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by actviz tests/test_slurm.py"
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "srun")


def _unavailable():
    """Why a test SLURM cannot be started here, or None."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting slurmd and writing /etc/slurm/slurm.conf needs root"
    if SLURM_CONF.exists() and not SLURM_CONF.read_text().startswith(MARKER):
        return f"{SLURM_CONF} holds a real SLURM configuration; not overwriting it"
    return None


def _memory_mb():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4000


def _slurm_conf(root, host, munge_socket):
    return f"""{MARKER}
ClusterName=actviz
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'slurmctld.pid'}
SlurmdPidFile={root / 'slurmd.pid'}
SlurmctldLogFile={root / 'slurmctld.log'}
SlurmdLogFile={root / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={_memory_mb() * 3 // 4} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A running single-node SLURM cluster for this module; stopped (and its config removed) after."""
    reason = _unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the SLURM test: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("slurm")
    for folder in ("state", "spool", "munge"):
        (root / folder).mkdir()
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    munge_socket = root / "munge" / "munge.socket"
    subprocess.run(["munged", "--force", f"--socket={munge_socket}", f"--key-file={key}",
                    f"--pid-file={root / 'munge' / 'munged.pid'}", f"--log-file={root / 'munged.log'}",
                    f"--seed-file={root / 'munge' / 'seed'}"], check=True)
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(_slurm_conf(root, socket.gethostname().split(".")[0], munge_socket))
    daemons = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
               for command in (["slurmctld", "-D", "-i"], ["slurmd", "-D"])]
    try:
        for _ in range(60):
            state = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True)
            if state.stdout.strip() == "idle":
                break
            time.sleep(1)
        else:
            logs = "".join((root / name).read_text()[-2000:] for name in ("slurmctld.log", "slurmd.log")
                           if (root / name).exists())
            pytest.fail(f"the test SLURM node never became idle ({state.stdout.strip()!r}):\n{logs}")
        yield root
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
        pid_file = root / "munge" / "munged.pid"
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], check=False)
        SLURM_CONF.unlink(missing_ok=True)


def test_tiny_workflow_runs_every_training_job_through_slurm(slurm_cluster, tmp_path):
    copy_project(tmp_path)
    tiny = {**TINY, "activations": ["relu", "selu"], "recipes": ["snn"]}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    # This test cluster has no accounting database: no account, job states from squeue.
    result = snakemake(tmp_path, "--profile", "profiles/slurm", "--configfile", "tiny.yaml", "--slurm-no-account",
                       "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
                       "report")
    assert result.returncode == 0, result.stderr[-5000:]
    assert_report_shows(tmp_path / "results", [tmp_path / "results" / "runs" / "FashionMNIST-sample" / "cnn" / "snn" / a
                                               / "seed0" for a in tiny["activations"]])

    submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*slurm_logs/rule_(\w+)/", result.stderr))
    assert sorted(submitted.values()).count("train") == 2 and "report" not in submitted.values()
    assert "download" not in submitted.values()  # local rules stay on the submitting machine
    finished = dict(line.split("|") for line in subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T"], capture_output=True, text=True,
        check=True).stdout.split())
    for activation in tiny["activations"]:
        log = (tmp_path / "results" / "joblogs" / "train" / "FashionMNIST-sample" / "cnn" / "snn" / activation
               / "seed0.log").read_text()
        job = re.search(r"SLURM job (\d+)", log)
        assert job, f"the {activation} training job did not run under SLURM:\n{log[-2000:]}"
        assert submitted[job.group(1)] == "train" and finished[job.group(1)] == "COMPLETED"
        # cpus-per-task from the rule's threads reached TensorFlow
        assert "CPU threads: 1 per op, 1 ops at once" in log
