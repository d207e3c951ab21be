"""Subject names: normalised so that one person has one name, and checked so that no name
reads like another or like the operator's.

A name is kept as NFKC (full-width letters become ASCII ones) without surrounding spaces;
its key, NFKC case-folded, is its identity, so `Alice`, `alice` and full-width `Alice` are one
subject. Control and formatting characters (NUL, newlines, right-to-left marks, zero-width
joiners) are refused: they make a name print like a different one.
"""

from __future__ import annotations

import unicodedata

from core.errors import BadUserInput, shown

NAME_MAX_LENGTH = 100
# The audit's names for the command line's operators and for the system's own acts.
RESERVED_PREFIXES = ("cli:", "system:")
RESERVED_NAMES = frozenset({"quhua demo"})
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def name_key(name: str) -> str:
    """A name's identity, for lookups: NFKC, case-folded, without surrounding spaces."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def subject_name(name: str) -> tuple[str, str]:
    """The name as stored and its key; BadUserInput naming what is wrong with it."""
    normal = unicodedata.normalize("NFKC", name).strip()
    if not normal:
        raise BadUserInput("subject: a name is needed")
    if len(normal) > NAME_MAX_LENGTH:
        raise BadUserInput(f"subject: at most {NAME_MAX_LENGTH} characters")
    for position, char in enumerate(normal):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or (category == "Zs" and char != " "):
            raise BadUserInput(
                f"subject: character {position + 1} (U+{ord(char):04X}) is not allowed in names"
            )
    if "  " in normal:
        raise BadUserInput("subject: names hold single spaces")
    key = normal.casefold()
    if key.startswith(RESERVED_PREFIXES) or key in RESERVED_NAMES:
        raise BadUserInput(f"subject: {shown(normal)} is reserved for the operator's acts")
    return normal, key
