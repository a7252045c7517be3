"""A member's cart at one store: it keeps SKUs and quantities, and is priced afresh (store
price, member price, stock) every time it is read, so it never shows a stale price."""
from chalicelib.mall.models import CartLine
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError

MAX_LINES, MAX_QUANTITY = 50, 99


def _key(member_id, store_id):
    return f"{member_id}#{store_id}"


def _check_sold(store_id, sku_id):
    from chalicelib.catalog.products import offers
    from chalicelib.catalog.stores import get_store

    get_store(store_id)
    if sku_id not in offers(store_id, [sku_id]):
        raise DomainError("not_found", f"SKU {sku_id} is not sold here.")


def add(member_id, store_id, sku_id, quantity, clock=system_clock):
    _check_sold(store_id, sku_id)
    lines = list(CartLine.query(_key(member_id, store_id)))
    present = {line.sku_id: line.quantity for line in lines}
    if sku_id not in present and len(lines) >= MAX_LINES:
        raise DomainError("validation_error", f"A cart holds {MAX_LINES} SKUs at most.")
    return set_quantity(member_id, store_id, sku_id,
                        min(present.get(sku_id, 0) + quantity, MAX_QUANTITY), clock, checked=True)


def set_quantity(member_id, store_id, sku_id, quantity, clock=system_clock, checked=False):
    """Sets a line's quantity; 0 removes it."""
    if quantity == 0:
        CartLine(_key(member_id, store_id), sku_id).delete()
        return view(member_id, store_id)
    if not checked:
        _check_sold(store_id, sku_id)
    CartLine(_key(member_id, store_id), sku_id, quantity=quantity, added_at=clock.now()).save()
    return view(member_id, store_id)


def remove(member_id, store_id, sku_ids):
    """Takes the SKUs out of the cart, those it holds (an order bought straight from a
    product's page deletes nothing)."""
    held = [line for line in CartLine.query(_key(member_id, store_id))
            if line.sku_id in set(sku_ids)]
    if held:
        with CartLine.batch_write() as batch:
            for line in held:
                batch.delete(line)


def view(member_id, store_id):
    """The cart's lines as sold in the store now; SKUs no longer sold show as unavailable."""
    from chalicelib.catalog.products import offers
    from chalicelib.members.loyalty import caller_level

    lines = sorted(CartLine.query(_key(member_id, store_id), consistent_read=True),
                   key=lambda line: line.added_at)
    found = offers(store_id, [line.sku_id for line in lines], caller_level(member_id)) \
        if lines else {}
    items = []
    for line in lines:
        item = {"sku_id": line.sku_id, "quantity": line.quantity}
        if line.sku_id in found:
            product, sku, offer = found[line.sku_id]
            item.update(product_id=product.product_id, name=product.name,
                        specs=sku.specs.as_dict(), price_fen=offer["price_fen"],
                        member_price_fen=offer["member_price_fen"],
                        fulfilment=offer["fulfilment"], available=offer["available"])
        else:
            item.update(fulfilment="sold_out", available=0)
        items.append(item)
    return {"store_id": store_id, "items": items}
