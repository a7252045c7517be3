"""The app's stream functions, fed from DynamoDB Local's streams as Lambda feeds them on AWS.

`python -m devtools.streams` lists them (each `@on_dynamodb_record` of the app, and the table
whose stream it reads); `python -m devtools.streams --serve` is the poller `make run` starts
after the scheduler: for each streamed table it reads the table's stream (DescribeTable for
the stream, DescribeStream for its shards, GetShardIterator, GetRecords, through a
`dynamodbstreams` client on DynamoDB Local's endpoint), and invokes the function through the
app's handler with the records as a Lambda DynamoDB-stream event, a batch at a time, as soon
as they are written. It follows new shards (a shard's children once it has ended), and logs
one `stream_batch` line per batch (table, records, seconds, ok).

As the event source mapping does (chalicelib/jobs/streams.py says how): a batch that fails is
delivered again after a backoff, halved each time, at most RETRY_ATTEMPTS times, and then
left behind (`stream_batch_dropped`, with its sequence numbers: the on-failure queue's
message on AWS); records older than MAX_RECORD_AGE_S are not delivered. It starts at the
oldest record each stream still holds (24 hours, as on AWS), so a change written while
`make run` was stopped is delivered when it starts again (the consumers are idempotent).

`drain(app)` delivers, at once and in the caller's thread, every record written since the
last drain, through the same handler: the tests make consumers instant with it (after each
request the app serves, tests/conftest.py), and the benchmarks count what they cost. A batch
that fails there is left where it was, and the next drain delivers it again.
`drain_if_written(app)` reads the streams only when the process has written to DynamoDB since
the last drain (or a batch was left to deliver again): most requests write nothing.
"""
import argparse
import base64
import os
import sys
import threading
import time
import uuid
from datetime import datetime

from chalice.app import DynamoDBEventConfig

POLL_S = 0.5  # how often an idle stream is read again (Lambda reads each shard 4 times a second)
BACKOFF_S, MAX_BACKOFF_S = 0.5, 30  # before a failed batch is delivered again
STOP_GRACE_S = 3
TRIM_HORIZON, AFTER_SEQUENCE_NUMBER = "TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER"


def stream_functions(app):
    """{function name: the table (Meta.table) whose stream it reads}, in the app's order."""
    from chalicelib.db.streams import table_of

    return {source.name: table_of(source.stream_arn) for source in app.event_sources
            if isinstance(source, DynamoDBEventConfig)}


def _delivery():
    from chalicelib.jobs import streams

    return streams.BATCH_SIZE, streams.RETRY_ATTEMPTS, streams.MAX_RECORD_AGE_S


_clients_lock = threading.Lock()
_clients_made = {}


def _clients():
    """(dynamodb, dynamodbstreams) botocore clients on the configured endpoint, made once."""
    from chalicelib.config import settings

    key = (settings.dynamodb_host, settings.aws_region)
    with _clients_lock:
        if key not in _clients_made:
            import botocore.session

            session = botocore.session.get_session()
            _clients_made[key] = tuple(
                session.create_client(service, region_name=settings.aws_region,
                                      endpoint_url=settings.dynamodb_host)
                for service in ("dynamodb", "dynamodbstreams"))
        return _clients_made[key]


class _Shard:
    def __init__(self, shard_id, parent_id):
        self.shard_id = shard_id
        self.parent_id = parent_id
        self.iterator = None  # where the next read starts: after the last record delivered
        self.after = None  # the sequence number of the last record delivered (or left behind)
        self.ended = False  # read to its end, and closed: its children come next
        self.failures = 0  # deliveries of the batch at this position that failed


class StreamReader:
    """One streamed table's stream in DynamoDB Local, read on from where it was left: each
    shard's position moves past a batch once it is delivered (or given up)."""

    def __init__(self, table, function_name):
        from chalicelib.config import settings

        self.table = table
        self.function_name = function_name
        self.table_name = settings.table_prefix + table
        self.dynamodb, self.streams = _clients()
        self.stream_arn = None
        self.shards = {}
        self._shards_changed = True

    def _find_stream(self):
        described = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        if not described.get("LatestStreamArn"):
            raise RuntimeError(f"{self.table_name} has no stream: create_missing_tables() "
                               f"turns on the one its model declares")
        self.stream_arn = described["LatestStreamArn"]

    def _follow_shards(self):
        if self.stream_arn is None:
            self._find_stream()
        start = {}
        while True:
            described = self.streams.describe_stream(StreamArn=self.stream_arn,
                                                     **start)["StreamDescription"]
            for shard in described["Shards"]:
                if shard["ShardId"] not in self.shards:
                    self.shards[shard["ShardId"]] = _Shard(shard["ShardId"],
                                                           shard.get("ParentShardId"))
            if not described.get("LastEvaluatedShardId"):
                break
            start = {"ExclusiveStartShardId": described["LastEvaluatedShardId"]}
        self._shards_changed = False

    def _readable(self, skip):
        """Shards to read, each after its parent has ended (the order of an item's writes)."""
        return [shard for shard in self.shards.values()
                if not shard.ended and shard.shard_id not in skip
                and (shard.parent_id not in self.shards or self.shards[shard.parent_id].ended)]

    def _new_iterator(self, shard):
        where = {"ShardIteratorType": AFTER_SEQUENCE_NUMBER, "SequenceNumber": shard.after} \
            if shard.after else {"ShardIteratorType": TRIM_HORIZON}
        return self.streams.get_shard_iterator(StreamArn=self.stream_arn,
                                               ShardId=shard.shard_id, **where)["ShardIterator"]

    def _read(self, shard, limit):
        """(records, the iterator after them: None once a closed shard is read to its end)."""
        for _ in range(2):
            if shard.iterator is None:
                shard.iterator = self._new_iterator(shard)
            try:
                answer = self.streams.get_records(ShardIterator=shard.iterator, Limit=limit)
            except self.streams.exceptions.ExpiredIteratorException:
                shard.iterator = None  # a new one from the last sequence number delivered
                continue
            except self.streams.exceptions.TrimmedDataAccessException:
                shard.iterator, shard.after = None, None  # what followed it is gone too
                continue
            return answer["Records"], answer.get("NextShardIterator")
        raise RuntimeError(f"{self.table_name}: no usable iterator for shard {shard.shard_id}")

    def next_batch(self, limit, skip=()):
        """The next batch to deliver, as (shard, records, the iterator after them), or None
        when every shard is read to its end for now. `skip`: shards not to read this time."""
        while True:
            if self._shards_changed:
                self._follow_shards()
            for shard in self._readable(skip):
                records, after_them = self._read(shard, limit)
                if records:
                    return shard, records, after_them
                if after_them is None:
                    shard.ended = self._shards_changed = True  # its children are listed now
                else:
                    shard.iterator = after_them
            if not self._shards_changed:
                return None

    def move_past(self, shard, records, after_them):
        shard.after = records[-1]["dynamodb"]["SequenceNumber"]
        shard.iterator = after_them
        shard.failures = 0
        if after_them is None:
            shard.ended = self._shards_changed = True

    def lambda_event(self, records):
        """The event Lambda hands the table's stream function for these records."""
        return {"Records": [_lambda_record(record, self.stream_arn) for record in records]}


def _jsonable(value):
    """A stream record's value as Lambda's JSON event has it: binary as base64, times as
    seconds since the epoch."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def _lambda_record(record, stream_arn):
    return {"eventID": record.get("eventID", uuid.uuid4().hex),
            "eventName": record["eventName"], "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": record.get("awsRegion") or os.environ.get("AWS_DEFAULT_REGION", ""),
            "dynamodb": _jsonable(record["dynamodb"]), "eventSourceARN": stream_arn}


def _age_s(records):
    oldest = records[0]["dynamodb"].get("ApproximateCreationDateTime")
    if oldest is None:
        return 0
    if isinstance(oldest, datetime):
        oldest = oldest.timestamp()
    return time.time() - oldest


def _deliver(app, reader, records):
    """Invokes the table's stream function with the records, as Lambda does, and logs one line.
    True if it returned, False if it raised."""
    from chalice.local import LambdaContext

    from chalicelib.core import logs

    bound = logs.bind_request(uuid.uuid4().hex)
    started = time.monotonic()
    fields = {"table": reader.table, "function": reader.function_name, "records": len(records)}
    try:
        app.handler_map[reader.function_name](
            reader.lambda_event(records),
            LambdaContext(reader.function_name, memory_size=512, max_runtime_ms=900_000))
    except Exception as error:
        logs.warning("stream_batch", **fields, seconds=round(time.monotonic() - started, 3),
                     ok=False, error=f"{type(error).__name__}: {error}"[:300])
        return False
    else:
        logs.info("stream_batch", **fields, seconds=round(time.monotonic() - started, 3),
                  ok=True)
        return True
    finally:
        logs.unbind_request(bound)


def _drop(reader, records, why, attempts=0):
    from chalicelib.core import logs

    logs.warning("stream_batch_dropped", table=reader.table, function=reader.function_name,
                 records=len(records), reason=why, attempts=attempts,
                 sequences=[records[0]["dynamodb"]["SequenceNumber"],
                            records[-1]["dynamodb"]["SequenceNumber"]])


def _too_old(records):
    return _age_s(records) > _delivery()[2]


# -- drain: now, in this thread -----------------------------------------------------------

_draining = threading.Lock()
_readers = {}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
           "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
_written = threading.Event()  # set once a write has answered (its stream record exists)


def watch_writes():
    """Notes each DynamoDB write the process's clients make from now on, for drain_if_written
    (clients made before this call are not watched: call it before the first request)."""
    from chalicelib import aws

    aws.session().register("after-call.dynamodb", _note_write, unique_id="yutang-writes")


def _note_write(model, **_):
    if model.name in _WRITES:
        _written.set()


def drain_if_written(app=None):
    """drain(app), if anything was written since the last drain or a batch waits to be
    delivered again; else 0, without a read."""
    return drain(app) if _written.is_set() else 0


def _reader(table, function_name):
    from chalicelib.config import settings

    key = (settings.dynamodb_host, settings.table_prefix + table, function_name)
    if key not in _readers:
        _readers[key] = StreamReader(table, function_name)
    return _readers[key]


def _the_app():
    import app

    return app.app


def drain(app=None, skip=()):
    """Delivers every record written to the streamed tables since the last drain, now, through
    the app's stream functions (but those named in `skip`: they read it at the next drain). A
    batch that fails stays where it is: the next drain delivers it again (and after
    RETRY_ATTEMPTS, moves past it, as Lambda does). One drain at a time in the process;
    returns how many records were delivered."""
    app = app or _the_app()
    batch_size, retry_attempts, _ = _delivery()
    delivered = 0
    with _draining:
        if not skip:
            _written.clear()  # a write answered from now on is drained again
        for function_name, table in stream_functions(app).items():
            if function_name in skip:
                continue
            reader, failing = _reader(table, function_name), set()
            while (batch := reader.next_batch(batch_size, skip=failing)) is not None:
                shard, records, after_them = batch
                if _too_old(records):
                    _drop(reader, records, "older than the maximum record age")
                    reader.move_past(*batch)
                elif _deliver(app, reader, records):
                    delivered += len(records)
                    reader.move_past(*batch)
                elif shard.failures >= retry_attempts:
                    _drop(reader, records, "failed on every attempt", shard.failures + 1)
                    reader.move_past(*batch)
                else:
                    shard.failures += 1
                    shard.iterator = None  # read again from the last record delivered
                    failing.add(shard.shard_id)
                    _written.set()  # for the next drain_if_written
    return delivered


def start_from_now(app=None):
    """Moves every stream's position past what it holds, delivering nothing: the next drain
    delivers only what is written from now on (a test run on services an earlier run used)."""
    app = app or _the_app()
    batch_size = _delivery()[0]
    with _draining:
        for function_name, table in stream_functions(app).items():
            reader = _reader(table, function_name)
            while (batch := reader.next_batch(batch_size)) is not None:
                reader.move_past(*batch)


# -- serve: as the event source mapping, for `make run` ----------------------------------


def _settle(app, reader, records, stopping, attempt=0):
    """Delivers the records; a batch that fails is halved (as BisectBatchOnFunctionError has
    it) and each half delivered again after a backoff, until RETRY_ATTEMPTS, then dropped.
    False if stopped before it was settled."""
    retry_attempts = _delivery()[1]
    if _too_old(records):
        _drop(reader, records, "older than the maximum record age", attempt)
        return True
    if _deliver(app, reader, records):
        return True
    if attempt >= retry_attempts:
        _drop(reader, records, "failed on every attempt", attempt + 1)
        return True
    if stopping.wait(min(BACKOFF_S * 2 ** attempt, MAX_BACKOFF_S)):
        return False
    halves = [records[:len(records) // 2], records[len(records) // 2:]] \
        if len(records) > 1 else [records]
    return all(_settle(app, reader, half, stopping, attempt + 1) for half in halves)


def _keep_delivering(app, function_name, table, stopping):
    """One stream function's loop: read what is new, deliver it, and again."""
    from chalicelib.core import logs

    batch_size = _delivery()[0]
    reader = StreamReader(table, function_name)
    while not stopping.is_set():
        try:
            batch = reader.next_batch(batch_size)
        except Exception:  # DynamoDB Local busy or restarting: read again shortly
            logs.exception("stream_read_failed", table=table, function=function_name)
            batch = None
        if batch is None:
            stopping.wait(POLL_S)
            continue
        if not _settle(app, reader, batch[1], stopping):
            return
        reader.move_past(*batch)


def serve(app, stopping):
    """Delivers every stream function's table's changes until `stopping` is set, each
    function in its own thread (each is its own event source mapping on AWS)."""
    threads = [threading.Thread(target=_keep_delivering,
                                args=(app, function_name, table, stopping),
                                name=f"stream {function_name}", daemon=True)
               for function_name, table in stream_functions(app).items()]
    for thread in threads:
        thread.start()
    return threads


def _listing(app):
    functions = stream_functions(app)
    if not functions:
        return "the app has no stream functions"
    width = max(len(name) for name in functions)
    return "\n".join(["stream functions (make run delivers each table's changes to them):",
                      *(f"{name:<{width}}  the {table} table's stream"
                        for name, table in functions.items())])


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m devtools.streams",
                                     description="List the app's stream functions, or feed "
                                                 "them from DynamoDB Local's streams.")
    parser.add_argument("--serve", action="store_true",
                        help="deliver each streamed table's changes until stopped (make run "
                             "does)")
    arguments = parser.parse_args(argv)
    from devtools import processes
    from devtools.jobs import load_app

    if arguments.serve:
        if not os.environ.get("DYNAMODB_HOST"):  # never a deployed brand's tables
            print("streams: --serve runs under `make run` (DYNAMODB_HOST is not set)",
                  file=sys.stderr)
            return 2
        return processes.serve_until_stopped(
            lambda stopping: serve(load_app(), stopping), STOP_GRACE_S)
    print(_listing(load_app()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
