"""`make mutate`: each critical condition broken in turn, and the tests that guard it run; a
broken condition that no test notices is a guard nobody guards.

A mutation is an exact snippet of a source file and what it becomes (a condition dropped or
loosened by one). It is applied in a copy of the tree in a temporary directory, never in the
tree itself. A snippet that is not found exactly once is an error, not a pass: the guard
moved or changed, and its mutation must be anchored again. Exits 0 only if every mutation
was killed (at least one of its tests failed) and the unmutated copy passes them all.

One DynamoDB Local and one WeChat sandbox serve every pytest run (starting a pair and creating
the tables is most of a short run); each run's data is its own, as in `make test`.

    python -m devtools.mutate              # all of them (one pytest run each: minutes)
    python -m devtools.mutate NAME ...     # some of them
    python -m devtools.mutate --list
"""
import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from devtools.processes import ROOT
from tests.conftest import SHARED_SERVICES, running_services

GUARDS = "tests/api/test_guards.py"
OWNERSHIP = "tests/api/test_ownership.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str  # the guard, in a few words
    edits: tuple  # (file, snippet, what it becomes), each snippet found exactly once
    tests: str  # pytest arguments: files and a -k selection


def mutation(name, what, path, snippet, becomes, tests, *more_edits):
    return Mutation(name, what, ((path, snippet, becomes), *more_edits), tests)


MUTATIONS = [
    # Who reaches what.
    mutation("order-owner", "a member reaches only their own orders",
             "chalicelib/orders/placing.py",
             "if order is None or order.member_id != member_id:", "if order is None:",
             f"{OWNERSHIP} -k 'orders and by-member'"),
    mutation("store-order-owner", "store staff reach only their store's orders (and refunds)",
             "chalicelib/orders/fulfilment.py",
             "if order is None or order.store_id != store_id:", "if order is None:",
             f"{OWNERSHIP} -k 'order_id and through-own-store'"),
    mutation("store-door", "store roles count only in the store the path names",
             "chalicelib/api/routing.py",
             "if record.store_id != path_params.get(access.store_param):", "if False:",
             f"{OWNERSHIP} -k at-the-door"),
    mutation("live-host", "a guide runs only the live sessions they host",
             "chalicelib/promotions/live/sessions.py",
             "if session.host_id != host_id:", "if False:",
             f"{OWNERSHIP} -k 'live and by-guide'"),
    mutation("live-approval-store", "a store's manager decides only their store's sessions",
             "chalicelib/promotions/live/sessions.py",
             "if session.stores != [store_id]:", "if False:",
             f"{OWNERSHIP} -k 'live-sessions and through-own-store'"),
    mutation("last-admin", "the brand keeps at least one admin",
             "chalicelib/members/staff.py",
             "stays_above=1 if change < 0", "stays_above=0 if change < 0",
             "tests/api/test_staff_and_tags.py -k last_admin"),
    mutation("self-referral", "a guide's own link binds nobody to themselves",
             "chalicelib/guides/bindings.py",
             "if new_guide == shopper:", "if False:",
             "tests/api/test_bindings.py -k cannot_bind_themselves"),
    # Tokens, cursors and WeChat's word.
    mutation("refresh-once", "a refresh token moves its family on once; a second use ends it",
             "chalicelib/members/sessions.py",
             "condition=(SessionFamily.generation == generation)\n"
             "                          & SessionFamily.ended.does_not_exist())",
             "condition=SessionFamily.ended.does_not_exist())",
             "tests/api/test_sessions.py -k loses_the_race"),
    mutation("live-token-signature", "a live token is signed by us",
             "chalicelib/promotions/live/sessions.py",
             "if not signature or not hmac.compare_digest(signature, _signature(payload_text)):",
             "if not signature:",
             f"{GUARDS} -k live_token"),
    mutation("cursor-signature", "a cursor is one we gave out, for this list",
             "chalicelib/core/pagination.py",
             "and hmac.compare_digest(signature, _signature(list_id, key_text))):", "):",
             "tests/api/test_odd_input.py -k cursor_is_good_only"),
    mutation("notify-signature", "a pay notify is signed with the merchant key",
             "chalicelib/wechat/wechatpy_adapter.py",
             "hmac.compare_digest(calculate(fields, self.pay.api_key), sign)", "True",
             "tests/api/test_payments.py -k does_not_check_out"),
    mutation("notify-repeated-element", "a pay notify names each field once (one <sign>)",
             "chalicelib/wechat/wechatpy_adapter.py",
             "if isinstance(value, list):", "if False:",
             "tests/api/test_odd_input.py -k 'pay_notify_that_repeats and sign and twice'",
             ("chalicelib/wechat/wechatpy_adapter.py",
              "if not isinstance(value, (str, int, type(None))):", "if isinstance(value, dict):")),
    mutation("notify-appid", "a pay notify is for our app",
             "chalicelib/orders/payments.py",
             'if (fields.get("appid"), fields.get("mch_id")) != (settings.wechat_app_id,',
             'if (settings.wechat_app_id, fields.get("mch_id")) != (settings.wechat_app_id,',
             f"{GUARDS} -k another_app"),
    mutation("reconcile-amount", "a payment found by asking WeChat is for the order's amount",
             "chalicelib/orders/payments.py",
             'and answer.get("total_fee") == str(order.total_fen):',
             'and answer.get("total_fee") is not None:',
             f"{GUARDS} -k another_amount"),
    mutation("orders-job-asks-again", "an order WeChat fails to answer for is closed next run",
             "chalicelib/orders/closing.py",
             "minutes.cover(JOB, minutes.minute_before(behind) if behind else done, now)",
             "minutes.cover(JOB, done, now)",
             "tests/api/test_wechat_faults.py -k 'expiry and SYSTEMERROR'"),
    mutation("group-stays-due", "a group stays due until WeChat answered for every seat",
             "chalicelib/promotions/groups/completion.py",
             "    if done:\n        group.update(actions=[Group.expiry_day.remove()])",
             "    group.update(actions=[Group.expiry_day.remove()])",
             "tests/api/test_wechat_faults.py -k failed_group"),
    # Orders, stock and coupons.
    mutation("close-only-unpaid", "closing an order gives back only while it is unpaid",
             "chalicelib/orders/closing.py",
             'condition=Order.status == PENDING_PAYMENT, name="order")',
             'condition=None, name="order")',
             f"{GUARDS} -k stale_copy"),
    mutation("watch-wechat-close", "an order closed before WeChat's is asked about until "
             "WeChat closes it", "chalicelib/orders/closing.py",
             "None if closed_at_wechat else _next_wechat_look(order, clock.now())", "None",
             "tests/api/test_payments.py -k first_five_minutes"),
    mutation("coupon-use-once", "a member coupon pays for one order",
             "chalicelib/coupons/wallet.py",
             'condition=MemberCoupon.status == "available", name="member_coupon")',
             'condition=None, name="member_coupon")',
             f"{GUARDS} -k 'coupon_read_as_available or coupon_taken_by_another_order'"),
    mutation("stock-take", "an order never takes stock below zero",
             "chalicelib/orders/takes.py",
             "condition=counter >= item.units)", "condition=None)",
             f"{GUARDS} -k 'order_takes_at_most or last_unit_read_by_two'"),
    mutation("stock-adjust", "staff never take stock below zero",
             "chalicelib/catalog/stock.py",
             "enough = StoreStock.quantity >= -delta", "enough = None",
             f"{GUARDS} -k staff_take_at_most"),
    mutation("take-given-back-once", "a unit taken for an order never written comes back once",
             "chalicelib/orders/takes.py",
             "suspect.save(condition=StockTake.take_id.does_not_exist())",
             "suspect.save()",
             "tests/api/test_stock_takes.py"),
    mutation("pending-units", "one member's unpaid orders hold at most the limit of a SKU",
             "chalicelib/orders/holds.py",
             "if holding.get(sku_id, 0) + quantity > settings.max_pending_units_per_sku),",
             "if holding.get(sku_id, 0) + quantity > settings.max_pending_units_per_sku + 1),",
             "tests/api/test_pending_holds.py -k cannot_hold_a_skus_stock"),
    mutation("promotion-floor", "a promotion price below the brand's is at least the floor",
             "chalicelib/promotions/listings.py",
             "return floor if price_fen < floor else None",
             "return floor if price_fen < floor - 1 else None",
             "tests/api/test_promotion_prices.py -k respects_its_floor"),
    mutation("idempotency-key-reuse", "an Idempotency-Key names one order request",
             "chalicelib/orders/placing.py",
             "if earlier.request_hash != request_hash:", "if False:",
             "tests/api/test_checkout.py -k same_key"),
    # Points.
    mutation("points-boundary", "a spend takes at most the balance",
             "chalicelib/members/points.py",
             "elif balance + amount >= 0:", "elif balance + amount >= -1:",
             f"{GUARDS} -k 'one_point_more or whole_balance'"),
    mutation("points-balance-read", "a points change applies to the balance it read",
             "chalicelib/members/points.py",
             "unchanged(Member.points_seq, member.points_seq)", "None",
             f"{GUARDS} -k from_one_balance_read"),
    mutation("points-debt-first", "a credit pays the debt first",
             "chalicelib/members/points.py",
             "debt_change = -min(debt, amount)", "debt_change = 0",
             "tests/api/test_points_kept.py -k in_debt_cannot_spend"),
    mutation("points-no-spend-in-debt", "a member in debt spends nothing (nor owes more)",
             "chalicelib/members/points.py",
             "elif to_debt:", "elif to_debt or debt:",
             "tests/api/test_points_kept.py -k in_debt_cannot_spend"),
    # Refunds and handovers.
    mutation("refund-unit-claim", "a unit is claimed by one refund",
             "chalicelib/orders/refunds.py",
             "condition=unchanged(Order.refund_count, order.refund_count)\n"
             "                    & (Order.status == order.status))",
             "condition=(Order.status == order.status))",
             f"{GUARDS} -k last_unit_read_at_once",
             ("chalicelib/orders/refunds.py",
              'writes.save(refund, name="refund", condition=Refund.refund_id.does_not_exist())',
              'writes.save(refund, name="refund")')),
    mutation("refund-status-as-read", "a shopper's refund claims an order still as read (PAID)",
             "chalicelib/orders/refunds.py",
             "\n                    & (Order.status == order.status))", ")",
             "tests/api/test_refunds.py -k loses_the_race_to_a_redeem"),
    mutation("redeem-refund-in-flight", "no pickup is handed over while a refund of it is open",
             "chalicelib/orders/fulfilment.py",
             '& NO_REFUND_IN_FLIGHT, name="order")', ', name="order")',
             "tests/api/test_refunds.py -k while_a_refund_is_in_flight"),
    mutation("ship-refund-in-flight", "no delivery ships while a refund of it is open",
             "chalicelib/orders/fulfilment.py",
             '"shipped",\n                 NO_REFUND_IN_FLIGHT)', '"shipped")',
             "tests/api/test_refunds.py -k does_not_ship_while"),
    mutation("change-keeps-units", "a refund WeChat could not pay out keeps its units",
             "chalicelib/orders/refunds.py",
             "elif wechat_status == CHANGE:", "elif False:",
             "tests/api/test_refunds.py -k change_refund_keeps_its_units"),
    mutation("refund-certificate", "WeChat Pay refunds only to the merchant's certificate",
             "sandbox/server.py",
             "if request.path.startswith(tls.SECURE_PREFIX) "
             "and not self._has_client_certificate():",
             "if False:", "tests/sandbox/test_refunds.py -k merchant_certificate"),
    mutation("refund-codeless-open", "a refund WeChat answered with no err_code stays open",
             "chalicelib/orders/refunds.py",
             "        if failure.code in REFUSED:\n", "        if failure.code not in RETRYABLE:\n",
             "tests/api/test_refunds.py -k 'merchant_certificate or gateway_error'"),
    mutation("refund-one-at-a-time", "an order has one refund in flight at a time",
             "chalicelib/orders/refunds.py",
             "    if order.refunds_in_flight:\n", "    if False:\n",
             "tests/api/test_refunds.py -k waits_until_its_refund_in_flight"),
    mutation("refunds-a-minute-apart", "WeChat takes an order's refunds a minute apart",
             "sandbox/pay.py",
             "    if order.last_refund_at is not None and now - order.last_refund_at "
             "< REFUND_INTERVAL:\n", "    if False:\n",
             "tests/sandbox/test_refunds.py -k waits_a_minute"),
    mutation("refund-limited-open", "a refund WeChat limits to a minute stays open",
             "chalicelib/orders/refunds.py",
             'REFUSED = ("ORDERNOTEXIST",', 'REFUSED = ("FREQUENCY_LIMITED", "ORDERNOTEXIST",',
             "tests/api/test_refunds.py -k within_a_minute"),
    mutation("token-lease", "one container at a time refreshes the shared access token",
             "chalicelib/wechat/token_store.py",
             "condition=still_stale & free)", "condition=still_stale)",
             "tests/service/test_access_token.py -k 'another_container_refreshes or "
             "finding_the_lease_taken'"),
    mutation("token-still-stale", "a token refused by WeChat is replaced once, for everyone",
             "chalicelib/wechat/token_store.py",
             "condition=still_stale & free)", "condition=free)",
             "tests/service/test_access_token.py -k replaced_once_however_many"),
    mutation("message-not-taken", "a subscribe message WeChat was too busy for is sent later",
             "chalicelib/wechat/wechatpy_adapter.py",
             "            if exc.errcode in _NOT_TAKEN:\n", "            if False:\n",
             "tests/api/test_notifications.py -k does_not_answer"),
    mutation("message-template-keywords", "a subscribe message has its template's keywords",
             "sandbox/messages.py",
             "        if key not in keywords:\n", "        if False:\n",
             "tests/sandbox/test_miniprogram.py -k exactly_the_templates_keywords"),
]

KILLED, SURVIVED, NOT_FOUND, BROKEN = "killed", "SURVIVED", "SNIPPET NOT FOUND", "ERROR"


def _copy_of_tree():
    """The tree as it is (committed or not, ignored files left out) in a temporary
    directory, with the installed dependencies linked in."""
    target = tempfile.mkdtemp(prefix="yutang-mutate-")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, copy = ROOT / name, os.path.join(target, name)
        if source.is_symlink() or not source.is_file():
            continue
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copy2(source, copy)
    for installed in ("node_modules", ".venv"):
        if (ROOT / installed).exists():
            os.symlink((ROOT / installed).resolve(), os.path.join(target, installed))
    return target


def _anchored(tree, found):
    """The mutated text of each file, or the first edit whose snippet is not there once."""
    texts = {}
    for path, snippet, becomes in found.edits:
        text = texts.get(path)
        if text is None:
            with open(os.path.join(tree, path), encoding="utf-8") as source:
                text = source.read()
        if text.count(snippet) != 1:
            return None, f"{path}: {snippet!r} found {text.count(snippet)} times"
        texts[path] = text.replace(snippet, becomes)
    return texts, None


def _pytest(tree, arguments, services):
    command = [sys.executable, "-m", "pytest", "-x", "-p", "no:cacheprovider", "-r", "fE",
               *shlex.split(arguments)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", SHARED_SERVICES: services}
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)


def _outcome(run):
    """pytest's exit status: 0 all passed, 1 some failed, 5 none selected, else it broke."""
    return {0: SURVIVED, 1: KILLED}.get(run.returncode, BROKEN)


def run_one(tree, found, services):
    texts, missing = _anchored(tree, found)
    if missing:
        return NOT_FOUND, missing
    originals = {}
    try:
        for path, text in texts.items():
            with open(os.path.join(tree, path), encoding="utf-8") as source:
                originals[path] = source.read()
            with open(os.path.join(tree, path), "w", encoding="utf-8") as mutated:
                mutated.write(text)
        run = _pytest(tree, found.tests, services)
    finally:
        for path, text in originals.items():
            with open(os.path.join(tree, path), "w", encoding="utf-8") as restored:
                restored.write(text)
    return _outcome(run), _said(run)


def _said(run):
    """The first failure pytest reports, else its last line."""
    lines = run.stdout.strip().splitlines() or run.stderr.strip().splitlines() or [""]
    failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return (failed or lines[-1:])[0][:300]


def baseline(tree, chosen, services):
    """The unmutated copy must pass every chosen mutation's tests, or a kill means nothing."""
    files, selections = [], []
    for found in chosen:
        arguments = shlex.split(found.tests)
        if "-k" in arguments:
            at = arguments.index("-k")
            selections.append(f"({arguments[at + 1]})")
            arguments = arguments[:at] + arguments[at + 2:]
        files += [name for name in arguments if name not in files]
    return _pytest(tree, " ".join([*map(shlex.quote, files),
                                   "-k", shlex.quote(" or ".join(selections))]), services)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (all by default)")
    parser.add_argument("--list", action="store_true", help="list the mutations")
    options = parser.parse_args(argv)
    if options.list:
        for found in MUTATIONS:
            print(f"{found.name:24} {found.what}")
        return 0
    unknown = set(options.names) - {found.name for found in MUTATIONS}
    if unknown:
        parser.error(f"no mutation {', '.join(sorted(unknown))} (see --list)")
    chosen = [found for found in MUTATIONS if not options.names or found.name in options.names]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still clean up
    started = time.monotonic()
    tree = _copy_of_tree()
    try:
        with running_services() as ports:
            return _run(tree, chosen, ",".join(map(str, ports)), started)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def _run(tree, chosen, services, started):
    """Snippets first (cheap), the unmutated copy, then each mutation: 0 if all were killed."""
    moved = {found.name: _anchored(tree, found)[1] for found in chosen}
    for name, why in moved.items():
        if why:
            print(f"{NOT_FOUND} {name}: {why}", flush=True)
    runnable = [found for found in chosen if not moved[found.name]]
    failures = len(chosen) - len(runnable)
    if not runnable:
        return 1
    unmutated = baseline(tree, runnable, services)
    if unmutated.returncode != 0:
        print(unmutated.stdout[-3000:], unmutated.stderr[-2000:], sep="\n")
        print("The unmutated tree fails these tests; fix that first.")
        return 1
    print(f"unmutated: the tests pass ({time.monotonic() - started:.0f}s)", flush=True)
    for found in runnable:
        began = time.monotonic()
        outcome, detail = run_one(tree, found, services)
        failures += outcome != KILLED
        print(f"{outcome:8} {found.name:24} {time.monotonic() - began:4.0f}s  "
              f"{found.what}: {detail}", flush=True)
    print(f"{len(chosen) - failures} of {len(chosen)} mutations killed in "
          f"{time.monotonic() - started:.0f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
