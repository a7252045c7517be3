"""Timestamps as the sandbox reports them."""
from datetime import datetime, timedelta, timezone

# China has had no daylight saving time since 1991, so a fixed offset is Asia/Shanghai.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
PAY_TIME_FORMAT = "%Y%m%d%H%M%S"


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def now_shanghai():
    return datetime.now(SHANGHAI)


def wechat_pay_time(moment=None):
    """WeChat Pay's yyyyMMddHHmmss, in Beijing time: now, or `moment`."""
    return (moment or now_shanghai()).astimezone(SHANGHAI).strftime(PAY_TIME_FORMAT)


def parse_wechat_pay_time(text):
    return datetime.strptime(text, PAY_TIME_FORMAT).replace(tzinfo=SHANGHAI)


def wechat_refund_time():
    """The yyyy-MM-dd HH:mm:ss of a refund's success time, in Beijing time."""
    return now_shanghai().strftime("%Y-%m-%d %H:%M:%S")
