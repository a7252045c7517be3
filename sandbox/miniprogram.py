"""The mini-program server APIs (JSON): login, access token, phone number, wxacode (messages
are in sandbox/messages.py).

Test codes stand in for what the mini-program would get from wx.login() and the phone button:
`sandbox:<user>:<nonce>` and `sandbox-phone:<digits>:<nonce>`, each accepted once. A code minted
by /__sandbox__/login_codes or /__sandbox__/phone_codes also dies CODE_LIFETIME_S after it was
minted, as wx.login()'s and the phone button's do; one a test makes up counts as just minted.

Access tokens are issued as WeChat issues them: each lives ACCESS_TOKEN_LIFETIME_S, a new one
leaves the one before it ACCESS_TOKEN_OVERLAP_S to live, and an app fetches at most
ACCESS_TOKEN_DAILY_QUOTA a day (Beijing time).
"""
import base64
import functools
import hashlib
import io
import json
import secrets
import string
import time

import segno

from sandbox.clock import SHANGHAI, now_iso
from sandbox.web import Response, json_response, wechat_error

ACCESS_TOKEN_LIFETIME_S = 7200
ACCESS_TOKEN_OVERLAP_S = 300
ACCESS_TOKEN_DAILY_QUOTA = 2000
CODE_LIFETIME_S = 300  # a wx.login() or phone-button code
SCENE_MAX_LENGTH = 32
SCENE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!#$&'()*+,/:;=?@-._~")


def invalid_code():
    return wechat_error(40029, "invalid code")


def openid_for(app_id, user):
    return "o" + _digest(f"openid:{app_id}:{user}")


def unionid_for(user):
    """The same for every app id: a unionid identifies the person across a brand's apps."""
    return "u" + _digest(f"unionid:{user}")


def _digest(text):
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:27]


def _code_value(code, kind):
    """The <value> of a `<kind>:<value>:<nonce>` code, or None when the code has another form."""
    head, _, rest = code.partition(":")
    value, _, nonce = rest.rpartition(":")
    return value if head == kind and value and nonce else None


def _consume_code(state, code):
    """True the first time a code is seen; codes work once."""
    with state.lock:
        if code in state.used_codes:
            return False
        state.used_codes.add(code)
        return True


def mint_code(state, kind, value):
    """A `kind` code of `value` as the mini-program gets it (from wx.login(): "sandbox", a
    user; from the phone button: "sandbox-phone", digits), timed from now."""
    code = f"{kind}:{value}:{secrets.token_urlsafe(12)}"
    with state.lock:
        state.minted_codes[code] = state.monotonic()
    return code


def _expired(state, code):
    with state.lock:
        minted_at = state.minted_codes.get(code)
        return minted_at is not None and state.monotonic() - minted_at > CODE_LIFETIME_S


def _login_code_error(state, code):
    """WeChat's refusal of a login code: malformed or expired 40029, used before 40163."""
    if _code_value(code, "sandbox") is None or _expired(state, code):
        return invalid_code()
    if not _consume_code(state, code):
        return wechat_error(40163, "code been used")
    return None


def _credentials_error(state, app_id, secret):
    if not app_id:
        return wechat_error(41002, "appid missing")
    if app_id != state.credentials.app_id:
        return wechat_error(40013, "invalid appid")
    if not secret:
        return wechat_error(41004, "appsecret missing")
    if secret != state.credentials.app_secret:
        return wechat_error(40125, "invalid appsecret")
    return None


def _json_body(request):
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def code_to_session(state, request):
    query = request.query
    error = _credentials_error(state, query.get("appid"), query.get("secret"))
    if error:
        return error
    if query.get("grant_type") != "authorization_code":
        return wechat_error(40002, "invalid grant_type")
    code = query.get("js_code", "")
    if not code:
        return wechat_error(41008, "missing code")
    error = _login_code_error(state, code)
    if error:
        return error
    user = _code_value(code, "sandbox")
    with state.lock:
        state.counters["sessions_issued"] += 1
    return json_response({
        "openid": openid_for(state.credentials.app_id, user),
        "session_key": base64.b64encode(secrets.token_bytes(16)).decode("ascii"),
        "unionid": unionid_for(user),
    })


def issue_access_token(state, request):
    query = request.query
    if query.get("grant_type") != "client_credential":
        return wechat_error(40002, "invalid grant_type")
    error = _credentials_error(state, query.get("appid"), query.get("secret"))
    if error:
        return error
    token = "sandbox-" + secrets.token_urlsafe(48)
    with state.lock:
        today = fetch_day(state)
        if state.access_token_fetches[today] >= ACCESS_TOKEN_DAILY_QUOTA:
            return wechat_error(45009, "reach max api daily quota limit")
        state.access_token_fetches[today] += 1
        now = state.monotonic()
        for older, (expires_at, replaced_at) in list(state.access_tokens.items()):
            if replaced_at is None:
                state.access_tokens[older] = (expires_at, now + ACCESS_TOKEN_OVERLAP_S)
            elif replaced_at <= now:
                del state.access_tokens[older]  # unknown or replaced: both answer 40001
        state.access_tokens[token] = (now + ACCESS_TOKEN_LIFETIME_S, None)
        state.counters["access_tokens_issued"] += 1
    return json_response({"access_token": token, "expires_in": ACCESS_TOKEN_LIFETIME_S})


def fetch_day(state):
    """The Beijing date whose quota of token fetches a fetch now counts against."""
    return state.now().astimezone(SHANGHAI).date().isoformat()


def requires_access_token(endpoint):
    @functools.wraps(endpoint)
    def checked(state, request):
        with state.lock:
            expires_at, replaced_at = state.access_tokens.get(
                request.query.get("access_token", ""), (None, None))
            now = state.monotonic()
        if expires_at is None or (replaced_at is not None and replaced_at <= now):
            return wechat_error(40001,
                                "invalid credential, access_token is invalid or not latest")
        if expires_at <= now:
            return wechat_error(42001, "access_token expired")
        return endpoint(state, request)
    return checked


@requires_access_token
def phone_number(state, request):
    body = _json_body(request)
    if body is None:
        return wechat_error(47001, "data format error")
    code = body.get("code")
    phone = _code_value(code, "sandbox-phone") if isinstance(code, str) else None
    if phone is None or not phone.isdigit() or _expired(state, code) \
            or not _consume_code(state, code):
        return invalid_code()
    with state.lock:
        state.counters["phone_numbers_issued"] += 1
    return json_response({"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": phone,
        "purePhoneNumber": phone,
        "countryCode": "86",
        "watermark": {"timestamp": int(time.time()), "appid": state.credentials.app_id},
    }})


def is_valid_scene(scene):
    return (isinstance(scene, str) and 0 < len(scene) <= SCENE_MAX_LENGTH
            and set(scene) <= SCENE_CHARACTERS)


def wxacode_image(text, width, transparent=False):
    """A real QR code of `text`, `width` pixels square, as WeChat draws its codes: a JPEG
    (quality 90, as large as WeChat's tens of KB), or a PNG when asked for a transparent
    background (is_hyaline)."""
    from PIL import Image

    qr = segno.make_qr(text, error="m")
    modules_wide, _ = qr.symbol_size(scale=1, border=4)
    drawn = io.BytesIO()
    qr.save(drawn, kind="png", scale=max(1, width // modules_wide), border=4)
    image = Image.open(drawn).convert("RGBA" if transparent else "RGB")
    image = image.resize((width, width), Image.NEAREST)
    out = io.BytesIO()
    if transparent:
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _requested_width(body):
    width = body.get("width", 430)
    if isinstance(width, bool) or not isinstance(width, int):
        return 430
    return min(max(width, 280), 1280)


ENV_VERSIONS = ("release", "trial", "develop")


def _wxacode_error(state, body):
    """check_path (default true) asks WeChat to check that the page is in the released
    mini-program; false lets a trial or develop build's page through unchecked."""
    if body is None or not is_valid_scene(body.get("scene")):
        return wechat_error(40169, "invalid length for scene, or the data is not json string")
    check_path = body.get("check_path", True)
    env_version = body.get("env_version", "release")
    if not isinstance(check_path, bool) or env_version not in ENV_VERSIONS \
            or not isinstance(body.get("is_hyaline", False), bool):
        return wechat_error(47001, "data format error")
    page = body.get("page") or ""
    if not isinstance(page, str) or page.startswith("/") or "?" in page:
        return wechat_error(41030, "invalid page")
    with state.lock:
        unreleased = page and page not in state.released_pages
    if check_path and unreleased:
        return wechat_error(41030, "invalid page")
    return None


@requires_access_token
def wxacode_unlimited(state, request):
    """The image's QR code holds the scene text exactly (what the page gets as `scene`)."""
    body = _json_body(request)
    error = _wxacode_error(state, body)
    if error:
        return error
    width, transparent = _requested_width(body), body.get("is_hyaline", False)
    image = wxacode_image(body["scene"], width, transparent)
    with state.lock:
        state.wxacodes.append({
            "scene": body["scene"], "page": body.get("page") or "", "width": width,
            "at": now_iso(), "env_version": body.get("env_version", "release"),
            "check_path": body.get("check_path", True), "bytes": len(image),
        })
    return Response(200, "image/png" if transparent else "image/jpeg", image)
