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


def transaction():
    """A TransactWrite on the configured endpoint: all its writes land together or none do."""
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=_connection(settings.aws_region, settings.dynamodb_host))


def cancellation_codes(error):
    """Why each item of a cancelled transaction failed, in the order the items were added."""
    return [reason.code if reason else None for reason in error.cancellation_reasons]


def unchanged(attribute, value_read):
    """A condition that holds only if a counter still has the value read (a counter read as
    0 may also not exist yet on items written before it was added)."""
    if value_read:
        return attribute == value_read
    return attribute.does_not_exist() | (attribute == 0)
