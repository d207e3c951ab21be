"""Importing DHIS2 dataValueSets JSON and ADX: the same rows, checks and all-or-nothing rule
as CSV, errors by position; hostile documents refused unread."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select

from core.db.engine import sync_engine
from indicators.catalogue_index import catalogue_index_sync
from indicators.models import ChangeSet, DataValue, OptionCombo, ValueChange
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.test_value_import import GOOD

DATA = Path(__file__).parent / "data"
REFERENCE_JSON = DATA / "values" / "march.json"
REFERENCE_ADX = DATA / "values" / "march.adx.xml"


@pytest.fixture
def url(catalogue_url: str) -> str:
    return catalogue_url


def run(url: str, path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = quhua("values", "import", str(path), "--json", *extra, url=url)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def stored(url: str) -> set[tuple[str, str, int, float]]:
    """Every stored value as (unit code, combo key with its element, month index, value)."""
    engine = sync_engine(url)
    with engine.connect() as connection:
        index = catalogue_index_sync(connection)
        rows = connection.execute(
            select(Jurisdiction.code, OptionCombo.id, DataValue.month_index, DataValue.value)
            .join(Jurisdiction, Jurisdiction.id == DataValue.jurisdiction_id)
            .join(OptionCombo, OptionCombo.id == DataValue.combo_id)
        ).all()
    engine.dispose()
    found = set()
    for code, combo_id, month, value in rows:
        element, key = index.by_combo[combo_id]
        found.add((code, f"{element.code}:{key}", month, value))
    return found


def audit_counts(url: str) -> tuple[int, int, int]:
    """Stored values, value changes and change sets."""
    engine = sync_engine(url)
    with engine.connect() as connection:
        found = tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (DataValue, ValueChange, ChangeSet)
        )
    engine.dispose()
    return found  # type: ignore[return-value]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def dvs(*values: dict[str, Any], **top: Any) -> str:
    return json.dumps({**top, "dataValues": list(values)})


def adx(*groups: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<adx xmlns="urn:ihe:qrph:adx:2015" exported="2024-04-05T08:00:00Z">\n'
        + "".join(groups)
        + "</adx>\n"
    )


def test_the_adx_reference_file_is_valid_adx() -> None:
    schema = etree.XMLSchema(etree.parse(str(DATA / "adx" / "adx_loose.xsd")))
    assert schema.validate(etree.parse(str(REFERENCE_ADX))), schema.error_log


def expected_from_csv(url: str, text: str) -> set[tuple[str, str, int, float]]:
    """What `stored` holds once the CSV's rows are imported, worked out from the rows."""
    engine = sync_engine(url)
    with engine.connect() as connection:
        index = catalogue_index_sync(connection)
    engine.dispose()
    found = set()
    for line in text.splitlines()[1:]:
        code, element_code, period, value, disaggregation = line.split(",")
        element = index.element(element_code)
        key = element.combo_key(disaggregation)
        month = element.period(period).month_index
        found.add((code, f"{element.code}:{key}", month, float(value)))
    return found


@pytest.mark.parametrize("reference", [REFERENCE_JSON, REFERENCE_ADX], ids=["dvs", "adx"])
def test_a_reference_file_stores_what_the_same_csv_stores(url: str, reference: Path) -> None:
    code, report = run(url, reference, "--reason", "March from DHIS2")
    assert code == 0, report
    assert (report["inserted"], report["updated"], report["unchanged"]) == (6, 0, 0)
    assert stored(url) == expected_from_csv(url, GOOD)
    before = audit_counts(url)
    assert before == (6, 6, 1)
    code, report = run(url, reference)
    assert (code, report["unchanged"], report["inserted"], report["updated"]) == (0, 6, 0, 0)
    assert audit_counts(url) == before


def test_the_format_comes_from_the_name_or_is_given(url: str, tmp_path: Path) -> None:
    gzipped = write(tmp_path, "march.json.gz", gzip.compress(REFERENCE_JSON.read_bytes()))
    assert run(url, gzipped, "--dry-run")[1]["rows"] == 6
    renamed = write(tmp_path, "march.txt", REFERENCE_ADX.read_bytes())
    code, report = run(url, renamed, "--format", "adx", "--dry-run")
    assert (code, report["rows"], report["written"]) == (0, 6, False)
    assert audit_counts(url) == (0, 0, 0)
    as_text = write(tmp_path, "march-dvs.txt", REFERENCE_JSON.read_bytes())
    for name in ("dvs", "json"):
        assert run(url, as_text, "--format", name, "--dry-run")[1]["rows"] == 6
    refused = quhua("values", "import", str(as_text), "--format", "xls", url=url)
    assert refused.exit_code == 1
    assert "format 'xls': one of csv, dvs (or json), adx" in refused.stderr
    # Read as the CSV its name says it is, the ADX document has no header.
    result = quhua("values", "import", str(renamed), url=url)
    assert result.exit_code == 1
    assert "the header lacks" in result.stderr


VILLAGE = "640104001002"
BAD_DATA_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"orgUnit": "659999999999"}, "orgUnit: unknown jurisdiction '659999999999'"),
    ({"dataElement": "birth"}, "dataElement: unknown element 'birth'"),
    ({"period": "2024W10"}, "period: '2024W10' is not a period Quhua stores"),
    ({"period": "2024Q1"}, "period: births is reported by month, not by quarter"),
    ({"period": "2023Oct"}, "period: 2024FP is a statistical year"),
    ({"period": "2023July"}, "is a year from month 7; statistical years here start in month 10"),
    ({"categoryOptionCombo": "sex=male"}, "categoryOptionCombo: births needs an option of parity"),
    ({"categoryOptionCombo": "default"}, "categoryOptionCombo: births needs an option of"),
    ({"categoryOptionCombo": "colour=red"}, "births has no category 'colour'"),
    ({"attributeOptionCombo": "project=a"}, 'attributeOptionCombo "project=a": only the default'),
    ({"value": "two"}, "value: value 'two' is not a number"),
    ({"value": True}, "value true is not a number"),
    ({"value": "1.5"}, "value: 1.5 is not a whole number"),
    ({"value": None}, "no value"),
    ({"orgUnit": None}, "no orgUnit (nor a top-level one before dataValues)"),
    ({"dataElement": None}, "no dataElement"),
    ({"deleted": True}, "deleted: this import stores values and never deletes them"),
    ({"orgUnit": "640104"}, "orgUnit: jurisdiction 640104 is a county, which does not report"),
    ({}, "the same value as dataValues[0]"),
]


def test_every_bad_data_value_is_named_by_its_index_and_nothing_is_written(
    url: str, tmp_path: Path
) -> None:
    good = {
        "dataElement": "births",
        "period": "202403",
        "orgUnit": VILLAGE,
        "categoryOptionCombo": "parity=1;sex=male",
        "value": "2",
    }
    bad = []
    for changes, _ in BAD_DATA_VALUES:
        row = {**good, **changes}
        bad.append({key: value for key, value in row.items() if value is not None})
    document = dvs(good, *bad)
    code, report = run(url, write(tmp_path, "bad.json", document))
    assert code == 1
    assert not report["written"]
    assert report["rows"] == 1 + len(BAD_DATA_VALUES)
    reasons = {error["dataValue"]: error["reason"] for error in report["errors"]}
    for number, (_, reason) in enumerate(BAD_DATA_VALUES, start=1):
        assert reason in reasons.get(number, ""), (number, reason, reasons.get(number))
    assert sorted(reasons) == list(range(1, 1 + len(BAD_DATA_VALUES)))
    assert audit_counts(url) == (0, 0, 0)
    # People read the positions as the document's own paths.
    result = quhua("values", "import", str(tmp_path / "bad.json"), url=url)
    assert f"bad.json: dataValues[2]: {BAD_DATA_VALUES[1][1]}" in result.stderr


def adx_group(unit: str, period: str, *values: str, extra: str = "") -> str:
    lines = "".join(f"    {value}\n" for value in values)
    return (
        f'  <group orgUnit="{unit}" period="{period}" dataSet="QUHUA"{extra}>\n{lines}  </group>\n'
    )


def test_every_bad_adx_data_value_is_named_by_its_line_and_nothing_is_written(
    url: str, tmp_path: Path
) -> None:
    good = '<dataValue dataElement="births" sex="male" parity="1" value="2"/>'
    document = adx(
        # lines 3-13
        adx_group(
            VILLAGE,
            "2024-03-01/P1M",
            good,
            '<dataValue dataElement="birth" sex="male" parity="1" value="2"/>',
            '<dataValue dataElement="births" sex="male" value="2"/>',
            '<dataValue dataElement="births" sex="male" parity="1" colour="red" value="2"/>',
            '<dataValue dataElement="births" sex="male" parity="1" value="two"/>',
            '<dataValue dataElement="births" sex="male" parity="1"/>',
            '<dataValue sex="male" parity="1" value="2"/>',
            good,
            '<note value="1"/>',
        ),
        # lines 14-16
        adx_group("659999999999", "2024-03-01/P1M", good),
        # lines 17-19
        adx_group(VILLAGE, "2024-03-01/P1D", good),
        # lines 20-22
        adx_group(VILLAGE, "2023-10-01/P1Y", good),
        # lines 23-25
        adx_group(VILLAGE, "2024-04-01/P1M", good, extra=' project="a"'),
    )
    expected = {
        5: "dataElement: unknown element 'birth'",
        6: "categories: births needs an option of parity",
        7: "categories: births has no category 'colour'",
        8: "value: value 'two' is not a number",
        9: "no value",
        10: "no dataElement",
        11: "the same value as line 4",
        12: "<note> where a <dataValue> belongs",
        15: "orgUnit: unknown jurisdiction '659999999999'",
        18: "period: '2024-03-01/P1D' is not a period Quhua stores",
        21: "period: 2024FP is a statistical year",
        24: "its group (line 23) has project: only the default attribute option combo",
    }
    code, report = run(url, write(tmp_path, "bad.xml", document))
    assert code == 1
    reasons = {error["line"]: error["reason"] for error in report["errors"]}
    for line, reason in expected.items():
        assert reason in reasons.get(line, ""), (line, reason, reasons.get(line))
    assert sorted(reasons) == sorted(expected)
    assert audit_counts(url) == (0, 0, 0)


def test_top_level_defaults_apply_only_before_the_data_values(url: str, tmp_path: Path) -> None:
    row = {"dataElement": "deaths", "value": "1"}
    before = dvs(row, orgUnit=VILLAGE, period="202403", dataSet="QUHUA")
    code, report = run(url, write(tmp_path, "before.json", before), "--dry-run")
    assert (code, report["inserted"]) == (0, 1)
    after = json.dumps({"dataValues": [row], "orgUnit": VILLAGE, "period": "202403"})
    code, report = run(url, write(tmp_path, "after.json", after))
    assert code == 1
    assert report["errors"][0] == {
        "dataValue": 0,
        "reason": "no orgUnit (nor a top-level one before dataValues)",
    }


MALFORMED_JSON = [
    ('{"dataValues": [{"dataElement": "births",}]}', "line 1 column"),
    ('{"dataValues": [', "line 1 column 17: Expecting value"),
    ('[{"dataElement": "births"}]', "expected a JSON object"),
    ('{"period": "202403"}', "no dataValues"),
    ('{"dataValues": [], "dataValues": []}', "dataValues given twice"),
    ('{"dataValues": []} []', "more after the document's end"),
    ('{"dataValues": [{"comment": "' + "x" * 70_000 + '"}]}', "longer than 65536 characters"),
    ('{"dataValues": "none"}', "expected the dataValues array"),
    ('{"dataValues": [' + "[" * 30_000 + "]" * 30_000 + "]}", "dataValues[0] is nested too deeply"),
]


@pytest.mark.parametrize(
    ("document", "message"), MALFORMED_JSON, ids=[m for _, m in MALFORMED_JSON]
)
def test_a_malformed_document_is_refused_whole(
    url: str, tmp_path: Path, document: str, message: str
) -> None:
    result = quhua("values", "import", str(write(tmp_path, "bad.json", document)), url=url)
    assert result.exit_code == 1
    assert message in result.stderr
    assert audit_counts(url) == (0, 0, 0)


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE adx [\n <!ENTITY lol0 "lol">\n'
    + "".join(f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">\n' for n in range(1, 10))
    + ']>\n<adx xmlns="urn:ihe:qrph:adx:2015" exported="2024-01-01T00:00:00Z">'
    '<group orgUnit="&lol9;" period="2024-03-01/P1M"><dataValue dataElement="births" '
    'value="1"/></group></adx>\n'
).encode()
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE adx [<!ENTITY unit SYSTEM "file:///etc/passwd">]>\n'
    b'<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="&unit;" period="2024-03-01/P1M">'
    b'<dataValue dataElement="births" value="1"/></group></adx>\n'
)
HOSTILE = [
    ("billion laughs", LAUGHS, "declares a document type"),
    ("external entity", EXTERNAL, "declares a document type"),
    (
        "external DTD after a comment",
        b"<!-- first -->\n<!DOCTYPE adx SYSTEM 'http://127.0.0.1:9/adx.dtd'>\n<adx/>",
        "declares a document type",
    ),
    ("UTF-16", EXTERNAL.decode().encode("utf-16"), "not an XML document in UTF-8"),
    (
        "undeclared entity",
        b'<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="&unit;" period="2024-03-01/P1M">'
        b"</group></adx>",
        "Entity 'unit' not defined",
    ),
    ("not ADX", b'<adx xmlns="urn:example"/>', "the root element is <{urn:example}adx>"),
    ("cut short", b'<adx xmlns="urn:ihe:qrph:adx:2015"><group', "line 1"),
    ("empty", b"", "the file is empty"),
]


@pytest.mark.parametrize(
    ("document", "message"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_hostile_or_malformed_adx_document_is_refused_unexpanded(
    url: str, tmp_path: Path, document: bytes, message: str
) -> None:
    result = quhua("values", "import", str(write(tmp_path, "hostile.xml", document)), url=url)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "root:" not in result.stderr  # nothing of /etc/passwd
    assert "lollollol" not in result.stderr
    assert audit_counts(url) == (0, 0, 0)
