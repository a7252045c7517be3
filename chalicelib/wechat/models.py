from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.db.base import Model, TableMeta


class WeChatToken(Model):
    """A WeChat credential shared by every Lambda container (the access token above all), and
    the lease of the one container refreshing it (wechat/token_store.py)."""

    class Meta(TableMeta):
        table = "wechat-tokens"

    key = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute(null=True)  # none while the first token is being fetched
    expires_at = TTLAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # epoch seconds
    lease_holder = UnicodeAttribute(null=True)
