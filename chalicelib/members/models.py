from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.db.base import TableMeta


class Member(Model):
    """One person in the brand's pond, however many ways they sign in."""

    class Meta(TableMeta):
        table = "members"

    member_id = UnicodeAttribute(hash_key=True)
    openid = UnicodeAttribute(null=True)
    unionid = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    nickname = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class WeChatIdentity(Model):
    """openid -> member. Created once per openid (conditionally), so one openid is one member.

    The WeChat session_key lives here, on the server only.
    """

    class Meta(TableMeta):
        table = "wechat-identities"

    openid = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    unionid = UnicodeAttribute(null=True)
    session_key = UnicodeAttribute()
    last_login_at = UTCDateTimeAttribute()
