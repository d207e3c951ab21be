"""The registered operations of allow-list mode, read once at start-up.

Three shapes, by what the setting names:
- a folder: every `*.graphql` file below it is one registered document, as written;
- a JSON object mapping each document's SHA-256 (lower-case hex) to the document;
- an Apollo persisted-query manifest (`{"format": "apollo-persisted-query-manifest",
  "version": 1, "operations": [{"id": …, "body": …}, …]}`), whose ids are the bodies'
  SHA-256 as Apollo's generator writes them.

Every entry's hash must be its document's, and every document must be valid against the
schema: a wrong entry stops start-up with a message naming it, rather than failing callers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, parse, validate

MANIFEST = "apollo-persisted-query-manifest"
_HEX = re.compile(r"^[0-9a-f]{64}$")


def document_hash(document: str) -> str:
    """SHA-256 of the document's UTF-8 text, lower-case hex: the APQ protocol's hash."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def is_hash(text: str) -> bool:
    return _HEX.match(text) is not None


def load_allow_list(path: Path, schema: GraphQLSchema) -> dict[str, str]:
    """Hash → document of the operations registered at `path`; ValueError naming what is
    wrong (the setting, the file, the entry)."""
    where = f"QUHUA_ALLOWED_OPERATIONS ({path})"
    if path.is_dir():
        entries = dict(_folder(path))
    elif path.is_file():
        entries = dict(_json_file(path, where))
    else:
        raise ValueError(f"{where}: no such file or folder")
    if not entries:
        raise ValueError(f"{where} registers no operation")
    for name, (declared, document) in entries.items():
        _check(f"{where}, {name}", declared, document, schema)
    return {declared: document for declared, document in entries.values()}


def _folder(path: Path) -> Iterator[tuple[str, tuple[str, str]]]:
    for file in sorted(path.rglob("*.graphql")):
        document = file.read_text(encoding="utf-8")
        yield str(file.relative_to(path)), (document_hash(document), document)


def _json_file(path: Path, where: str) -> Iterator[tuple[str, tuple[str, str]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{where} is not UTF-8 JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold a JSON object (hash to document, or a manifest)")
    if data.get("format") != MANIFEST:
        for number, (declared, document) in enumerate(data.items(), 1):
            if not isinstance(document, str):
                raise ValueError(f"{where}, entry {number} ({declared}): not a document (string)")
            yield f"entry {number} ({declared})", (declared, document)
        return
    operations = data.get("operations")
    if data.get("version") != 1 or not isinstance(operations, list):
        raise ValueError(f"{where}: a manifest of version 1 with a list of operations expected")
    for number, operation in enumerate(operations, 1):
        if not isinstance(operation, dict) or not isinstance(operation.get("body"), str):
            raise ValueError(f"{where}, operation {number}: an object with a `body` expected")
        declared = operation.get("id")
        name = f"operation {number} ({operation.get('name') or declared})"
        if not isinstance(declared, str):
            raise ValueError(f"{where}, {name}: its `id` must be a string")
        yield name, (declared, operation["body"])


def _check(where: str, declared: str, document: str, schema: GraphQLSchema) -> None:
    if not is_hash(declared):
        raise ValueError(f"{where}: {declared!r} is no SHA-256 in lower-case hex")
    actual = document_hash(document)
    if actual != declared:
        raise ValueError(f"{where}: the document's SHA-256 is {actual}, not {declared}")
    try:
        errors = validate(schema, parse(document))
    except GraphQLError as error:
        raise ValueError(f"{where}: not GraphQL: {error.message}") from error
    if errors:
        raise ValueError(f"{where}: not valid against the schema: {errors[0].message}")
