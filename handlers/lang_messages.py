"""What /lang says."""

from __future__ import annotations

from collections.abc import Callable

from dlbot.handlers.i18n import N_, Language, _
from dlbot.handlers.reply import Mono, Reply, para

LANG_USAGE = N_("/lang [zh | en]")
LANG_SUMMARY = N_("/lang zh — answer and alert in Chinese in this chat; /lang en — in English")
ONE_LANGUAGE = N_("Give one language: `zh` or `en`.")
UNKNOWN_LANGUAGE = N_("dlbot speaks `zh` (Chinese) and `en` (English), not {value!r}.")
LANG_IN_CHAT = N_(
    "Choose a chat's language in that chat; `dlbot ask` follows DLBOT_LANGUAGE (now {name})."
)
NAMES: dict[Language, str] = {"en": N_("English"), "zh": N_("Chinese")}


def current(language: Language, chosen_here: bool, spell: Callable[[str], str]) -> Reply:
    name = _(NAMES[language])
    said = (
        _("This chat speaks {name} (chosen with /lang). Change it with ").format(name=name)
        if chosen_here
        else _("This chat speaks {name}, dlbot's default (DLBOT_LANGUAGE). Change it with ").format(
            name=name
        )
    )
    return Reply(blocks=(para(spell(said), Mono(spell(_(LANG_USAGE)))),), visibility="private")


def changed(language: Language) -> Reply:
    """Written in the new language."""
    said = _("From now on dlbot answers and alerts in {name} in this chat.").format(
        name=_(NAMES[language])
    )
    return Reply(blocks=(para(said),))
