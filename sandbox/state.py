"""Everything the sandbox remembers, in memory, behind one lock."""
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from sandbox.config import RELEASED_PAGES, TEMPLATES


class SandboxState:
    def __init__(self, credentials, time_scale=1.0):
        self.credentials = credentials
        self.time_scale = time_scale
        self.lock = threading.RLock()
        self.cancelled = threading.Event()
        self.clear()

    def clear(self):
        """Forget everything; notify deliveries still retrying and refunds still settling stop."""
        with self.lock:
            self.cancelled.set()
            # Each generation of state has its own event, so a reset cannot un-cancel the
            # deliveries of the previous one.
            self.cancelled = threading.Event()
            self.clock_offset_s = 0.0  # how far /__sandbox__/clock/advance moved the clock
            self.used_codes = set()
            self.minted_codes = {}  # code minted by /__sandbox__/*_codes -> when (monotonic)
            # token -> (when it expires, when the next token ends it: None while it is the
            # newest), on the monotonic clock
            self.access_tokens = {}
            self.access_token_fetches = Counter()  # Beijing date -> fetches that day
            self.wxacodes = []
            self.messages = []
            self.subscriptions = Counter()  # (touser, template_id) -> messages it may be sent
            self.released_pages = set(RELEASED_PAGES)
            self.templates = {template_id: dict(keywords)  # template id -> {keyword: kind}
                              for template_id, keywords in TEMPLATES.items()}
            self.orders = {}  # out_trade_no -> pay.Order
            self.held_refunds = set()  # out_refund_no of refunds that must stay PROCESSING
            self.refund_funds = {}  # refund_account -> fen left for refunds (absent: no limit)
            self.notify_attempts = []
            self.held_notifies = {}  # out_trade_no -> [(delivery, xml)] kept from delivery
            self.faults = []  # faults.Fault, in the order they were asked for
            self.counters = Counter()

    def monotonic(self):
        """Seconds on the sandbox's clock, which tests can move forward; token and login-code
        lifetimes are measured on it."""
        return time.monotonic() + self.clock_offset_s

    def now(self):
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset_s)

    def advance_clock(self, seconds):
        with self.lock:
            self.clock_offset_s += seconds

    def shut_down(self):
        self.cancelled.set()

    def stats(self):
        with self.lock:
            return {
                "access_tokens_issued": self.counters["access_tokens_issued"],
                "sessions_issued": self.counters["sessions_issued"],
                "phone_numbers_issued": self.counters["phone_numbers_issued"],
                "wxacodes_generated": len(self.wxacodes),
                "messages_sent": sum(1 for message in self.messages if message["errcode"] == 0),
                "messages_refused": sum(1 for message in self.messages if message["errcode"]),
                "orders": len(self.orders),
                "notify_attempts": len(self.notify_attempts),
            }
