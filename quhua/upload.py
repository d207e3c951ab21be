"""`POST /import/values`: a values file sent over HTTP, imported as `quhua values import` does.

The body is the file itself (`Content-Type: text/csv`, `application/json` for DHIS2
dataValueSets, `application/xml` or `application/adx+xml` for ADX; `Content-Encoding:
gzip` when compressed) or a multipart form whose `file` part holds it (its name's
extension, else its part's type, says the format). `reason` (required, as for the GraphQL
mutations), `dry_run` and `format` (csv, dvs or json, adx) come as query parameters or form
fields.

The caller's token must hold values:write at every unit the file names: one row outside
that scope refuses the whole file, each such row listed by its position. Otherwise the
file is checked and merged exactly as by the command line (indicators/value_import.py),
inside the request's transaction, audited with the caller and their token: the answer is
the import's report, 200 when written (or, for a dry run, when it would be), 422 with the
errors when nothing was written. The body goes to a temporary file as it arrives, never
whole into memory; the app's body size limit applies.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlalchemy import text
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authz.roles import Action
from core.errors import BadUserInput, Forbidden
from core.files.csvfile import CsvFileError
from core.files.textfiles import TextSource
from indicators.submission import required_reason
from indicators.value_files import ValueFormat
from indicators.value_import import ImportReport, import_values_async
from quhua.http_door import HttpDoor
from resolvers.authors import author_of
from resolvers.context import Context

MEDIA_TYPES = {
    "text/csv": ValueFormat.CSV,
    "application/csv": ValueFormat.CSV,
    "application/json": ValueFormat.DATA_VALUE_SETS,
    "application/xml": ValueFormat.ADX,
    "text/xml": ValueFormat.ADX,
    "application/adx+xml": ValueFormat.ADX,
}
SUFFIXES = {ValueFormat.CSV: ".csv", ValueFormat.DATA_VALUE_SETS: ".json", ValueFormat.ADX: ".xml"}
CHUNK_BYTES = 1 << 20
MAX_ERRORS = 1000
NAME_LENGTH = 100
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


def import_routes(door: HttpDoor) -> list[Route]:
    """The routes of imports over HTTP, each behind the door."""
    return [Route("/import/values", door(import_values_endpoint), methods=["POST"])]


async def import_values_endpoint(request: Request, context: Context) -> Response:
    imported = await import_upload(request, context)
    status = 200 if imported.report.ok else 422
    return JSONResponse({"file": imported.name, **imported.report.as_dict()}, status_code=status)


@dataclass(frozen=True, slots=True)
class Imported:
    """What a file sent over HTTP came to: its name, the import's report, whether it was a
    dry run (nothing kept)."""

    name: str
    report: ImportReport
    dry_run: bool


async def import_upload(request: Request, context: Context) -> Imported:
    """Import the request's file (the body, or a multipart form's `file`) as the caller,
    inside the request's transaction: what `POST /import/values` and the console's upload
    both do. BAD_USER_INPUT or FORBIDDEN for a request that names no file to import."""
    scope = context.scope(Action.WRITE_VALUES)
    if scope.is_empty:
        raise Forbidden(f"{Action.WRITE_VALUES.label}: your token may report values nowhere")
    with tempfile.TemporaryDirectory(prefix="quhua-upload-") as folder:
        upload = await _received(request, Path(folder))
        reason = required_reason(upload.options.get("reason", ""))
        dry_run = _flag(upload.options.get("dry_run", ""), "dry_run")
        await context.session.begin_writing()
        if dry_run:
            # The door commits a successful answer: what a dry run wrote goes back here.
            await context.session.execute(text("SAVEPOINT quhua_dry_run"))
        try:
            report = await import_values_async(
                context.session,
                TextSource(upload.path),
                index=await context.catalogue(),
                author=author_of(context),
                scope=scope,
                reason=reason,
                value_format=upload.value_format,
                file_name=upload.name,
                dry_run=dry_run,
                max_errors=MAX_ERRORS,
            )
        except CsvFileError as error:
            report = ImportReport()
            report.add_error(0, str(error), limit=MAX_ERRORS)
        if dry_run:
            await context.session.execute(text("ROLLBACK TO SAVEPOINT quhua_dry_run"))
    return Imported(upload.name, report, dry_run)


class _Upload:
    def __init__(
        self, path: Path, name: str, value_format: ValueFormat, options: dict[str, str]
    ) -> None:
        self.path = path
        self.name = name
        self.value_format = value_format
        self.options = options


async def _received(request: Request, folder: Path) -> _Upload:
    """The request's file, written to the folder, and the options that came with it."""
    options = {key: value for key, value in request.query_params.items()}
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _from_form(request, folder, options)
    chosen = _format(options.get("format"), media_type, "")
    if chosen is None:
        raise BadUserInput(
            f"Content-Type {media_type or 'missing'}: send text/csv, application/json "
            "(DHIS2 dataValueSets), application/xml or application/adx+xml, a multipart "
            "form with a file, or say format=csv|dvs|adx"
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise BadUserInput(f"Content-Encoding {encoding}: send the file plain or gzipped")
    compressed = ".gz" if encoding == "gzip" else ""
    path = folder / f"upload{SUFFIXES[chosen]}{compressed}"
    with path.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
    return _Upload(path, f"upload{SUFFIXES[chosen]}", chosen, options)


async def _from_form(request: Request, folder: Path, options: dict[str, str]) -> _Upload:
    # Parts beyond these are refused by the parser; files are spooled to disk past 1 MB.
    form = await request.form(max_files=1, max_fields=10)
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise BadUserInput("the form has no file part: send the values file as `file`")
        for key, value in form.multi_items():
            if isinstance(value, str):
                options.setdefault(key, value)
        name = _shown_name(part.filename or "upload")
        suffixes = "".join(PurePath(name).suffixes[-2:]).lower()
        media_type = (part.content_type or "").partition(";")[0].strip().lower()
        chosen = _format(options.get("format"), media_type, name)
        if chosen is None:
            chosen = ValueFormat.CSV
        compressed = (
            ".gz" if suffixes.endswith(".gz") else ".xz" if suffixes.endswith(".xz") else ""
        )
        path = folder / f"upload{SUFFIXES[chosen]}{compressed}"
        with path.open("wb") as out:
            while chunk := await part.read(CHUNK_BYTES):
                out.write(chunk)
    finally:
        await form.close()
    return _Upload(path, name, chosen, options)


def _format(asked: str | None, media_type: str, name: str) -> ValueFormat | None:
    """The format asked for, else the file name's extension, else the media type's."""
    if asked:
        try:
            return ValueFormat.named(asked)
        except ValueError as error:
            raise BadUserInput(str(error)) from None
    if name and PurePath(name).suffix.lower() not in ("", ".bin"):
        return ValueFormat.of_file(name)
    return MEDIA_TYPES.get(media_type)


def _flag(value: str, name: str) -> bool:
    text_value = value.strip().lower()
    if text_value in _TRUE:
        return True
    if text_value in _FALSE:
        return False
    raise BadUserInput(f"{name} {value!r}: true or false")


def _shown_name(name: str) -> str:
    """The file's own name for the audit: no folders, nothing unprintable, not too long."""
    base = _UNPRINTABLE.sub("", PurePath(name.replace("\\", "/")).name) or "upload"
    return base[:NAME_LENGTH]
