"""The report's counters: per day and scope, moved by atomic ADDs, read a day at a time."""
from datetime import timedelta

from chalicelib.core.clock import report_days
from chalicelib.reactivation.models import DayFigures

BRAND = "brand"
MAX_REPORT_DAYS = 92
_NAMES = {"dormant": "dormant_found", "messaged": "contacted_by_message",
          "guided": "handed_to_guides", "coupons_used": "coupons_used",
          "reactivated": "reactivated", "gmv_fen": "gmv_fen"}


def scopes(store_id, guide_id):
    return [BRAND] + ([f"store#{store_id}"] if store_id else []) \
        + ([f"guide#{guide_id}"] if guide_id else [])


def add_in(writes, day, scope_list, **amounts):
    """Adds the amounts to the day's counters of each scope, inside a transaction (named
    figures#<scope>)."""
    for scope in scope_list:
        writes.update(DayFigures(day, scope), actions=[
            getattr(DayFigures, name).add(amount) for name, amount in amounts.items()],
            name=f"figures#{scope}")


def _empty():
    return {name: 0 for name in _NAMES.values()}


def _add(target, item):
    for attribute, name in _NAMES.items():
        target[name] += int(getattr(item, attribute) or 0)


def brand_totals(first, last):
    """The brand's figures over the days first..last (dates, any number of them): a BatchGet
    of each day's brand item, whatever the number of stores and guides."""
    totals = _empty()
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    for item in DayFigures.batch_get([(day, BRAND) for day in days]):
        _add(totals, item)
    return totals


def report(from_day, to_day):
    """Brand, store and guide figures over the days (contacts and their results on the
    contact's day): one Query per day, whatever the number of contacts."""
    first, last = report_days(from_day, to_day, MAX_REPORT_DAYS)
    brand, stores, guides = _empty(), {}, {}
    day = first
    while day <= last:
        for item in DayFigures.query(day.isoformat()):
            if item.scope == BRAND:
                target = brand
            elif item.scope.startswith("store#"):
                target = stores.setdefault(item.scope[len("store#"):], _empty())
            elif item.scope.startswith("guide#"):
                target = guides.setdefault(item.scope[len("guide#"):], _empty())
            else:
                continue  # the send cap's counter, the job's markers
            _add(target, item)
        day += timedelta(days=1)
    return {"from": from_day, "to": to_day, "brand": brand, "stores": stores, "guides": guides}


def dormant_found(days, store_id=None):
    """{day: members found dormant that day}, of the brand or one store (one BatchGet)."""
    scope = f"store#{store_id}" if store_id else BRAND
    return {item.day: int(item.dormant or 0)
            for item in DayFigures.batch_get([(day, scope) for day in days])}
