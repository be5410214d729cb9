"""Which rank of which distributed job this process is, read from its launcher's environment.

The ranks of one job must report one run without talking to each other, so the run id is a
digest of the launcher's own identity for the job, the first of:

- ``DLBOT_JOB_ID``, set by the user (it always applies, even to a single process);
- ``TORCHELASTIC_RUN_ID`` (torchrun's ``--rdzv-id``, or ``--standalone``; its default ``none``
  names no job);
- ``SLURM_JOB_ID`` and ``SLURM_STEP_ID`` (srun);
- Open MPI's job: ``OMPI_MCA_ess_base_jobid``, else the PMIx namespace (mpirun, DeepSpeed over
  MPI);
- ``MASTER_ADDR:MASTER_PORT`` with the world size (torchrun's static rendezvous, DeepSpeed's
  launcher, torch.distributed.launch).

The launchers' identities apply only to a process that is one of several (a world size above
1): a single process keeps a run of its own, as it always had. A launcher may give a later job
the same identity (the same master address and port); the service tells them apart.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

RANK_VARIABLES = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "LOCAL_RANK")
WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS")


@dataclass(frozen=True)
class Job:
    identity: str
    """The launcher's name for the job, e.g. ``slurm 81234.0``; shown with the run."""
    world_size: int | None

    @property
    def run_id(self) -> str:
        """The run id every rank on every host derives alike."""
        return hashlib.sha256(f"dlbot job {self.identity}".encode()).hexdigest()[:32]


def _integer(env: Mapping[str, str], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = env.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


def current_rank(env: Mapping[str, str] = os.environ) -> int:
    """The process's global rank in distributed training, 0 when alone."""
    return _integer(env, RANK_VARIABLES) or 0


def current_job(env: Mapping[str, str] = os.environ) -> Job | None:
    """The job this process is one rank of; None for a process on its own."""
    world_size = _integer(env, WORLD_SIZE_VARIABLES)
    chosen = env.get("DLBOT_JOB_ID", "").strip()
    if chosen:
        return Job(f"dlbot {chosen}", world_size)
    if world_size is None or world_size < 2:
        return None
    identity = _launcher_identity(env, world_size)
    return Job(identity, world_size) if identity else None


def _launcher_identity(env: Mapping[str, str], world_size: int) -> str | None:
    elastic = env.get("TORCHELASTIC_RUN_ID", "").strip()
    if elastic and elastic != "none":
        return f"torchelastic {elastic}"
    slurm = env.get("SLURM_JOB_ID", "").strip()
    if slurm:
        return f"slurm {slurm}.{env.get('SLURM_STEP_ID', 'batch').strip()}"
    mpi = env.get("OMPI_MCA_ess_base_jobid", "").strip() or env.get("PMIX_NAMESPACE", "").strip()
    if mpi:
        return f"mpi {mpi}"
    address, port = env.get("MASTER_ADDR", "").strip(), env.get("MASTER_PORT", "").strip()
    if address and port:
        return f"master {address}:{port} world {world_size}"
    return None
