"""WeChat Pay v2 signatures and XML, written from WeChat's documentation (not wechatpy's code).

Signature: sort the non-empty parameters except `sign` by key (ASCII), join them as k=v with &,
append &key=<merchant key>, then MD5 or HMAC-SHA256 (keyed with the merchant key), uppercase hex.
"""
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


def to_xml(params):
    return "<xml>" + "".join(_element(name, value) for name, value in params.items()) + "</xml>"


def _element(name, value):
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    # "]]>" cannot appear inside CDATA: close the section and open a new one around it.
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<{name}><![CDATA[{text}]]></{name}>"
