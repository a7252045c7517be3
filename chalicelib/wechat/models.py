from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.db.base import TableMeta


class WeChatToken(Model):
    """A WeChat credential shared by every Lambda container (the access token above all)."""

    class Meta(TableMeta):
        table = "wechat-tokens"

    key = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)
