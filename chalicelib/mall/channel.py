"""The mall channel: a store's catalog at its prices (and the member's level price), with a
coupon and points if the shopper uses them; picked up at the store, delivered by it, or sent
from the central warehouse (the cloud shelf). POST /checkout/preview prices it without
placing; POST /orders places it through the kernel (orders/placing.py).

Its takes: per line its stock, each on condition it stays at or above zero (a line short of
stock is refused). Its items in the order's transaction, when it has them: the coupon
("member_coupon"), the points that pay part of it (a race lost on them reads the member
again). A coupon used meanwhile is refused.
"""
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.orders import pricing
from chalicelib.orders.channels import Quote


def _lines(store_id, items, fulfilment, level):
    """Each requested SKU as sold in the store, and where its stock is taken from."""
    from chalicelib.catalog.products import offers
    from chalicelib.catalog.stores import CENTRAL_WAREHOUSE

    quantities = {}
    for item in items:
        quantities[item["sku_id"]] = quantities.get(item["sku_id"], 0) + item["quantity"]
    found = offers(store_id, list(quantities), level)
    lines = []
    for sku_id, quantity in quantities.items():
        if sku_id not in found:
            raise DomainError("not_found", f"SKU {sku_id} is not sold here.")
        product, sku, offer = found[sku_id]
        if fulfilment == "cloud_shelf" and not product.cloud_shelf:
            raise DomainError("validation_error",
                              f"{product.name} is not on the cloud shelf; pick it up or have "
                              f"the store deliver it.")
        lines.append({"sku_id": sku_id, "product_id": product.product_id,
                      "name": product.name, "specs": sku.specs.as_dict(),
                      "quantity": quantity, "unit_price_fen": offer["price_fen"]})
    stock_from = CENTRAL_WAREHOUSE if fulfilment == "cloud_shelf" else store_id
    return lines, stock_from


def _breakdown(member, request, now):
    from chalicelib.catalog.stores import get_store
    from chalicelib.coupons import wallet as coupons
    from chalicelib.members import loyalty
    from chalicelib.members import program as loyalty_program

    store = get_store(request["store_id"])
    fulfilment = request.get("fulfilment", "pickup")
    if fulfilment == "pickup" and not store.offers_pickup:
        raise DomainError("validation_error", "This store does not offer pickup.")
    if fulfilment == "delivery" and not store.delivery_radius_m:
        raise DomainError("validation_error", "This store does not deliver.")
    program = loyalty_program.current()
    level = loyalty.current_level(member, program)
    lines, stock_from = _lines(store.store_id, request["items"], fulfilment, level)
    coupon = None
    if request.get("member_coupon_id"):
        coupon = coupons.usable(member.member_id, request["member_coupon_id"])
    try:
        breakdown = pricing.price(lines, level=level, program=program, store_id=store.store_id,
                                  channel=MALL.name, fulfilment=fulfilment, now=now,
                                  coupon=coupon, points_balance=member.points_balance,
                                  wanted_points=request.get("points", 0))
    except pricing.PricingError as exc:
        raise DomainError(exc.code, str(exc)) from None
    return breakdown, stock_from


def _member(member_id):
    from chalicelib.members.reading import get_member

    return get_member(member_id)


def preview(member_id, request, clock=system_clock):
    breakdown, _ = _breakdown(_member(member_id), request, clock.now())
    return breakdown


def _insufficient(line):
    return DomainError("insufficient_stock", f"Not enough {line['name']} left.")


class Mall:
    name = "mall"
    attempts = 20
    unkeyed = ()

    def quote(self, member_id, request, now):
        member = _member(member_id)
        breakdown, stock_from = _breakdown(member, request, now)
        return Quote(breakdown, request["store_id"], stock_from, member.openid,
                     member.guide_id, plan=member)

    def takes(self, order, quote):
        from chalicelib.catalog import stock

        return [stock.order_take(order.stock_from, line["sku_id"], line["quantity"],
                                 _insufficient(line)) for line in order.breakdown["lines"]]

    def reserve_in(self, writes, order, quote, now):
        from chalicelib.coupons import wallet as coupons
        from chalicelib.members import points

        if order.member_coupon_id:
            coupons.use_in(writes, order.member_id, order.member_coupon_id, order.order_id)
        if order.points_used:
            points.change_in(writes, quote.plan, -order.points_used, "checkout",
                             order.order_id, now)

    def refusal(self, cancelled, order, quote):
        if order.member_coupon_id and cancelled.failed("member_coupon"):
            return DomainError("coupon_unusable", "This coupon has been used.")
        return None

    def replan(self, quote, now):
        """The member's points may have changed: quote afresh."""
        return None

    def give_back_in(self, writes, order, reason, now):
        from chalicelib.catalog import stock

        stock.give_back_for_order_in(writes, order.stock_from, order.breakdown["lines"])
        self._coupon_and_points_back_in(writes, order, order.member_coupon_id,
                                        order.points_used, "release", order.order_id,
                                        f"order {order.order_id} {reason}", now)

    def return_in(self, writes, order, refund, now):
        """Units that never left the store go back to stock; the points the refunded goods
        were paid with, and with the order's last units its coupon, come back."""
        if refund.goods_return is None:
            self.restock_in(writes, order, refund, refund.requested_by,
                            f"refund {refund.refund_id}", now)
        self._coupon_and_points_back_in(
            writes, order, order.member_coupon_id if refund.completes else None,
            refund.points, "return", refund.refund_id, f"refund of order {order.order_id}",
            now)

    def restock_in(self, writes, order, refund, by, reason, now):
        from chalicelib.catalog import stock

        stock.put_back_lines_in(writes, order.stock_from, refund.lines, reason, by, now)

    def before_refund(self, order):
        """Nothing to undo before a mall order's refund."""

    @staticmethod
    def _coupon_and_points_back_in(writes, order, member_coupon_id, points_back, source,
                                   source_id, note, now):
        from chalicelib.coupons import wallet as coupons
        from chalicelib.members import points

        member = _member(order.member_id) if points_back else None
        if member_coupon_id:
            coupons.give_back_in(writes, order.member_id, member_coupon_id, order.order_id)
        if member is not None:
            points.change_in(writes, member, points_back, source, source_id, now, note=note)


MALL = Mall()
