"""The channels' crypto against the platforms' published test vectors, and what it refuses."""

from __future__ import annotations

import pytest

from bulletin_bot.channels.crypto import FeishuCrypto, WeComCrypto
from bulletin_bot.errors import CallbackRejected, ChannelConfigError

# WeCom's WXBizMsgCrypt samples (the same values in its C#, Java, PHP and Python samples)
W_TOKEN, W_KEY, W_CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
W_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
W_MSG = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXx"
    "accAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7"
    "PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZ"
    "S9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def test_wecom_url_verification_vector():
    crypto = WeComCrypto(W_TOKEN, W_KEY, W_CORP)
    assert crypto.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", W_ECHO) \
        == "1616140317555161061"
    with pytest.raises(CallbackRejected):
        crypto.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", "1409659589", "263014780", W_ECHO)


def test_wecom_message_vector():
    crypto = WeComCrypto(W_TOKEN, W_KEY, W_CORP)
    xml = crypto.open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", W_MSG)
    assert "<Content><![CDATA[hello]]></Content>" in xml and "<MsgId>4561255354251345929</MsgId>" in xml
    with pytest.raises(CallbackRejected):  # the same message for another company
        WeComCrypto(W_TOKEN, W_KEY, "wxanothercorp").open(
            "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", W_MSG)
    with pytest.raises(CallbackRejected):  # a later timestamp than the one signed
        crypto.open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659814", "1372623149", W_MSG)


def test_wecom_round_trip_and_bad_settings():
    crypto = WeComCrypto(W_TOKEN, W_KEY, W_CORP)
    for text in ("", "泗洪县理论宣讲", "x" * 1000):
        assert crypto.decrypt(crypto.encrypt(text)) == text
    with pytest.raises(ChannelConfigError):
        WeComCrypto(W_TOKEN, W_KEY[:-1], W_CORP)
    with pytest.raises(CallbackRejected):
        crypto.decrypt("not base64!")


def test_feishu_decrypt_vector_and_signature():
    # Feishu's documented sample: Encrypt Key "test key" decrypts this to "hello world"
    crypto = FeishuCrypto("test key")
    assert crypto.decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == "hello world"
    with pytest.raises(CallbackRejected):
        FeishuCrypto("other key").decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
    assert crypto.decrypt(crypto.encrypt('{"type":"url_verification"}')) == '{"type":"url_verification"}'
    body = b'{"encrypt":"abc"}'
    import hashlib

    expected = hashlib.sha256(b"1700000000" + b"nonce-1" + b"test key" + body).hexdigest()
    assert crypto.signature("1700000000", "nonce-1", body) == expected
    crypto.check(expected, "1700000000", "nonce-1", body)
    for wrong in ("", expected[:-1] + ("1" if expected[-1] == "0" else "0"), crypto.signature("1700000001", "nonce-1", body)):
        with pytest.raises(CallbackRejected):
            crypto.check(wrong, "1700000000", "nonce-1", body)
