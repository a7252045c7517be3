"""`python -m devtools.export [--out DIR]`: the analysts' daily export of the orders and the
figures (chalicelib.tables.ANALYST_EXPORTS), made here from DynamoDB Local, in the layout and
format DynamoDB's export to S3 writes on AWS (infra/yutang_infra/exports.py), so that a query
written against one reads the other:

    DIR/<table>/AWSDynamoDB/<export id>/data/<name>.json.gz    {"Item": {...}} a line
    DIR/<table>/AWSDynamoDB/<export id>/manifest-files.json    a line per data file
    DIR/<table>/AWSDynamoDB/<export id>/manifest-summary.json  itemCount, exportTime, ...

DIR (exports/ by default) stands for the brand's exports bucket: `aws s3 sync
s3://<bucket>/ exports/` puts AWS's exports beside local ones. Each item is DynamoDB JSON as
the export writes it: every attribute typed ({"S": "..."}, numbers as {"N": "12800"}, binary
as base64 {"B": "..."}). The summary is written last: an export without one did not finish.

It reads DynamoDB Local only (DYNAMODB_HOST, else a running `make run`'s), never a deployed
brand's tables. It Scans each table, page by page: the app itself never Scans (no role may),
and this is neither a request path nor a job: it stands in for AWS's export, which reads the
table's point-in-time recovery instead and costs the table nothing. Unlike that export, a
Scan is not one point in time: an item written while it runs may be in its old or new state.
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path

from devtools import processes

DEFAULT_OUT = Path("exports")
OUTPUT_FORMAT = "DYNAMODB_JSON"
MANIFEST_VERSION = "2020-06-30"
# DynamoDB writes a data file per partition of the table (an empty one for an empty
# partition); here, a file per this many items, and one empty file for an empty table.
ITEMS_PER_FILE = 50_000


def _timestamp(moment):
    """As the manifests write times: 2026-12-01T18:00:00.123Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def new_export_id(moment):
    """An id like DynamoDB's: the start in milliseconds, 14 digits, and 8 hex digits."""
    return f"{int(moment.timestamp() * 1000):014d}-{secrets.token_hex(4)}"


def as_export_json(value):
    """An attribute value of botocore's answer as the export writes it: binary as base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: as_export_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [as_export_json(inner) for inner in value]
    return value


class _DataFiles:
    """The export's data files, each gzipped JSON lines, a new one every ITEMS_PER_FILE."""

    def __init__(self, out, export_dir):
        self.out, self.data_dir = out, export_dir / "data"
        self.data_dir.mkdir(parents=True)
        self.written = []   # manifest-files.json's lines
        self._open()

    def _open(self):
        self._path = self.data_dir / f"{secrets.token_hex(13)}.json.gz"
        self._file = gzip.open(self._path, "wt", encoding="utf-8")
        self._count = 0

    def write(self, item):
        if self._file is None:
            self._open()
        self._file.write(json.dumps({"Item": as_export_json(item)}, ensure_ascii=False,
                                    separators=(",", ":")) + "\n")
        self._count += 1
        if self._count == ITEMS_PER_FILE:
            self._close()

    def _close(self):
        if self._file is None:
            return
        self._file.close()
        digest = hashlib.md5(self._path.read_bytes())
        self.written.append({"itemCount": self._count,
                             "md5Checksum": base64.b64encode(digest.digest()).decode("ascii"),
                             "etag": digest.hexdigest(),
                             "dataFileS3Key": self._path.relative_to(self.out).as_posix()})
        self._file = None

    def close(self):
        self._close()
        return self.written


def export_table(client, model, out, now=None, page_size=None):
    """Writes one export of the model's table under `out`; returns its summary (as written to
    manifest-summary.json, plus `exportDir`). `page_size` caps the items a Scan page holds
    (DynamoDB's own cap is 1 MB)."""
    out = Path(out)
    started = now or datetime.now(timezone.utc)
    table_name, prefix = model.Meta.table_name, model.Meta.table
    described = client.describe_table(TableName=table_name)["Table"]
    export_id = new_export_id(started)
    export_dir = out / prefix / "AWSDynamoDB" / export_id
    files = _DataFiles(out, export_dir)
    (export_dir / "_started").touch()
    request = {"TableName": table_name, **({"Limit": page_size} if page_size else {})}
    item_count = 0
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            files.write(item)
            item_count += 1
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    written = files.close()
    manifest_files = export_dir / "manifest-files.json"
    manifest_files.write_text("".join(json.dumps(line) + "\n" for line in written),
                              encoding="utf-8")
    table_arn = described.get("TableArn", f"arn:aws:dynamodb:ddblocal:000000000000:"
                                          f"table/{table_name}")
    summary = {
        "version": MANIFEST_VERSION,
        "exportArn": f"{table_arn}/export/{export_id}",
        "startTime": _timestamp(started),
        "endTime": _timestamp(datetime.now(timezone.utc)),
        "tableArn": table_arn,
        "tableId": described.get("TableId"),
        "exportTime": _timestamp(started),
        "s3Bucket": None,   # the local folder stands for the bucket
        "s3Prefix": prefix,
        "s3SseAlgorithm": None,
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": manifest_files.relative_to(out).as_posix(),
        "billedSizeBytes": 0,
        "itemCount": item_count,
        "outputFormat": OUTPUT_FORMAT,
        "exportType": "FULL_EXPORT",
    }
    (export_dir / "manifest-summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                                      encoding="utf-8")
    return {**summary, "exportDir": str(export_dir)}


def export_all(out, tables=None, page_size=None):
    """One export of each analysts' table, on the configured (local) DynamoDB: {table:
    summary}."""
    from chalicelib.db.base import dynamodb_connection
    from chalicelib.tables import ANALYST_EXPORTS, all_models

    models = {model.Meta.table: model for model in all_models()}
    client = dynamodb_connection().client
    now = datetime.now(timezone.utc)
    return {table: export_table(client, models[table], out, now, page_size)
            for table in (tables or ANALYST_EXPORTS)}


def _to_local_dynamodb():
    """DYNAMODB_HOST as set, else a running `make run`'s DynamoDB Local; raises RuntimeError
    when there is neither."""
    if os.environ.get("DYNAMODB_HOST"):
        return
    port, what, variable = processes.run_ports()["dynamodb"]
    if not processes.is_listening(port):
        raise RuntimeError(f"no DynamoDB Local on port {port} ({variable}): start `make run` "
                           f"first, in another terminal, or set DYNAMODB_HOST")
    os.environ.update({"DYNAMODB_HOST": f"http://127.0.0.1:{port}",
                       "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                       "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION",
                                                            "cn-north-1")})


def main(argv):
    parser = argparse.ArgumentParser(
        prog="python -m devtools.export",
        description="Export the local orders and figures tables as DynamoDB's export to S3 "
                    "does (gzipped DynamoDB JSON lines and its manifests).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the folder standing for the exports bucket (default: exports/)")
    arguments = parser.parse_args(argv)
    try:
        _to_local_dynamodb()
    except RuntimeError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    for table, summary in export_all(arguments.out).items():
        print(f"{table}: {summary['itemCount']:,} items in {summary['exportDir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
