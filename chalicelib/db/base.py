"""The PynamoDB base: table names and the endpoint come from settings when first used, and
every model and transaction sends through the process's one DynamoDB client.

A model is a `chalicelib.db.base.Model` and says `class Meta(TableMeta): table = "members"`:
it gets the table `<TABLE_PREFIX>members` on the configured endpoint (DynamoDB Local, or AWS
when unset).
"""
import threading
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TableError
from pynamodb.models import Model as PynamoDBModel

from chalicelib import aws
from chalicelib.config import settings


class _LazyTableSettings(type):
    @property
    def table_name(cls):
        return settings.table_prefix + cls.table


class TableMeta(metaclass=_LazyTableSettings):
    table = None
    billing_mode = "PAY_PER_REQUEST"


class _OnTheProcessSession(Connection):
    """PynamoDB's connection, its client made from the process's botocore session."""

    @property
    def session(self):
        return aws.session()


def dynamodb_connection():
    """The connection to the configured endpoint, one per process: its one botocore client
    (thread-safe) serves every table. The endpoint is read each time, so a process pointed at
    another DynamoDB (a test's own DynamoDB Local) gets a connection to that one."""
    region, host = settings.aws_region, settings.dynamodb_host

    def make():
        connection = _OnTheProcessSession(region=region, host=host)
        connection.client  # made now, under aws's lock, not by whichever thread asks first
        return connection

    return aws.made_once(("dynamodb", region, host), make)


_attaching = threading.Lock()


class Model(PynamoDBModel):
    """A PynamoDB model on the process's DynamoDB connection. (PynamoDB's own makes a botocore
    session and client for each model it touches: nine on a first order.)"""

    def serialize(self, null_check=True):
        """The item as written: a CountAttribute at 0 is left out (it reads 0 again)."""
        values = super().serialize(null_check=null_check)
        for name, attr_name in _counts_of(type(self)):
            if getattr(self, name) == 0:
                values.pop(attr_name, None)
        return values

    @classmethod
    def _get_connection(cls):
        connection = dynamodb_connection()
        table = cls._connection
        if table is not None and table.connection is connection \
                and table.table_name == cls.Meta.table_name:
            return table
        with _attaching:
            # PynamoDB's table connection, which knows the table's keys and indexes, moved
            # onto the shared connection (the one it made has no client yet, and gets none).
            cls._connection = None
            table = super()._get_connection()
            try:
                connection.get_meta_table(table.table_name)
            except TableError:
                connection.add_meta_table(table.get_meta_table())
            table.connection = connection
            return table


@lru_cache(maxsize=None)
def _counts_of(model):
    """(attribute name, stored name) of the model's CountAttributes, found once."""
    from chalicelib.db.attributes import CountAttribute

    return tuple((name, attribute.attr_name) for name, attribute
                 in model.get_attributes().items() if isinstance(attribute, CountAttribute))


_SENT_ORDER = ("condition_check", "delete", "save", "update")
CHECK_FAILED, CONFLICT = "ConditionalCheckFailed", "TransactionConflict"
# A lone write's error as the cancellation reason a transaction of it would have given.
_ALONE_REASONS = {"ConditionalCheckFailedException": CHECK_FAILED,
                  "TransactionConflictException": CONFLICT}
# A transaction refused whole for being busy, without reasons per item: tried again like a
# lost race. (An InternalServerError is a failure: what it interrupted is retried later.)
_BUSY = ("TransactionInProgressException", "ThrottlingException",
         "ProvisionedThroughputExceededException", "RequestLimitExceeded")


def transaction():
    """A TransactWrite on the configured endpoint: all its writes land together or none do.

    Whoever adds an item names it (`writes.save(order, condition=..., name="order")`), and a
    cancelled transaction is read by those names (`Cancellation.of(error)`), never by position:
    a module that adds an item changes nothing for the others. Names are unique within one
    transaction ("stock#<sku id>" for one item per line)."""
    return _named_transact_write()(connection=dynamodb_connection())


@lru_cache(maxsize=1)
def _named_transact_write():
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    class NamedTransactWrite(TransactWrite):
        """PynamoDB sends the items grouped by kind (checks, deletes, puts, updates), not in
        the order they were added; the names are kept in the order sent, so each reason of a
        cancellation is put back on its item's name (and the names in the order added)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._names = {kind: [] for kind in _SENT_ORDER}
            self._added = []

        def _named(self, kind, name):
            if not name:
                raise TypeError(f"a transaction's {kind} item needs a name")
            if any(name in names for names in self._names.values()):
                raise ValueError(f"two items of one transaction are named {name!r}")
            self._names[kind].append(name)
            self._added.append(name)

        def condition_check(self, *args, name, **kwargs):
            self._named("condition_check", name)
            return super().condition_check(*args, **kwargs)

        def delete(self, *args, name, **kwargs):
            self._named("delete", name)
            return super().delete(*args, **kwargs)

        def save(self, *args, name, **kwargs):
            self._named("save", name)
            return super().save(*args, **kwargs)

        def update(self, *args, name, **kwargs):
            self._named("update", name)
            return super().update(*args, **kwargs)

        def _commit(self):
            if len(self._added) == 1 and not self._names["condition_check"]:
                return self._commit_alone()
            try:
                return super()._commit()
            except TransactWriteError as error:
                sent = [name for kind in _SENT_ORDER for name in self._names[kind]]
                reason_of = dict(zip(sent, error.cancellation_reasons or []))
                error.cancelled_items = {name: getattr(reason_of[name], "code", None)
                                         for name in self._added if name in reason_of}
                raise

        def _commit_alone(self):
            """A transaction of one item is sent as that one conditional write: the same
            all-or-nothing, at half the write units. Its failure reads as a cancellation."""
            from botocore.exceptions import ClientError

            (kind, operation, items), = [
                entry for entry in (("delete", "DeleteItem", self._delete_items),
                                    ("save", "PutItem", self._put_items),
                                    ("update", "UpdateItem", self._update_items)) if entry[2]]
            request = {name: value for name, value in items[0].items()
                       if name != "ReturnValuesOnConditionCheckFailure"}
            try:
                response = self._connection.dispatch(operation, request)
            except ClientError as cause:
                error = TransactWriteError(f"Failed to write the transaction's one item "
                                           f"({operation})", cause)
                code = error.cause_response_code
                error.cancelled_items = {self._added[0]: _ALONE_REASONS.get(code)}
                raise error from None
            for model in self._models_for_version_attribute_update:
                model.update_local_version_attribute()
            return response

    return NamedTransactWrite


class Cancellation:
    """Why a transaction was cancelled, item by item name: `failed(name)` when that item's
    condition did not hold, `conflict` when it lost a race with another write or DynamoDB was
    busy (try again)."""

    def __init__(self, codes, busy=False):
        self.codes = codes  # {item name: code or None}, in the order added
        self.busy = busy  # refused whole, with no reasons: DynamoDB busy, try again

    @classmethod
    def of(cls, error):
        return cls(getattr(error, "cancelled_items", None) or {},
                   getattr(error, "cause_response_code", None) in _BUSY)

    def failed(self, name):
        return self.codes.get(name) == CHECK_FAILED

    def failed_among(self, prefix):
        """The names starting with prefix whose condition did not hold."""
        return [name for name, code in self.codes.items()
                if name.startswith(prefix) and code == CHECK_FAILED]

    @property
    def any_failed(self):
        return CHECK_FAILED in self.codes.values()

    @property
    def conflict(self):
        """Lost a race with another write, or DynamoDB was busy: try again as it was."""
        return CONFLICT in self.codes.values() or self.busy

    @property
    def lost_race(self):
        """A condition failed, a race was lost or DynamoDB was busy: something to read again
        and try, not a fault."""
        return self.any_failed or self.conflict or self.busy


def unchanged(attribute, value_read):
    """A condition that holds only if a counter still has the value read (a counter read as
    0 may also not exist yet on items written before it was added)."""
    if value_read:
        return attribute == value_read
    return attribute.does_not_exist() | (attribute == 0)
