"""Everything the sandbox remembers, in memory, behind one lock."""
import threading
from collections import Counter


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
            self.used_codes = set()
            self.access_tokens = {}  # token -> expiry (time.monotonic())
            self.wxacodes = []
            self.messages = []
            self.refusing_users = set()
            self.orders = {}  # out_trade_no -> pay.Order
            self.held_refunds = set()  # out_refund_no of refunds that must stay PROCESSING
            self.notify_attempts = []
            self.held_notifies = {}  # out_trade_no -> [(delivery, xml)] kept from delivery
            self.faults = []  # faults.Fault, in the order they were asked for
            self.counters = Counter()

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
