"""The offline /sota snapshot: the reviewer's corrections (issue 12) stay in, one split per board.

Each expected leader was checked against the paper it cites; a board that ranks results
from two splits (test and validation) in one list would compare numbers that are not
comparable, so every board names one split and ranks only that.
"""

from __future__ import annotations

import re

import pytest

from dlbot.handlers.leaderboards import load_snapshot

SNAPSHOT = load_snapshot()
SPLIT = re.compile(r"\b(test-dev|test|val|validation|dev)\b", re.IGNORECASE)


@pytest.mark.parametrize(
    ("dataset", "leader", "value"),
    [
        ("GLUE", "T5-11B", "90.3"),
        ("SuperGLUE", "ST-MoE-32B", "91.2"),
        ("Kinetics-400", "InternVideo2-6B", "92.1"),
        ("Natural Questions", "Atlas (11B, full fine-tuning)", "64.0"),
        ("CIFAR-10", "EfficientNet-L2 + SAM", "99.70"),
        ("CIFAR-100", "EfficientNet-L2 + SAM", "96.08"),
        ("MNIST", "Branching/merging CNN + homogeneous vector capsules", "0.13"),
        ("CoNLL 2003 (English)", "ACE + document context", "94.6"),
    ],
)
def test_the_leader_is_the_best_published_result_before_the_snapshot_date(
    dataset: str, leader: str, value: str
) -> None:
    board = SNAPSHOT.boards[dataset]
    best = board.ranked(SNAPSHOT.lower_is_better(dataset))[0]
    assert (best.model, best.metrics[board.main_metric() or ""]) == (leader, value)
    assert all(r.paper_date and r.paper_date <= SNAPSHOT.as_of for r in board.rows)


def test_every_board_ranks_one_split_and_names_it() -> None:
    for name, board in SNAPSHOT.boards.items():
        splits = {m.group(1).lower() for metric in board.metrics for m in SPLIT.finditer(metric)}
        assert len(splits) <= 1, (name, board.metrics)
        assert SPLIT.search(board.description) or splits, f"{name}: which split?"


def test_labels_name_the_variant_the_figure_belongs_to() -> None:
    captions = {r.model for r in SNAPSHOT.boards["COCO Captions"].rows}
    assert "BLIP-2 (ViT-g, OPT-2.7B)" in captions
    ade = {r.model for r in SNAPSHOT.boards["ADE20K"].rows}
    assert "Mask2Former (Swin-L-FaPN, multi-scale)" in ade


def test_squad_says_that_entries_without_a_paper_are_left_out() -> None:
    assert "have no paper" in SNAPSHOT.boards["SQuAD2.0"].description
    assert all(r.paper_url for r in SNAPSHOT.boards["SQuAD2.0"].rows)
