"""Field maps compile, and the SQL transforms do what the schema conventions say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.normalize import compile_map
from cabhunt.normalize.fieldmap import KEYED_SHAPES, WINDOWS_SHAPES, FieldMapError, load_map
from cabhunt.normalize.sql import sha256_expr, transform, ts_expr
from cabhunt.schema import EVENT_COLUMNS


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    return c


def _eval(con: duckdb.DuckDBPyConnection, expr: str, value: str | None) -> object:
    return con.execute(f"SELECT {expr.replace('X', '$1::VARCHAR')}", [value]).fetchall()[0][0]


@pytest.mark.parametrize("shape", [*WINDOWS_SHAPES, *KEYED_SHAPES])
def test_every_map_compiles_to_valid_sql(con: duckdb.DuckDBPyConnection, shape: str) -> None:
    cmap = compile_map(shape)
    assert cmap.paths and all(p.startswith("$") for p in cmap.paths)
    assert "__cabhunt_p" not in cmap.prepared_sql
    con.execute(
        "CREATE OR REPLACE TEMP TABLE st AS SELECT 1::INTEGER AS _fk, 1::BIGINT AS id, '{}' AS line, "
        "json_transform('{}', ?) AS _s, 'p:' AS _uid_prefix, 'f' AS _src_file, ? AS _src_format, "
        "NULL::VARCHAR AS _default_key WHERE false",
        [cmap.structure, shape],
    )
    rel = con.execute(cmap.events_sql("st"))
    assert [d[0] for d in rel.description] == list(EVENT_COLUMNS)
    assert con.execute(cmap.counts_sql("st")).fetchall() == []


def test_unknown_map_and_transform_are_errors() -> None:
    with pytest.raises(FieldMapError):
        load_map("no_such_map")
    with pytest.raises(FieldMapError):
        compile_map("no_such_shape")
    with pytest.raises(FieldMapError):
        transform("no_such_transform", "x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02 10:15:04.123", datetime(2026, 3, 2, 10, 15, 4, 123000)),  # Sysmon UtcTime
        ("2026-03-02T10:15:04.1234567Z", datetime(2026, 3, 2, 10, 15, 4, 123000)),  # 100 ns EVTX SystemTime
        ("2026-03-02T12:15:04.123+02:00", datetime(2026, 3, 2, 10, 15, 4, 123000)),  # offset
        ("2026-03-02T05:15:04.999-05:00", datetime(2026, 3, 2, 10, 15, 4, 999000)),
        ("1772446504.123456", datetime(2026, 3, 2, 10, 15, 4, 123000)),  # Zeek epoch float
        ("1772446504.123", datetime(2026, 3, 2, 10, 15, 4, 123000)),  # Squid epoch.ms
        ("1772446504", datetime(2026, 3, 2, 10, 15, 4)),
        ("not a time", None),
        ("", None),
    ],
)
def test_timestamps_to_utc_milliseconds(con: duckdb.DuckDBPyConnection, text: str, expected: datetime | None) -> None:
    assert _eval(con, ts_expr("X"), text) == expected


@settings(max_examples=60, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 12, 31)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
)
def test_timestamp_spellings_agree(moment: datetime, offset_minutes: int) -> None:
    """Every spelling of one instant normalizes to the same UTC millisecond."""
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    want = moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
    aware = moment.replace(tzinfo=UTC).astimezone(timezone(timedelta(minutes=offset_minutes)))
    spellings = [
        moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}",
        moment.isoformat(timespec="microseconds") + "Z",
        aware.isoformat(timespec="milliseconds"),
    ]
    for text in spellings:
        assert _eval(c, ts_expr("X"), text) == want, text
    epoch = _eval(c, ts_expr("X"), f"{moment.replace(tzinfo=UTC).timestamp():.3f}")
    assert isinstance(epoch, datetime)
    assert abs((epoch - want).total_seconds()) <= 0.001


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("int", "0x1a2c", 6700),
        ("int", "6700", 6700),
        ("int", "-", None),
        ("nodash", "-", None),
        ("nodash", " 10.0.0.1 ", "10.0.0.1"),
        ("str", "", None),
        ("bool", "true", True),
        ("bool", "False", False),
        ("bool", "maybe", None),
        ("direction", "egress", True),
        ("direction", "ingress", False),
        ("squash", "%%1538\r\n\t\t%%1541\r\n", "%%1538 %%1541"),
        ("list_join", '["1.2.3.4","5.6.7.8"]', "1.2.3.4;5.6.7.8"),
        ("list_join", "plain", "plain"),
        ("ecs_dns_answers", '[{"type":"A","data":"1.2.3.4"},{"type":"A","data":"5.6.7.8"}]', "1.2.3.4;5.6.7.8"),
    ],
)
def test_transforms(con: duckdb.DuckDBPyConnection, name: str, value: str, expected: object) -> None:
    assert _eval(con, transform(name, "X"), value) == expected


def test_sha256_from_hashes_string(con: duckdb.DuckDBPyConnection) -> None:
    digest = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
    assert _eval(con, sha256_expr("X"), f"SHA1=AB,MD5=CD,SHA256={digest},IMPHASH=EF") == digest.lower()
    assert _eval(con, sha256_expr("X"), digest) == digest.lower()
    assert _eval(con, sha256_expr("X"), "MD5=CD") is None


def test_path_segments_and_prefix_paths(con: duckdb.DuckDBPyConnection) -> None:
    from cabhunt.normalize.sql import PathTable, path_segments

    assert path_segments('$.a."b.c"."#x"') == ["a", "b.c", "#x"]
    with pytest.raises(FieldMapError):
        path_segments("a.b")
    table = PathTable()
    whole = table.ref("$.E.ID")
    inner = table.ref('$.E.ID."#text"')
    assert table.ref('$."E"."ID"') == whole  # one spelling per path
    sql = table.resolve(f"SELECT {whole} AS a, {inner} AS b FROM (SELECT json_transform(?, ?) AS _s)")
    assert con.execute(sql, ['{"E": {"ID": 7}}', table.structure()]).fetchall() == [("7", None)]
    assert con.execute(sql, ['{"E": {"ID": {"#text": 8}}}', table.structure()]).fetchall() == [('{"#text":8}', "8")]
    clash = PathTable()
    clash.ref("$.Channel")
    clash.ref("$.channel")
    with pytest.raises(FieldMapError):
        clash.structure()


_VALUES = st.sampled_from([
    "1", "3", "4", "11", "4688", "5145", 1, 3, 4688, 7.5, "", "-", " 1 ", None, True, [1], {"#text": "1"}, {"#text": 3},
    "Microsoft-Windows-Sysmon/Operational", "microsoft-windows-sysmon/operational", "Security", "Microsoft-Windows-Sysmon",
    "Microsoft-Windows-Security-Auditing", "System", "2026-03-02 10:15:04.123", "conn", "dns", "http", "smb_files", "x",
])


_LIKELY = {  # values a field of that name usually holds, so that records are kept often enough
    "channel": st.sampled_from(["Microsoft-Windows-Sysmon/Operational", "security", "Microsoft-Windows-SMBClient/Security"]),
    "provider": st.sampled_from(["Microsoft-Windows-Sysmon", "Microsoft-Windows-Security-Auditing", "Other"]),
    "source": st.sampled_from(["Microsoft-Windows-Sysmon", "Microsoft-Windows-Security-Auditing"]),
    "code": st.sampled_from(["1", "3", "11", "4688", "5145", 1, 4688, 31017, {"#text": "1"}]),
    "id": st.sampled_from(["1", "3", "11", "4688", "5145", 1, 4688, 31017, {"#text": "1"}]),
    "path": st.sampled_from(["conn", "dns", "smb_files", "files", "weird"]),
}


def _value(path: str, data: st.DataObject) -> object:
    last = path.rsplit(".", 1)[-1].strip('"').lower()
    likely = next((v for k, v in _LIKELY.items() if k in last), None)
    return data.draw(likely if likely is not None and data.draw(st.booleans()) else _VALUES)


def _leaves(structure: str) -> list[str]:
    import json

    def walk(node: dict[str, object], prefix: str) -> list[str]:
        out = []
        for key, child in node.items():
            path = f'{prefix}."{key}"'
            out += walk(child, path) if isinstance(child, dict) else [path]
        return out

    return walk(json.loads(structure), "$")


def _document(paths: list[str], decisive: list[str], data: st.DataObject) -> str:
    """A JSON text setting most ``decisive`` paths and a few of ``paths`` to random values
    (and now and then not an object at all)."""
    import json

    from cabhunt.normalize.sql import path_segments

    if data.draw(st.integers(0, 9)) == 0:
        return json.dumps(data.draw(_VALUES))
    doc: dict[str, object] = {}
    chosen = [p for p in decisive if data.draw(st.integers(0, 4)) > 0]
    for path in chosen + data.draw(st.lists(st.sampled_from(paths), max_size=4)):
        *parents, leaf = path_segments(path)
        node: object = doc
        for key in parents:
            if not isinstance(node, dict):
                break
            node = node.setdefault(key, {})
        if isinstance(node, dict):
            node[leaf] = _value(path, data)
    return json.dumps(doc)


@settings(max_examples=40, deadline=None)
@given(shape=st.sampled_from([*WINDOWS_SHAPES, *KEYED_SHAPES]), data=st.data())
def test_decisions_from_the_small_parse_equal_the_full_map(shape: str, data: st.DataObject) -> None:
    """Keep and skip reason taken from only the fields they read agree with the full map's, record by record."""
    cmap = compile_map(shape)
    decisive = _leaves(cmap.keep_structure)
    lines = [_document(cmap.paths, decisive, data) for _ in range(data.draw(st.integers(1, 12)))]
    key = data.draw(st.sampled_from([None, "conn", "squid", "nope"]))
    c = duckdb.connect()

    def stage(structure: str) -> str:
        return (
            "(SELECT i::INTEGER AS _row, 1::INTEGER AS _fk, i::BIGINT AS id, line, json_transform(line, "
            f"'{structure.replace(chr(39), chr(39) * 2)}') AS _s, 'p:' AS _uid_prefix, 'f' AS _src_file, "
            f"'{shape}' AS _src_format, ?::VARCHAR AS _default_key FROM (SELECT unnest(?) AS line, "
            "generate_subscripts(?, 1) AS i))"
        )

    full = c.execute(
        f"SELECT id, _keep, CASE WHEN _keep THEN NULL ELSE _reason END FROM ({cmap._inner(stage(cmap.structure))}) ORDER BY id",
        [key, lines, lines],
    ).fetchall()
    small = c.execute(
        f"SELECT * FROM ({cmap.decisions_sql(stage(cmap.keep_structure))}) ORDER BY _row", [key, lines, lines]
    ).fetchall()
    assert small == full
    assert len(cmap.keep_structure) <= len(cmap.structure)
