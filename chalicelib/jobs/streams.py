"""Every stream function of the app: one Lambda per streamed table, invoked by the table's
DynamoDB Stream with a batch of its changes (chalicelib/db/streams.py hands them to the
table's consumers, listed in chalicelib/wiring.py).

Each is declared with a stand-in ARN that names its table (Chalice wants one when the app is
imported, before the table exists); infra/ puts the table's stream in its place, with how
Lambda retries a batch that failed (below), and devtools/streams.py reads the table's stream
in DynamoDB Local the same way for `make run` and the tests."""
from chalice import Blueprint

from chalicelib.db.streams import declared_arn

bp = Blueprint(__name__)

# Delivery, as the event source mapping does it on AWS and devtools/streams.py locally: up to
# BATCH_SIZE records at once, as soon as they are written; a batch that fails is delivered
# again, at most RETRY_ATTEMPTS times and while its oldest record is younger than
# MAX_RECORD_AGE_S, halved each time (the one record at fault ends up alone), then left for
# the on-failure queue. Subscribers only write DynamoDB, so what fails is a fault of a few
# seconds; a batch still failing after that wants a person, whom the queue's alarm calls.
BATCH_SIZE = 100
RETRY_ATTEMPTS = 10
MAX_RECORD_AGE_S = 3600


@bp.on_dynamodb_record(declared_arn("orders"), batch_size=BATCH_SIZE,
                       starting_position="TRIM_HORIZON", name="orders-stream")
def orders_stream(event):
    from chalicelib.db import streams

    streams.handle("orders", event.to_dict())


# The retail figures read the orders stream through a function of their own, in batches of up
# to FIGURES_BATCH_SIZE gathered for up to FIGURES_WINDOW_S: what they write is per batch
# (chalicelib/figures/feed.py), so the fuller a batch the less an order costs; the dashboards
# lag the payments by at most the window, and the payment's own subscribers none of it.
FIGURES_BATCH_SIZE = 1000
FIGURES_WINDOW_S = 60


@bp.on_dynamodb_record(declared_arn("orders"), batch_size=FIGURES_BATCH_SIZE,
                       maximum_batching_window_in_seconds=FIGURES_WINDOW_S,
                       starting_position="TRIM_HORIZON", name="figures-stream")
def figures_stream(event):
    from chalicelib.db import streams

    streams.handle("orders", event.to_dict(), feed="figures")


@bp.on_dynamodb_record(declared_arn("store-stock"), batch_size=BATCH_SIZE,
                       starting_position="TRIM_HORIZON", name="store-stock-stream")
def store_stock_stream(event):
    from chalicelib.db import streams

    streams.handle("store-stock", event.to_dict())


@bp.on_dynamodb_record(declared_arn("stock-shards"), batch_size=BATCH_SIZE,
                       starting_position="TRIM_HORIZON", name="stock-shards-stream")
def stock_shards_stream(event):
    from chalicelib.db import streams

    streams.handle("stock-shards", event.to_dict())
