"""User-facing text of /tip, in English and Chinese."""

from __future__ import annotations

from dlbot.handlers.i18n import N_
from dlbot.handlers.knowledge import Bilingual

TIP_USAGE = N_("/tip [en|zh] [QUERY | TIP-ID | random]")
TIP_SUMMARY = N_("/tip QUERY — a practical deep-learning tip (English or 中文); /tip — all topics")

CATEGORY_NAMES = {
    "installation": Bilingual("Installation", "安装与环境"),
    "training": Bilingual("Training", "训练"),
    "models": Bilingual("Models", "模型"),
    "data": Bilingual("Data", "数据"),
    "privacy": Bilingual("Privacy", "隐私"),
    "learning": Bilingual("Learning", "学习资源"),
    "fun": Bilingual("Fun", "趣味"),
    "troubleshooting": Bilingual("Troubleshooting", "故障排查"),
}

TIPS_HEADING = Bilingual("Tips by topic", "按主题浏览技巧")
TIPS_HINT = Bilingual(
    "Ask /tip QUERY in English or Chinese (/tip onnx, /tip 多GPU); /tip en … or /tip zh … "
    "picks the answer language; /tip random for a surprise.",
    "用中文或英文提问：/tip QUERY（如 /tip onnx、/tip 多GPU）；/tip en … 或 /tip zh … "
    "指定回答语言；/tip random 随机来一条。",
)
TIP_COLUMNS = Bilingual("tip|title", "编号|标题")
LINKS = Bilingual("Links: ", "链接：")
TIP_ID = Bilingual("Tip: ", "技巧编号：")
SEE_ALSO = Bilingual(" · See also: ", " · 另见：")
NOT_THIS_ONE = Bilingual(" · Not the one you meant? Also close: ", " · 不是想找的？相近的还有：")
NO_TIP = Bilingual("No tip matches “{query}”.", "没有找到与“{query}”相关的技巧。")
CLOSEST = Bilingual(" Closest topics: ", " 最接近的主题：")
NO_CLOSE = Bilingual(
    " /tip alone lists every topic.",
    " 单独发送 /tip 可查看全部主题。",
)
RANDOM_WORDS = frozenset({"random", "随机"})


def category_name(category: str) -> Bilingual:
    return CATEGORY_NAMES.get(category, Bilingual(category.title(), category))
