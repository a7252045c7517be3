"""The analysts' export (devtools/export.py), in the shape DynamoDB's export to S3 writes, read
back as an analyst reads it: with gzip and json, and with the README's DuckDB queries.

Each test has an orders and a figures table of its own (a table prefix of its own on the
suite's DynamoDB Local), so what an export holds is exactly what the test wrote."""
import base64
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
import zlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UTC = timezone.utc


def _at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (order id, store, status, total in fen, paid at UTC or None). Shanghai is UTC+8: o1 was paid
# on 12-01 at 01:30 there, o5 on 12-02 at 00:00.
ORDERS = [
    ("o1", "store-a", "PAID", 12_800, "2026-11-30T17:30:00"),
    ("o2", "store-a", "COMPLETED", 3_900, "2026-12-01T03:00:00"),
    ("o3", "store-a", "PENDING_PAYMENT", 5_000, None),
    ("o4", "store-b", "PAID", 1_500, "2026-12-01T15:59:00"),
    ("o5", "store-b", "PAID", 2_500, "2026-12-01T16:00:00"),
]
# (period, scope, counters): the stores' day counters as the figures keep them, and items a
# store's GMV by day must leave out (a month, a traffic shard, store × channel, the brand).
FIGURES = [
    ("2026-12-01", "s:store-a#", {"orders": 2, "gmv_fen": 16_700, "units": 3}),
    ("2026-12-01", "s:store-a#t3", {"store_visits": 9, "visitors": 4}),
    ("2026-12", "s:store-a#", {"orders": 2, "gmv_fen": 16_700}),
    ("2026-12-01", "sc:store-a:mall#", {"orders": 2, "gmv_fen": 16_700}),
    ("2026-12-01", "b#", {"orders": 3, "gmv_fen": 18_200}),
    ("2026-12-01", "s:store-b#", {"orders": 1, "gmv_fen": 1_500}),
    ("2026-12-02", "s:store-b#", {"orders": 1, "gmv_fen": 2_500}),
    ("2026-12-02", "s:store-c#", {"store_visits": 4}),   # visited, nothing sold: no gmv_fen
]


def _order(order_id, store_id, status, total_fen, paid_at):
    from chalicelib.orders.models import Order

    created = _at("2026-11-30T17:00:00")
    return Order(order_id, member_id=f"m-{order_id}", store_id=store_id, channel="mall",
                 fulfilment="pickup", stock_from=store_id, status=status,
                 breakdown={"lines": [{"name": "冻顶乌龙", "fen": total_fen}]},
                 total_fen=total_fen, created_at=created,
                 created_key=f"{created.isoformat()}#{order_id}",
                 store_day=f"{store_id}#2026-12-01#0", pay_by=created + timedelta(minutes=15),
                 paid_at=_at(paid_at) if paid_at else None,
                 awaiting_group=False if paid_at else None,
                 address={"city": "上海"} if store_id == "store-b" else None)


@pytest.fixture
def analyst_tables(local_services, monkeypatch):
    """The orders and figures tables of this test alone, holding ORDERS and FIGURES."""
    from chalicelib.figures.models import Figure
    from chalicelib.orders.models import Order

    monkeypatch.setenv("TABLE_PREFIX", f"yutang-export-{uuid.uuid4().hex[:8]}-")
    for model in (Order, Figure):
        model.create_table(wait=True)
    try:
        for row in ORDERS:
            _order(*row).save()
        for period, scope, counters in FIGURES:
            Figure(period, scope, **counters).save()
        yield {"orders": Order, "figures": Figure}
    finally:
        for model in (Order, Figure):
            model.delete_table()


def _stored(model):
    """Every item of the model's table as DynamoDB holds it (botocore's answer), by key."""
    from chalicelib.db.base import dynamodb_connection

    client = dynamodb_connection().client
    keys = [attribute.attr_name for attribute in (model._hash_key_attribute(),
                                                  model._range_key_attribute()) if attribute]
    items, request = {}, {"TableName": model.Meta.table_name, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items.update({tuple(item[key]["S"] for key in keys): item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return items, keys
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _as_exported(item):
    """An item as the export writes it: binary values base64."""
    return {name: {kind: base64.b64encode(value).decode() if isinstance(value, bytes) else value
                   for kind, value in typed.items()}
            for name, typed in item.items()}


def _lines(data_file):
    with gzip.open(data_file, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_every_item_is_exported_once_as_dynamodb_json_with_its_manifests(
        analyst_tables, tmp_path, monkeypatch):
    from devtools import export

    # Small pages and files, so that the export crosses Scan pages and data files.
    monkeypatch.setattr(export, "ITEMS_PER_FILE", 3)
    summaries = export.export_all(tmp_path, page_size=2)
    assert set(summaries) == {"orders", "figures"}
    for table, model in analyst_tables.items():
        summary = summaries[table]
        export_dir = Path(summary["exportDir"])
        export_id = export_dir.name
        # Where DynamoDB puts it under the bucket: <prefix>/AWSDynamoDB/<export id>/.
        assert export_dir.parent == tmp_path / table / "AWSDynamoDB"
        assert re.fullmatch(r"\d{14}-[0-9a-f]{8}", export_id), export_id
        assert json.loads((export_dir / "manifest-summary.json").read_text()) == \
            {key: value for key, value in summary.items() if key != "exportDir"}
        assert summary["outputFormat"] == "DYNAMODB_JSON"
        assert summary["exportType"] == "FULL_EXPORT" and summary["s3Prefix"] == table
        assert summary["exportArn"] == f"{summary['tableArn']}/export/{export_id}"
        assert summary["tableArn"].endswith(f":table/{model.Meta.table_name}")
        # manifest-files.json names every data file, with its count and checksum.
        listed = [json.loads(line) for line in
                  (export_dir / summary["manifestFilesS3Key"].rsplit("/", 1)[1])
                  .read_text().splitlines()]
        data_files = sorted((export_dir / "data").glob("*.json.gz"))
        assert sorted(entry["dataFileS3Key"] for entry in listed) == \
            [path.relative_to(tmp_path).as_posix() for path in data_files]
        assert len(data_files) > 1, "the test's small files are not exercised"
        lines = []
        for entry in listed:
            path = tmp_path / entry["dataFileS3Key"]
            in_file = _lines(path)
            assert entry["itemCount"] == len(in_file)
            assert entry["md5Checksum"] == base64.b64encode(
                hashlib.md5(path.read_bytes()).digest()).decode()
            lines += in_file
        assert summary["itemCount"] == len(lines) == sum(e["itemCount"] for e in listed)
        # Every item once, exactly as DynamoDB holds it.
        assert all(list(line) == ["Item"] for line in lines)
        stored, keys = _stored(model)
        assert len(stored) == len(ORDERS if table == "orders" else FIGURES)
        exported = {tuple(line["Item"][key]["S"] for key in keys): line["Item"]
                    for line in lines}
        assert len(exported) == len(lines), "an item was exported twice"
        assert exported == {key: _as_exported(item) for key, item in stored.items()}
    # What an analyst reads: types kept as DynamoDB's export writes them.
    orders = {line["Item"]["order_id"]["S"]: line["Item"]
              for path in sorted((Path(summaries["orders"]["exportDir"]) / "data").iterdir())
              for line in _lines(path)}
    first = orders["o1"]
    assert first["total_fen"] == {"N": "12800"} and first["store_id"] == {"S": "store-a"}
    assert first["paid_at"] == {"S": "2026-11-30T17:30:00.000000+0000"}
    assert first["awaiting_group"] == {"BOOL": False}
    assert json.loads(zlib.decompress(base64.b64decode(first["breakdown"]["B"]))) == \
        {"lines": [{"name": "冻顶乌龙", "fen": 12_800}]}
    assert json.loads(orders["o4"]["address"]["S"]) == {"city": "上海"}
    assert "paid_at" not in orders["o3"] and "refunded_fen" not in first   # absent, not null
    figures = {(line["Item"]["period"]["S"], line["Item"]["scope"]["S"]): line["Item"]
               for path in (Path(summaries["figures"]["exportDir"]) / "data").iterdir()
               for line in _lines(path)}
    assert figures[("2026-12-01", "s:store-a#")]["gmv_fen"] == {"N": "16700"}
    assert "gmv_fen" not in figures[("2026-12-02", "s:store-c#")]   # a counter at 0


def test_an_empty_table_exports_no_item_and_says_so(analyst_tables, tmp_path):
    from chalicelib.figures.models import Figure
    from devtools import export

    for period, scope, _ in FIGURES:
        Figure(period, scope).delete()
    summary = export.export_all(tmp_path, tables=["figures"])["figures"]
    assert summary["itemCount"] == 0
    (data_file,) = (Path(summary["exportDir"]) / "data").glob("*.json.gz")
    assert _lines(data_file) == []   # as DynamoDB writes an empty partition's file


def _readme_duckdb_queries(out):
    """The DuckDB queries of the README's "Export for analysts", reading `out` for exports/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Export for analysts", 1)[1].split("\n## ", 1)[0]
    queries = [query for query in re.findall(r"```sql\n(.*?)```", section, re.S)
               if "read_json(" in query]
    assert len(queries) == 2, "the README shows GMV from the figures and from the orders"
    assert all("'exports/" in query for query in queries)
    return [query.replace("'exports/", f"'{out}/") for query in queries]


def test_the_readme_queries_read_gmv_by_store_and_day_from_the_newest_export(
        analyst_tables, tmp_path):
    import duckdb

    from chalicelib.figures.models import Figure
    from devtools import export

    # The command as an analyst runs it, on this test's tables (DYNAMODB_HOST is the suite's).
    result = subprocess.run([sys.executable, "-m", "devtools.export", "--out", str(tmp_path)],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^orders: 5 items in .+/orders/AWSDynamoDB/\d{14}-[0-9a-f]{8}$",
                     result.stdout, re.M), result.stdout
    assert re.search(r"^figures: 8 items in ", result.stdout, re.M), result.stdout
    # A later day's export: another paid order of store-a, and its figures. The queries read
    # this one only (each export is the whole table: two would count everything twice).
    _order("o6", "store-a", "PAID", 1_000, "2026-12-01T05:00:00").save()
    Figure("2026-12-01", "s:store-a#", orders=3, gmv_fen=17_700, units=4).save()
    export.export_all(tmp_path)
    assert len(list((tmp_path / "orders" / "AWSDynamoDB").iterdir())) == 2
    from_figures, from_orders = (duckdb.sql(query).fetchall()
                                 for query in _readme_duckdb_queries(tmp_path))
    assert from_figures == [(date(2026, 12, 1), "store-a", 3, 17_700),
                            (date(2026, 12, 1), "store-b", 1, 1_500),
                            (date(2026, 12, 2), "store-b", 1, 2_500),
                            (date(2026, 12, 2), "store-c", 0, 0)]
    assert from_orders == [(date(2026, 12, 1), "store-a", 3, 17_700),
                           (date(2026, 12, 1), "store-b", 1, 1_500),
                           (date(2026, 12, 2), "store-b", 1, 2_500)]
    # The figures and the orders agree wherever something was sold.
    assert set(from_orders) <= set(from_figures)


def test_the_command_refuses_to_run_without_a_local_dynamodb(tmp_path):
    from devtools import processes

    env = {key: value for key, value in os.environ.items() if key != "DYNAMODB_HOST"}
    env["DYNAMODB_PORT"] = str(processes.free_port())   # nothing listens there
    result = subprocess.run([sys.executable, "-m", "devtools.export", "--out", str(tmp_path)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no DynamoDB Local on port" in result.stderr
    assert not (tmp_path / "orders").exists()
