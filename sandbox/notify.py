"""Delivering payment and refund result notifies to the merchant's notify_url, retrying like
WeChat: until an answer of HTTP 200 with return_code SUCCESS, on WeChat's schedule."""
import threading
import urllib.error
import urllib.request

from sandbox.clock import now_iso
from sandbox.signing import XmlFormatError, parse_xml

# WeChat's documented schedule after the first attempt (15s/15s/30s/3m/10m/20m/30m/30m/30m/
# 60m/3h/3h/3h/6h/6h), multiplied by the sandbox's time scale.
RETRY_DELAYS_S = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                  10800, 10800, 10800, 21600, 21600)
ATTEMPT_TIMEOUT_S = 5

# notify_url is usually on localhost: never send it through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start_delivery(state, delivery, xml):
    """Posts `xml` to delivery["url"] in the background until the merchant acknowledges it,
    or keeps it while the order's notifies are held (see release_held).

    Every attempt is recorded in state.notify_attempts: the fields of `delivery` (kind,
    out_trade_no, url, delivery, ...) and the attempt's outcome. Call with the state lock held.
    A reset of the sandbox ends the retries.
    """
    held = state.held_notifies.get(delivery["out_trade_no"])
    if held is not None:
        held.append((dict(delivery), xml))
        return
    _in_background(_deliver, state, dict(delivery), xml)


def hold(state, out_trade_no):
    """The order's notifies, payment and refund, wait until released. Call with the lock."""
    state.held_notifies.setdefault(out_trade_no, [])


def release_held(state, out_trade_no, reverse=False, copies=1):
    """Delivers the order's held notifies one after the other (each until acknowledged), in
    the order they were made or reversed, each `copies` times at the same moment; the order's
    notifies go out at once again. Returns how many were held. Call with the lock held."""
    held = state.held_notifies.pop(out_trade_no, [])
    if held:
        _in_background(_deliver_in_turn, state, held[::-1] if reverse else held, copies)
    return len(held)


def _in_background(deliver, state, *args):
    threading.Thread(target=deliver, args=(state, state.cancelled, *args),
                     name=f"notify-{deliver.__name__}", daemon=True).start()


def _deliver_in_turn(state, cancelled, notifies, copies):
    for delivery, xml in notifies:
        at_once = [threading.Thread(target=_deliver,
                                    args=(state, cancelled, {**delivery, "copy": copy}, xml),
                                    daemon=True)
                   for copy in range(1, copies + 1)]
        for thread in at_once:
            thread.start()
        for thread in at_once:
            thread.join()


def _deliver(state, cancelled, delivery, xml):
    for attempt, delay_s in enumerate((0, *RETRY_DELAYS_S), start=1):
        if cancelled.wait(delay_s * state.time_scale):
            return
        at = now_iso()
        status, answer = _post(delivery["url"], xml)
        delivered = status == 200 and _acknowledged(answer)
        with state.lock:
            if cancelled.is_set():
                return
            state.notify_attempts.append({
                **delivery, "attempt": attempt, "at": at,
                "status": status, "answer": answer, "delivered": delivered,
            })
        if delivered:
            return


def _post(url, xml):
    """(HTTP status, body text), or (a description of the error, "") when nothing answered."""
    request = urllib.request.Request(url, data=xml.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "text/xml"})
    try:
        with _opener.open(request, timeout=ATTEMPT_TIMEOUT_S) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"error: {getattr(error, 'reason', error)}", ""


def _acknowledged(answer):
    try:
        return parse_xml(answer.encode("utf-8")).get("return_code") == "SUCCESS"
    except XmlFormatError:
        return False
