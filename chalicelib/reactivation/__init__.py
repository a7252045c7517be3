"""Dormant-member reactivation (沉睡会员唤醒): a daily job finds the members who became
dormant through the members-by-last-order-day index, messages those WeChat can reach (with
the come-back coupon) and hands the others to their guide or store; paid orders that follow
a contact count as reactivations in a report kept on per-day counters."""
