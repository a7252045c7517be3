"""Timestamps as the sandbox reports them."""
from datetime import datetime, timedelta, timezone

# China has had no daylight saving time since 1991, so a fixed offset is Asia/Shanghai.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def wechat_pay_time():
    """WeChat Pay's yyyyMMddHHmmss, in Beijing time."""
    return datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
