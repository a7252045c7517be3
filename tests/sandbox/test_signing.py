import base64
import hashlib

import pytest
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from sandbox import signing

# WeChat Pay's published signature example.
EXAMPLE_PARAMS = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
                  "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA"}
EXAMPLE_KEY = "192006250b4c09247ec02edce69f6a2d"


def test_wechats_published_md5_example():
    assert signing.string_to_sign(EXAMPLE_PARAMS, EXAMPLE_KEY) == (
        "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100"
        "&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d")
    assert signing.sign(EXAMPLE_PARAMS, EXAMPLE_KEY) == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert calculate_signature(EXAMPLE_PARAMS, EXAMPLE_KEY) == "9A0A8659F005D6984697E2CA0A9CF3B7"


def test_hmac_sha256_agrees_with_wechatpy():
    params = {**EXAMPLE_PARAMS, "sign_type": "HMAC-SHA256", "body": "鱼塘 会员卡"}
    assert signing.sign(params, EXAMPLE_KEY, signing.HMAC_SHA256) == \
        calculate_signature_hmac(params, EXAMPLE_KEY)


def test_empty_values_and_the_sign_itself_are_not_signed():
    with_extras = {**EXAMPLE_PARAMS, "attach": "", "sign": "WHATEVER"}
    assert signing.sign(with_extras, EXAMPLE_KEY) == "9A0A8659F005D6984697E2CA0A9CF3B7"


@pytest.mark.parametrize("sign_type", signing.SIGN_TYPES)
def test_a_signed_message_survives_the_xml_round_trip(sign_type):
    params = {"appid": "wx1", "total_fee": 100, "attach": "a]]>b <c>", "sign_type": sign_type}
    message = signing.signed(params, EXAMPLE_KEY, sign_type)
    parsed = signing.parse_xml(signing.to_xml(message).encode("utf-8"))
    assert parsed["attach"] == "a]]>b <c>" and parsed["total_fee"] == "100"
    assert signing.has_valid_signature(parsed, EXAMPLE_KEY)
    assert not signing.has_valid_signature({**parsed, "total_fee": "101"}, EXAMPLE_KEY)


@pytest.mark.parametrize("text", ["<root><a>1</a></root>", "x" * 16, "鱼塘 退款"])
def test_req_info_is_aes_256_ecb_of_pkcs7_padded_text_under_the_md5_of_the_key(text):
    """Decrypted as WeChat's refund notify documentation says, with strict PKCS#7 unpadding."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.padding import PKCS7

    encrypted = base64.b64decode(signing.encrypt_req_info(text, EXAMPLE_KEY))
    key = hashlib.md5(EXAMPLE_KEY.encode()).hexdigest().encode()
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = decryptor.update(encrypted) + decryptor.finalize()
    unpadder = PKCS7(128).unpadder()

    assert len(encrypted) == (len(text.encode()) // 16 + 1) * 16
    assert (unpadder.update(padded) + unpadder.finalize()).decode() == text
