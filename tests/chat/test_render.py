"""The Slack and Telegram renderers as pure functions: expected output, escaping and limits."""

from __future__ import annotations

from dlbot.bot.platforms.slack.render import MAX_BLOCKS, render_slack
from dlbot.bot.platforms.telegram.render import MAX_MESSAGE_CHARS, MAX_MESSAGES, render_telegram
from dlbot.handlers.reply import Bold, Code, Heading, Link, Mono, Reply, Table, para

HOSTILE = "<!channel> <@U123> <https://x|y> <b> &amp;"

SAMPLE = Reply(
    blocks=(
        Heading("gpu-07"),
        para(
            "Load ",
            Bold("97%"),
            " on ",
            Mono("gpu-07"),
            ", see ",
            Link("docs", "https://d/x?a=1&b=2"),
        ),
        Table(("GPU", "state"), (("0", "busy"), ("1", ""))),
        Code("GPU 0  alice  python train.py"),
    )
)


def test_slack_expected_blocks() -> None:
    message = render_slack(SAMPLE)
    assert message.text == "gpu-07"
    assert message.blocks == [
        {"type": "header", "text": {"type": "plain_text", "text": "gpu-07"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Load *97%* on `gpu-07`, see <https://d/x?a=1&amp;b=2|docs>",
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*GPU*"},
                {"type": "mrkdwn", "text": "*state*"},
                {"type": "mrkdwn", "text": "0"},
                {"type": "mrkdwn", "text": "busy"},
                {"type": "mrkdwn", "text": "1"},
                {"type": "mrkdwn", "text": "-"},
            ],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "```GPU 0  alice  python train.py```"},
        },
    ]


def test_telegram_expected_html() -> None:
    assert render_telegram(SAMPLE) == [
        "<b>gpu-07</b>\n\n"
        'Load <b>97%</b> on <code>gpu-07</code>, see <a href="https://d/x?a=1&amp;b=2">docs</a>\n\n'
        "<pre>GPU  state\n0    busy\n1</pre>\n\n"
        "<pre>GPU 0  alice  python train.py</pre>"
    ]


def test_slack_escapes_hostile_text_everywhere_it_is_parsed() -> None:
    reply = Reply(
        blocks=(
            para(HOSTILE, Bold(HOSTILE), Mono(HOSTILE)),
            Table(("host", "user", "command"), ((HOSTILE, HOSTILE, HOSTILE),)),
            Code(HOSTILE),
        )
    )
    message = render_slack(reply)
    escaped = "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; &lt;b&gt; &amp;amp;"
    mrkdwn = [b["text"]["text"] for b in message.blocks]
    assert mrkdwn[0] == f"{escaped}*{escaped}*`{escaped}`"
    assert all("<" not in text and ">" not in text for text in [*mrkdwn, message.text])
    assert escaped in mrkdwn[1] and mrkdwn[2] == f"```{escaped}```"


def test_telegram_escapes_hostile_text() -> None:
    reply = Reply(blocks=(Heading(HOSTILE), para(HOSTILE, Mono(HOSTILE)), Code(HOSTILE)))
    (html,) = render_telegram(reply)
    escaped = "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; &lt;b&gt; &amp;amp;"
    assert html == (f"<b>{escaped}</b>\n\n{escaped}<code>{escaped}</code>\n\n<pre>{escaped}</pre>")


def test_long_text_is_split_within_limits_without_cutting_entities() -> None:
    line = "&<>" * 2000 + "x" * 5000
    reply = Reply(blocks=(para(line), Code(line), Table(("command",), ((line,),))))
    slack = render_slack(reply)
    sections = [b["text"]["text"] for b in slack.blocks]
    assert all(len(t) <= 3000 for t in sections)
    assert "".join(sections[: _until(sections, "```")]).count("&amp;&lt;&gt;") == 2000
    for text in sections:
        assert not text.rstrip("`").endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
    messages = render_telegram(reply)
    assert all(len(m) <= MAX_MESSAGE_CHARS for m in messages)
    assert all(m.count("<pre>") == m.count("</pre>") for m in messages)


def test_very_long_replies_are_cut_with_a_note() -> None:
    reply = Reply(blocks=tuple(para(f"line {i} " + "x" * 3000) for i in range(80)))
    slack = render_slack(reply)
    assert len(slack.blocks) == MAX_BLOCKS
    assert "more parts of this reply are not shown" in slack.blocks[-1]["text"]["text"]
    telegram = render_telegram(reply)
    assert len(telegram) == MAX_MESSAGES
    assert "more parts of this reply are not shown" in telegram[-1]


def _until(sections: list[str], prefix: str) -> int:
    return next(i for i, text in enumerate(sections) if text.startswith(prefix))
