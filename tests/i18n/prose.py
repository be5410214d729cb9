"""Finding English prose in a reply (or a status page) meant to be Chinese.

A reply's prose is its headings, plain and bold text, table cells, a chart's alt text and button
labels; code (``Mono``, ``Code``, backtick spans), links, mentions, slash commands with their
arguments, a usage line's ``[...]``, identifiers (anything with a digit, ``_``, ``=`` or ``/``)
and the names the test gives (hosts, users, runs) are not prose. What remains may hold only
Chinese and the technical words below: any other English word, even one alone in a table cell,
is a string that escaped translation. A status page's prose is its text and the attributes a
person reads (alt, title, the phone layout's data-label), less what ``<pre>`` and ``<code>`` hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

from dlbot.handlers.reply import Bold, Heading, Image, Paragraph, Reply, Table, Text

TECHNICAL = frozenset(
    {
        "GPU", "GPUs", "CUDA", "MiB", "GiB", "UTC", "ID", "pid", "rank", "SIGKILL", "SIGTERM",
        "CPU", "RAM", "OOM", "killer", "shell", "Unix", "git", "dlbot", "Slack", "Telegram",
        "SOTA", "webhook", "NVIDIA", "HBM", "W", "C", "N",
    }
)  # fmt: skip
"""English that Chinese engineers write as it is."""
ARGUMENTS = r"(?:free|wait|cancel|mine|random|off|zh|en|N|--\w+|\d+[mhd]?|\|)"
OPTIONAL = re.compile(r"\[[^\[\]]*\]")
COMMAND = re.compile(rf"(?<![\w/])/[a-z_]+(?:[ \t]+{ARGUMENTS})*")
CODE_SPAN = re.compile(r"`[^`]*`")
IDENTIFIER = re.compile(r"[\w.:=/@-]*[\d_=/@][\w.:=/@-]*")
WORD = re.compile(r"[A-Za-z]+")


def prose(reply: Reply) -> Iterator[str]:
    for block in reply.blocks:
        match block:
            case Heading(text):
                yield text
            case Paragraph(spans):
                yield "".join(s.text for s in spans if isinstance(s, Text | Bold))
            case Table(columns, rows):
                yield from columns
                for row in rows:
                    yield from row
            case Image(alt=alt):
                yield alt
    for button in reply.actions:
        yield button.label


class _PageProse(HTMLParser):
    CODE = frozenset({"pre", "code", "script", "style"})
    READ = ("alt", "title", "aria-label", "data-label")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts += [value for name, value in attrs if name in self.READ and value]
        if tag in self.CODE:
            self.inside.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.inside and self.inside[-1] == tag:
            self.inside.pop()

    def handle_data(self, data: str) -> None:
        if not self.inside:
            self.texts.append(data)


def page_prose(html: str) -> list[str]:
    """The text of a page that a person reads as words (not its code)."""
    parser = _PageProse()
    parser.feed(html)
    parser.close()
    return parser.texts


def english(reply: Reply, names: Iterable[str] = ()) -> list[str]:
    """The English words of the reply's prose that are neither names nor technical terms."""
    return english_words(prose(reply), names)


def english_words(texts: Iterable[str], names: Iterable[str] = ()) -> list[str]:
    """The English words of ``texts`` that are neither names nor technical terms."""
    found = []
    names = sorted(names, key=len, reverse=True)
    for text in texts:
        text = CODE_SPAN.sub(" ", text)
        for name in names:
            text = text.replace(name, " ")
        while OPTIONAL.search(text):  # a usage line's [optional | arguments], innermost first
            text = OPTIONAL.sub(" ", text)
        text = IDENTIFIER.sub(" ", COMMAND.sub(" ", text))
        found += [w for w in WORD.findall(text) if w not in TECHNICAL]
    return found
