"""The PynamoDB base: table names and the endpoint come from settings when first used.

A model says `class Meta(TableMeta): table = "members"` and gets the table
`<TABLE_PREFIX>members` on the configured endpoint (DynamoDB Local, or AWS when unset).
"""
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


def transaction():
    """A TransactWrite on the configured endpoint: all its writes land together or none do."""
    from pynamodb.connection import Connection
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=Connection(region=settings.aws_region,
                                               host=settings.dynamodb_host))
