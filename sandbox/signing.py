"""WeChat Pay v2 signatures, XML and the refund notify's encryption, written from WeChat's
documentation (not wechatpy's code).

Signature: sort the non-empty parameters except `sign` by key (ASCII), join them as k=v with &,
append &key=<merchant key>, then MD5 or HMAC-SHA256 (keyed with the merchant key), uppercase hex.

Refund notify req_info: AES-256-ECB with PKCS#7 padding, keyed with the lowercase hex MD5 of
the merchant key (its 32 ASCII characters are the 32 key bytes), then base64.
"""
import base64
import hashlib
import hmac
import secrets
import string
import xml.etree.ElementTree as ElementTree

MD5 = "MD5"
HMAC_SHA256 = "HMAC-SHA256"
SIGN_TYPES = (MD5, HMAC_SHA256)

_NONCE_ALPHABET = string.ascii_letters + string.digits


class XmlFormatError(ValueError):
    pass


def string_to_sign(params, key):
    pairs = [f"{name}={params[name]}" for name in sorted(params)
             if name != "sign" and params[name] not in ("", None)]
    return "&".join([*pairs, f"key={key}"])


def sign(params, key, sign_type=MD5):
    message = string_to_sign(params, key).encode("utf-8")
    if sign_type == HMAC_SHA256:
        return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()
    if sign_type == MD5:
        return hashlib.md5(message).hexdigest().upper()
    raise ValueError(f"unknown sign type {sign_type!r}")


def has_valid_signature(params, key):
    sign_type = params.get("sign_type") or MD5
    if sign_type not in SIGN_TYPES or not params.get("sign"):
        return False
    return hmac.compare_digest(params["sign"], sign(params, key, sign_type))


def signed(params, key, sign_type=MD5):
    return {**params, "sign": sign(params, key, sign_type)}


def nonce():
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(32))


def parse_xml(body):
    """The flat <xml><name>value</name>...</xml> of WeChat Pay as a dict of strings."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise XmlFormatError(str(error)) from None
    if root.tag != "xml":
        raise XmlFormatError("the root element is not <xml>")
    return {child.tag: child.text or "" for child in root}


def to_xml(params, root="xml"):
    elements = "".join(_element(name, value) for name, value in params.items())
    return f"<{root}>{elements}</{root}>"


def _element(name, value):
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    # "]]>" cannot appear inside CDATA: close the section and open a new one around it.
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<{name}><![CDATA[{text}]]></{name}>"


def encrypt_req_info(text, key):
    """The refund notify's req_info for `text` (the <root> XML), with the merchant key."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.padding import PKCS7

    padder = PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(text.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_req_info_key(key)), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def _req_info_key(key):
    return hashlib.md5(key.encode("utf-8")).hexdigest().encode("ascii")
