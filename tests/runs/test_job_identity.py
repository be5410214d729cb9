"""Which job a rank belongs to (the launchers' environments), and which run of a reused job
identity an event lands in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dlbot.agent.job import Job, current_job, current_rank
from dlbot.bot.runs.generations import Generation, generation_for, generation_id
from tests.support import T0

TORCHRUN_STATIC = {
    "TORCHELASTIC_RUN_ID": "none",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
    "WORLD_SIZE": "4",
    "LOCAL_WORLD_SIZE": "4",
}


@pytest.mark.parametrize(
    ("env", "identity", "world_size"),
    [
        ({"WORLD_SIZE": "8", "TORCHELASTIC_RUN_ID": "f3a1"}, "torchelastic f3a1", 8),
        (TORCHRUN_STATIC, "master 127.0.0.1:29500 world 4", 4),
        ({**TORCHRUN_STATIC, "SLURM_JOB_ID": "81234", "SLURM_STEP_ID": "0"}, "slurm 81234.0", 4),
        (
            {"SLURM_JOB_ID": "81", "SLURM_STEP_ID": "2", "SLURM_STEP_NUM_TASKS": "16"},
            "slurm 81.2",
            16,
        ),
        ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_MCA_ess_base_jobid": "2947"}, "mpi 2947", 4),
        ({"PMI_SIZE": "2", "PMIX_NAMESPACE": "prterun-gpu-07@1"}, "mpi prterun-gpu-07@1", 2),
        ({"DLBOT_JOB_ID": "sweep-7", "WORLD_SIZE": "4"}, "dlbot sweep-7", 4),
        ({"DLBOT_JOB_ID": "sweep-7"}, "dlbot sweep-7", None),
    ],
)
def test_job_identity_of_each_launcher(
    env: dict[str, str], identity: str, world_size: int | None
) -> None:
    assert current_job(env) == Job(identity, world_size)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"RANK": "1"},
        {"WORLD_SIZE": "1", "MASTER_ADDR": "a", "MASTER_PORT": "1"},
        {"SLURM_JOB_ID": "81234", "SLURM_PROCID": "0"},
        {"WORLD_SIZE": "4"},
    ],
)
def test_a_process_on_its_own_keeps_a_run_of_its_own(env: dict[str, str]) -> None:
    assert current_job(env) is None


def test_every_rank_on_every_host_derives_the_same_run_id() -> None:
    ranks = [
        current_job({**TORCHRUN_STATIC, "RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(4)
    ]
    assert len({job.run_id for job in ranks if job}) == 1
    assert all(job and len(job.run_id) == 32 for job in ranks)
    other_port = current_job({**TORCHRUN_STATIC, "MASTER_PORT": "29501"})
    assert other_port is not None and ranks[0] is not None
    assert other_port.run_id != ranks[0].run_id


@pytest.mark.parametrize(
    ("env", "rank"),
    [
        ({"RANK": "3", "LOCAL_RANK": "1"}, 3),
        ({"OMPI_COMM_WORLD_RANK": "5"}, 5),
        ({"PMI_RANK": "2"}, 2),
        ({"SLURM_PROCID": "7", "LOCAL_RANK": "1"}, 7),
        ({"LOCAL_RANK": "1"}, 1),
        ({"RANK": "x"}, 0),
        ({}, 0),
    ],
)
def test_rank_of_each_launcher(env: dict[str, str], rank: int) -> None:
    assert current_rank(env) == rank


def gen(start_s: float, end_s: float | None, leader: bool = True) -> Generation:
    return Generation(
        T0 + timedelta(seconds=start_s),
        None if end_s is None else T0 + timedelta(seconds=end_s),
        leader,
    )


def test_the_first_event_of_a_job_opens_its_run() -> None:
    assert generation_for([], "started", T0, None) is None
    assert generation_for([], "crashed", T0, 5.0) is None


def test_ranks_failing_after_the_first_are_folded_into_its_run() -> None:
    crashed = [gen(0, 100)]
    assert generation_for(crashed, "crashed", T0 + timedelta(seconds=130), 130.0) == 0
    assert generation_for(crashed, "finished", T0 + timedelta(seconds=200), 200.0) == 0


def test_a_second_rank_zero_start_is_a_new_job() -> None:
    still_running = [gen(0, None)]
    assert generation_for(still_running, "started", T0 + timedelta(hours=2), None) is None
    assert generation_for(still_running, "progress", T0 + timedelta(hours=2), None) == 0


def test_a_rank_that_started_well_after_the_run_ended_is_a_new_job() -> None:
    crashed = [gen(0, 100)]
    assert generation_for(crashed, "crashed", T0 + timedelta(seconds=900), 50.0) is None
    assert generation_for(crashed, "started", T0 + timedelta(seconds=900), None) is None


def test_a_rank_that_failed_before_the_others_started_keeps_them_in_its_run() -> None:
    failed_at_once = [gen(0, 0.03, leader=False)]
    assert generation_for(failed_at_once, "started", T0 + timedelta(seconds=0.05), None) == 0
    assert generation_for(failed_at_once, "crashed", T0 + timedelta(seconds=2), 1.9) == 0


def test_late_events_of_an_older_job_find_it() -> None:
    two_jobs = [gen(0, 100), gen(300, None)]
    late_fold = generation_for(two_jobs, "crashed", T0 + timedelta(seconds=400), 390.0)
    assert late_fold == 0, "that rank started at 10 s, during the first job"
    assert generation_for(two_jobs, "crashed", T0 + timedelta(seconds=400), 90.0) == 1


def test_generation_ids_keep_the_wire_id_first_then_differ_in_their_prefix() -> None:
    wire = "0123456789abcdef0123456789abcdef"
    assert generation_id(wire, 0) == wire
    second, third = generation_id(wire, 1), generation_id(wire, 2)
    assert len({wire[:8], second[:8], third[:8]}) == 3 and len(second) == 32
