"""A validation rule: no string in a document holds U+0000.

PostgreSQL's text cannot store it and no name or reason needs it; variables are checked for
it with the rest of the request (quhua/request_checks.py), literals here.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule


class NoNulCharacter(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError("A string holds the NUL character (U+0000): no text may", node)
            )
