"""WeChat behind a small port. Only `wechatpy_adapter` imports wechatpy."""
from functools import lru_cache

from chalicelib.config import settings


@lru_cache(maxsize=4)
def _mini_program(app_id, api_base, version):
    from chalicelib.wechat.wechatpy_adapter import WeChatPyMiniProgram

    return WeChatPyMiniProgram(app_id, lambda: settings.wechat_app_secret, api_base, version)


def mini_program():
    """The mini-program client for this brand, one per container."""
    return _mini_program(settings.wechat_app_id, settings.wechat_api_base,
                         settings.wechat_miniprogram_version)


@lru_cache(maxsize=4)
def _pay(app_id, mch_id, api_base, ca_bundle):
    from chalicelib.wechat.wechatpy_adapter import WeChatPyPay

    return WeChatPyPay(app_id, mch_id, lambda: settings.wechat_mch_key, api_base,
                       lambda: (settings.wechat_mch_cert, settings.wechat_mch_cert_key),
                       ca_bundle)


def pay():
    """The WeChat Pay client for this brand's merchant, one per container."""
    return _pay(settings.wechat_app_id, settings.wechat_mch_id, settings.wechat_pay_api_base,
                settings.wechat_pay_ca_bundle)
