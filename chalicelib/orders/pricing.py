"""The one pricing engine: a pure function of the lines, the member's level, the coupon, the
points the shopper wants to use, the channel, the fulfilment and the time. Preview, order,
flash sale, group-buy and live room all price through `price`, and an order keeps its answer
so refunds give back exactly what each line cost.

Order of the steps: unit price (the store's, or the channel's promotional price) → member
level price (mall channel only: promotional prices are already the deal) → coupon on the
goods → points on what is left → delivery fee. The shopper always pays at least 1 fen for
the goods (WeChat Pay takes no zero payment).
"""
from chalicelib.core.clock import utc_text

MEMBER_PRICE_CHANNELS = ("mall",)
DELIVERY_FEE_FEN, FREE_DELIVERY_FROM_FEN = 800, 9900
FULFILMENTS = ("pickup", "delivery", "cloud_shelf")


class PricingError(ValueError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def allocate(amount, weights):
    """Splits amount over the weights in proportion, in whole fen that add up exactly
    (largest remainders get the leftover fen, earlier lines first on ties)."""
    total = sum(weights)
    if not total:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    remainders = sorted(range(len(weights)),
                        key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[:amount - sum(shares)]:
        shares[i] += 1
    return shares


def coupon_refusal(terms, store_id, channel, goods_fen, now):
    """Why the coupon cannot be used on this order, or None."""
    if terms.get("store_id") and terms["store_id"] != store_id:
        return "This coupon is for another store."
    if channel not in terms["channels"]:
        return "This coupon is not for this kind of order."
    if not terms["valid_from"] <= utc_text(now) < terms["valid_until"]:
        return "This coupon is not valid now."
    if goods_fen < terms["threshold_fen"]:
        return f"This coupon needs goods of at least {terms['threshold_fen']} fen."
    return None


def coupon_discount(terms, goods_fen):
    if terms["kind"] == "fixed":
        discount = terms["amount_fen"]
    else:
        discount = goods_fen * terms["percent_off"] // 100
        if terms.get("cap_fen"):
            discount = min(discount, terms["cap_fen"])
    return min(discount, goods_fen - 1)


def member_price(price_fen, level):
    """The level's price: the discount in whole fen, rounded down (the shopper pays less than
    one fen more than the exact percentage)."""
    return price_fen - price_fen * level["discount_percent"] // 100


def points_payment(payable_fen, balance, program, wanted_points=None):
    """How many points pay part of an order, and the fen they cover: whole fen only, capped
    at the program's share of the order and at the balance (or what the shopper asks for)."""
    rate = program["points_per_yuan_deduction"]  # points per 100 fen
    cap_fen = payable_fen * program["max_points_payment_percent"] // 100
    usable = balance if wanted_points is None else min(balance, max(wanted_points, 0))
    fen_covered = min(cap_fen, usable * 100 // rate)
    points = -(-fen_covered * rate // 100)  # the points that exactly cover those fen, rounded up
    while points > usable:  # rounding up may ask one point too many
        fen_covered -= 1
        points = -(-fen_covered * rate // 100)
    return {"points": points, "fen": fen_covered}


def delivery_fee(fulfilment, goods_fen):
    if fulfilment == "pickup" or goods_fen >= FREE_DELIVERY_FROM_FEN:
        return 0
    return DELIVERY_FEE_FEN


def price(lines, *, level, program, store_id, channel, fulfilment, now, coupon=None,
          points_balance=0, wanted_points=0):
    """lines: [{"sku_id", "quantity", "unit_price_fen", …}]; coupon: {"member_coupon_id",
    "terms"} or None; wanted_points: how many points the shopper offers (0: none).

    Returns the breakdown; raises PricingError when the coupon cannot be used."""
    member_level = level if channel in MEMBER_PRICE_CHANNELS and level else None
    priced = []
    for line in lines:
        unit = line["unit_price_fen"]
        member_unit = member_price(unit, member_level) if member_level else unit
        priced.append({**line, "member_unit_price_fen": member_unit,
                       "goods_fen": member_unit * line["quantity"]})
    list_fen = sum(line["unit_price_fen"] * line["quantity"] for line in priced)
    goods_fen = sum(line["goods_fen"] for line in priced)

    discount = 0
    if coupon:
        refusal = coupon_refusal(coupon["terms"], store_id, channel, goods_fen, now)
        if refusal:
            raise PricingError("coupon_unusable", refusal)
        discount = coupon_discount(coupon["terms"], goods_fen)
    after_coupon = goods_fen - discount
    points = {"points": 0, "fen": 0}
    if wanted_points:
        points = points_payment(after_coupon - 1, points_balance, program, wanted_points)
    fee = delivery_fee(fulfilment, goods_fen)

    coupon_shares = allocate(discount, [line["goods_fen"] for line in priced])
    points_shares = allocate(points["fen"], [line["goods_fen"] - share
                                             for line, share in zip(priced, coupon_shares)])
    for line, coupon_share, points_share in zip(priced, coupon_shares, points_shares):
        line.update(coupon_discount_fen=coupon_share, points_fen=points_share,
                    payable_fen=line["goods_fen"] - coupon_share - points_share)
    return {
        "channel": channel,
        "fulfilment": fulfilment,
        "member_level": member_level["code"] if member_level else None,
        "lines": priced,
        "list_fen": list_fen,
        "member_discount_fen": list_fen - goods_fen,
        "goods_fen": goods_fen,
        "member_coupon_id": coupon["member_coupon_id"] if coupon else None,
        "coupon_id": coupon["terms"]["coupon_id"] if coupon else None,
        "coupon_discount_fen": discount,
        "points": points["points"],
        "points_fen": points["fen"],
        "delivery_fee_fen": fee,
        "total_fen": after_coupon - points["fen"] + fee,
    }
