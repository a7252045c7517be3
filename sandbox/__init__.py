"""A local stand-in for WeChat: the mini-program server APIs and WeChat Pay v2.

It speaks the documented protocols (JSON for the mini-program APIs, signed XML for WeChat Pay)
so that wechatpy, pointed at it by base URL, runs its real HTTP, XML and signature code.
Run it with `python -m sandbox`; tests use `sandbox.server.start()`.

Conventions the real WeChat does not have:
- wx.login() codes are `sandbox:<user>:<nonce>` (same <user>, same openid and unionid) and phone
  codes `sandbox-phone:<digits>:<nonce>`; each code works once. A code minted by
  /__sandbox__/login_codes or /__sandbox__/phone_codes dies 5 minutes later, as WeChat's do;
  one made up never ages.
- The sandbox's clock, on which access tokens and minted codes age, moves forward only when
  told to (/__sandbox__/clock/advance).
- The QR code in a getwxacodeunlimit image holds exactly the scene text.
- WeChat Pay is served over HTTPS as well, with a test CA made at start; the merchant
  certificate that refunds require is one it signed (see sandbox/tls.py).
- Endpoints under /__sandbox__/ drive and inspect it: pay (or fail) an order, which notifies
  its notify_url with WeChat's retry schedule; renotify; age an order; hold a refund
  PROCESSING or settle it (SUCCESS, CHANGE, REFUNDCLOSE), which notifies the refund's
  notify_url; limit the merchant's funds to refund from; show orders and refunds; list notify
  attempts, messages, wxacodes; accept subscribe-message templates for a user (one message
  each); release a version of the mini-program with its pages; mint login and phone codes;
  move the clock; use up access-token fetches of today's quota; script faults; stats; reset.
- A refund that is neither held nor settled through those endpoints settles as SUCCESS about
  one second (times the time scale) after WeChat accepted it.
"""
