"""User-facing text of /sota, in English and Chinese."""

from __future__ import annotations

from dlbot.handlers.i18n import N_
from dlbot.handlers.knowledge import Bilingual

SOTA_USAGE = N_("/sota DATASET-OR-TASK")
SOTA_SUMMARY = N_("/sota DATASET — state-of-the-art results with sources, e.g. /sota imagenet")
CC_BY_SA_URL = "https://creativecommons.org/licenses/by-sa/4.0/"

HEADING = Bilingual("State of the art: {dataset}", "SOTA：{dataset}")
TASK = Bilingual(
    "Task: {task} · ranked by {metric}{direction}", "任务：{task} · 按 {metric}{direction} 排名"
)
LOWER_BETTER = Bilingual(" (lower is better)", "（越低越好）")
EXTRA_DATA = Bilingual(" [extra training data]", " [使用额外训练数据]")
AS_OF = Bilingual("As of {as_of} · Source: {source}", "截至 {as_of} · 来源：{source}")
SCOPE_SNAPSHOT = Bilingual(
    "Scope: published results with a paper, as of {as_of}; one split per leaderboard "
    "(named above) · Source: {source}",
    "范围：截至 {as_of} 已发表且有论文的结果；每个排行榜只比较一个数据划分（见上文）"
    " · 来源：{source}",
)
SCOPE_LISTED = Bilingual(
    "Scope: results as listed by the source, as of {as_of} (entries may lack a paper) · "
    "Source: {source}",
    "范围：截至 {as_of} 来源所列的结果（部分条目可能没有论文） · 来源：{source}",
)
ATTRIBUTION = Bilingual(
    "Leaderboard data from Papers with Code, licensed ",
    "排行榜数据来自 Papers with Code，许可协议 ",
)
ALSO = Bilingual("Also: ", "另见：")
NEWEST = Bilingual("Newest on arXiv", "arXiv 最新论文")
NO_PAPERS = Bilingual("arXiv has no recent paper for this query.", "arXiv 上没有找到相关的新论文。")
LIVE_UNAVAILABLE = Bilingual(
    "Live sources unavailable right now ({parts}); showing the offline data only.",
    "实时数据源暂时不可用（{parts}），以下仅为离线数据。",
)
PWC_API = "Papers with Code API"
ARXIV_API = "arXiv API"
NO_DATASET = Bilingual(
    "No leaderboard for “{query}”. Known benchmarks include: {known}.",
    "没有找到“{query}”的排行榜。已收录的基准包括：{known}。",
)
LIST_HEADING = Bilingual("Benchmarks with offline leaderboards", "已收录离线排行榜的基准")
LIST_HINT = Bilingual(
    "Ask /sota DATASET (aliases work: /sota in1k, /sota 图像分类). "
    "Admins can load the Papers with Code archive with `dlbot sota import FILE`.",
    "发送 /sota 数据集名（支持别名，如 /sota in1k、/sota 图像分类）。"
    "管理员可用 `dlbot sota import FILE` 导入 Papers with Code 归档。",
)
