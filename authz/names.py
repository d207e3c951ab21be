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
# Characters that print as nothing but are letters or marks to Unicode (its
# Default_Ignorable_Code_Point property, which unicodedata does not expose, and blank
# letters): with them `cli\u034f:root` reads as `cli:root`.
_INVISIBLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def name_key(name: str) -> str:
    """A name's identity, for lookups: NFKC, case-folded, without surrounding spaces."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _invisible(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _INVISIBLE)


def display_name(name: str, *, what: str, limit: int = NAME_MAX_LENGTH) -> str:
    """A name people read (a subject's, a role's): NFKC, without surrounding spaces, with
    single spaces and nothing that prints as nothing or moves the text around."""
    normal = unicodedata.normalize("NFKC", name).strip()
    if not normal:
        raise BadUserInput(f"{what}: a name is needed")
    if len(normal) > limit:
        raise BadUserInput(f"{what}: at most {limit} characters")
    for position, char in enumerate(normal):
        category = unicodedata.category(char)
        if (
            category in _REFUSED_CATEGORIES
            or (category == "Zs" and char != " ")
            or _invisible(char)
            or (position == 0 and category.startswith("M"))
        ):
            raise BadUserInput(
                f"{what}: character {position + 1} (U+{ord(char):04X}) is not allowed in names"
            )
    if "  " in normal:
        raise BadUserInput(f"{what}: names hold single spaces")
    return normal


def subject_name(name: str) -> tuple[str, str]:
    """The name as stored and its key; BadUserInput naming what is wrong with it."""
    normal = display_name(name, what="subject")
    key = normal.casefold()
    if key.startswith(RESERVED_PREFIXES) or key in RESERVED_NAMES:
        raise BadUserInput(f"subject: {shown(normal)} is reserved for the operator's acts")
    return normal, key
