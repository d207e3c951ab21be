"""Indicator formulas: linear sums of data elements, parsed (never evaluated as code).

    births[sex=male]                      one element, restricted to one option
    births - deaths                       a difference
    2 * (iud + sterilization) + implant   integer coefficients and parentheses

A term names an element, optionally restricted to options of its categories. The result is
a canonical linear form: each (element, options) with its integer coefficient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z0-9_]+)|(?P<symbol>[-+*()\[\],=]))")


class FormulaError(ValueError):
    """A formula that does not parse or names what the catalogue lacks; says where."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} at column {column}")
        self.column = column


@dataclass(frozen=True, slots=True, order=True)
class Term:
    element: str
    # (category, option) pairs, sorted: the options the element is restricted to.
    options: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if not self.options:
            return self.element
        inner = ",".join(f"{category}={option}" for category, option in self.options)
        return f"{self.element}[{inner}]"


@dataclass(frozen=True, slots=True)
class LinearForm:
    """A sum of coefficient * term, terms in a stable order, no zero coefficients."""

    terms: tuple[tuple[Term, int], ...]

    @property
    def elements(self) -> frozenset[str]:
        return frozenset(term.element for term, _ in self.terms)

    def __str__(self) -> str:
        parts = []
        for index, (term, coefficient) in enumerate(self.terms):
            sign = "-" if coefficient < 0 else "+"
            size = abs(coefficient)
            text = str(term) if size == 1 else f"{size} * {term}"
            parts.append(("- " if sign == "-" else "") + text if index == 0 else f"{sign} {text}")
        return " ".join(parts) or "0"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    column: int


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            column = position + len(source[position:]) - len(source[position:].lstrip()) + 1
            raise FormulaError(f"unexpected character {source[column - 1]!r}", column)
        group = match.lastgroup
        assert group is not None
        text = match.group(group)
        kind = group
        if group == "word":
            # Options may start with a digit (parity 3plus); element names may not.
            kind = "number" if text.isdigit() else "name" if not text[0].isdigit() else "word"
        tokens.append(_Token(kind, text, match.start(group) + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, source: str, catalogue: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        self.tokens = _tokens(source)
        self.index = 0
        # element → category → options
        self.catalogue = catalogue

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self, text: str | None = None, kind: str | None = None) -> _Token:
        token = self.current
        if (text is not None and token.text != text) or (kind is not None and token.kind != kind):
            wanted = repr(text) if text else {"name": "a name", "number": "a number"}[kind or ""]
            found = "the end" if token.kind == "end" else repr(token.text)
            raise FormulaError(f"expected {wanted}, found {found}", token.column)
        self.index += 1
        return token

    def take_word(self) -> _Token:
        """An option: any run of letters, digits and underscores."""
        token = self.current
        if token.kind not in ("name", "number", "word"):
            found = "the end" if token.kind == "end" else repr(token.text)
            raise FormulaError(f"expected an option, found {found}", token.column)
        self.index += 1
        return token

    def formula(self) -> dict[Term, int]:
        sign = -1 if self.current.text == "-" else 1
        if self.current.text in "+-" and self.current.kind == "symbol":
            self.index += 1
        total = _scaled(self.product(), sign)
        while self.current.text in ("+", "-"):
            sign = 1 if self.take().text == "+" else -1
            _add(total, _scaled(self.product(), sign))
        return total

    def product(self) -> dict[Term, int]:
        if self.current.kind == "number":
            factor = int(self.take().text)
            self.take("*")
            return _scaled(self.product(), factor)
        if self.current.text == "(":
            self.take("(")
            inner = self.formula()
            self.take(")")
            return inner
        return {self.reference(): 1}

    def reference(self) -> Term:
        token = self.take(kind="name")
        categories = self.catalogue.get(token.text)
        if categories is None:
            raise FormulaError(f"unknown element {token.text!r}", token.column)
        options: dict[str, str] = {}
        if self.current.text == "[":
            self.take("[")
            while True:
                category = self.take(kind="name")
                self.take("=")
                option = self.take_word()
                if category.text not in categories:
                    raise FormulaError(
                        f"{token.text} has no category {category.text!r}", category.column
                    )
                if category.text in options:
                    raise FormulaError(f"category {category.text} named twice", category.column)
                if option.text not in categories[category.text]:
                    raise FormulaError(
                        f"category {category.text} has no option {option.text!r}", option.column
                    )
                options[category.text] = option.text
                if self.current.text != ",":
                    break
                self.take(",")
            self.take("]")
        return Term(token.text, tuple(sorted(options.items())))


def _scaled(form: dict[Term, int], factor: int) -> dict[Term, int]:
    return {term: coefficient * factor for term, coefficient in form.items()}


def _add(total: dict[Term, int], more: dict[Term, int]) -> None:
    for term, coefficient in more.items():
        total[term] = total.get(term, 0) + coefficient


def parse_formula(source: str, catalogue: Mapping[str, Mapping[str, Sequence[str]]]) -> LinearForm:
    """Parse a formula against the catalogue (element → category → options)."""
    if not source.strip():
        raise FormulaError("empty formula", 1)
    parser = _Parser(source, catalogue)
    form = parser.formula()
    if parser.current.kind != "end":
        raise FormulaError(f"unexpected {parser.current.text!r}", parser.current.column)
    terms = tuple(sorted((t, c) for t, c in form.items() if c != 0))
    if not terms:
        raise FormulaError("the terms cancel out to nothing", 1)
    return LinearForm(terms)
