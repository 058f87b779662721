"""The message encryption of WeCom (企业微信) callbacks and Feishu (飞书) events.

WeCom (WXBizMsgCrypt): AES-256-CBC with the 32-byte key decoded from the 43-character
EncodingAESKey (base64 with one "=" added), the key's first 16 bytes as IV, PKCS#7 padding to
32-byte blocks; the plaintext is 16 random bytes, a 4-byte big-endian length, the message and
the receiver id (the CorpID). The signature is the SHA-1 hex of token, timestamp, nonce and
ciphertext, sorted as strings and joined.

Feishu: AES-256-CBC with key = SHA-256(Encrypt Key), a random IV sent before the ciphertext,
PKCS#7 padding, all base64; a request is signed with X-Lark-Signature = SHA-256 hex of
timestamp + nonce + Encrypt Key + the raw body.

Both are checked against the platforms' published test vectors in tests/test_channel_crypto.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import CallbackRejected, ChannelConfigError


def _unpad(data: bytes, block: int) -> bytes:
    if not data:
        raise CallbackRejected("empty plaintext")
    n = data[-1]
    if not 1 <= n <= block or data[-n:] != bytes([n]) * n:
        raise CallbackRejected("bad padding: wrong key or a forged message")
    return data[:-n]


def _pad(data: bytes, block: int) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CallbackRejected(f"not base64: {exc}") from None


class WeComCrypto:
    """Signature and AES of one WeCom application's callbacks."""

    BLOCK = 32

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ChannelConfigError(
                "BULLETIN_BOT_WECOM_AES_KEY must be the 43-character EncodingAESKey from the WeCom console"
            )
        try:
            self.key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise ChannelConfigError("BULLETIN_BOT_WECOM_AES_KEY is not a valid EncodingAESKey") from None
        self.token = token
        self.receive_id = receive_id

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    def check(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not hmac.compare_digest(signature.encode(), self.signature(timestamp, nonce, encrypted).encode()):
            raise CallbackRejected("wrong msg_signature")

    def decrypt(self, encrypted: str) -> str:
        raw = _b64decode(encrypted)
        if not raw or len(raw) % 16:
            raise CallbackRejected("ciphertext is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize(), self.BLOCK)
        if len(plain) < 20:
            raise CallbackRejected("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or receiver.decode("utf-8", "replace") != self.receive_id:
            raise CallbackRejected("the message is for another CorpID")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRejected("plaintext is not UTF-8") from None

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        """The other direction (passive replies; the tests' stand-in)."""
        body = message.encode("utf-8")
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.receive_id.encode()
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(_pad(plain, self.BLOCK)) + encryptor.finalize()).decode()

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The GET verification: the decrypted echostr, which must be sent back as is."""
        self.check(signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def open(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """A POSTed message's XML, after its signature is checked."""
        self.check(signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)


class FeishuCrypto:
    """Decryption and signature check of one Feishu app's events (`encrypt_key` set in the console)."""

    def __init__(self, encrypt_key: str) -> None:
        self.encrypt_key = encrypt_key
        self.key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()

    def decrypt(self, encrypted: str) -> str:
        raw = _b64decode(encrypted)
        if len(raw) < 32 or len(raw) % 16:
            raise CallbackRejected("ciphertext is not an IV and whole AES blocks")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(raw[:16])).decryptor()
        plain = _unpad(decryptor.update(raw[16:]) + decryptor.finalize(), 16)
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRejected("plaintext is not UTF-8: wrong Encrypt Key") from None

    def encrypt(self, message: str, iv: bytes | None = None) -> str:
        iv = iv or os.urandom(16)
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        return base64.b64encode(iv + encryptor.update(_pad(message.encode("utf-8"), 16)) + encryptor.finalize()).decode()

    def signature(self, timestamp: str, nonce: str, body: bytes) -> str:
        return hashlib.sha256((timestamp + nonce + self.encrypt_key).encode("utf-8") + body).hexdigest()

    def check(self, signature: str, timestamp: str, nonce: str, body: bytes) -> None:
        if not signature or not hmac.compare_digest(signature.encode(), self.signature(timestamp, nonce, body).encode()):
            raise CallbackRejected("wrong or missing X-Lark-Signature")
