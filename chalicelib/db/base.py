"""The PynamoDB base: table names and the endpoint come from settings when first used.

A model says `class Meta(TableMeta): table = "members"` and gets the table
`<TABLE_PREFIX>members` on the configured endpoint (DynamoDB Local, or AWS when unset).
"""
from functools import lru_cache

from chalicelib.config import settings


class _LazyTableSettings(type):
    @property
    def table_name(cls):
        return settings.table_prefix + cls.table

    @property
    def host(cls):
        return settings.dynamodb_host

    @property
    def region(cls):
        return settings.aws_region


class TableMeta(metaclass=_LazyTableSettings):
    table = None
    billing_mode = "PAY_PER_REQUEST"


@lru_cache(maxsize=4)
def _connection(region, host):
    """One per container: creating a botocore client costs about 0.2 s."""
    from pynamodb.connection import Connection

    return Connection(region=region, host=host)


_SENT_ORDER = ("condition_check", "delete", "save", "update")


def transaction():
    """A TransactWrite on the configured endpoint: all its writes land together or none do.

    PynamoDB sends a transaction's items grouped by kind (checks, deletes, puts, updates),
    not in the order they were added; on a cancellation the reasons are put back in the
    order the items were added, so callers can read them by position."""
    return _in_order_transact_write()(
        connection=_connection(settings.aws_region, settings.dynamodb_host))


@lru_cache(maxsize=1)
def _in_order_transact_write():
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    class InOrderTransactWrite(TransactWrite):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._kinds = []

        def condition_check(self, *args, **kwargs):
            self._kinds.append("condition_check")
            return super().condition_check(*args, **kwargs)

        def delete(self, *args, **kwargs):
            self._kinds.append("delete")
            return super().delete(*args, **kwargs)

        def save(self, *args, **kwargs):
            self._kinds.append("save")
            return super().save(*args, **kwargs)

        def update(self, *args, **kwargs):
            self._kinds.append("update")
            return super().update(*args, **kwargs)

        def _commit(self):
            try:
                return super()._commit()
            except TransactWriteError as error:
                sent = error.cancellation_reasons
                if len(sent) == len(self._kinds):
                    error.cause.cancellation_reasons = _in_added_order(sent, self._kinds)
                raise

    return InOrderTransactWrite


def _in_added_order(sent_reasons, kinds):
    sent_positions = sorted(range(len(kinds)), key=lambda i: (_SENT_ORDER.index(kinds[i]), i))
    reasons = [None] * len(kinds)
    for sent_index, added_index in enumerate(sent_positions):
        reasons[added_index] = sent_reasons[sent_index]
    return reasons


def cancellation_codes(error):
    """Why each item of a cancelled transaction failed, in the order the items were added."""
    return [reason.code if reason else None for reason in error.cancellation_reasons]


def unchanged(attribute, value_read):
    """A condition that holds only if a counter still has the value read (a counter read as
    0 may also not exist yet on items written before it was added)."""
    if value_read:
        return attribute == value_read
    return attribute.does_not_exist() | (attribute == 0)
