"""Encryption of every payload nurture hands to Temporal: the lead (name, email, phone, address)
in the workflow input, rendered messages in activities, query and update answers.

A payload is serialised, compressed (zlib level 1: a journey's input shrinks to about 45%,
at less than half the CPU of the default level; payloads under ``COMPRESS_FROM`` bytes, such
as summaries, are left as they are: zlib would only add its own cost), then encrypted with
AES-256-GCM; the key id travels in the payload's metadata, so keys can rotate:
``NURTURE_CODEC_KEYS="2026-12:<base64 key>,2026-06:<base64 key>"`` encrypts with the first key and
decrypts with any listed one. A payload whose key id is not listed fails loudly
(:class:`UnknownCodecKey`); a payload that is not ours (no ``binary/encrypted`` encoding: histories
recorded before encryption) passes through unchanged.

Outside production (the local demo), without ``NURTURE_CODEC_KEYS``, a key is generated once and
kept in ``data_dir/codec-keys`` (mode 600): nurture never runs without a codec.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from nurture.settings import Settings

__all__ = [
    "ENCODING",
    "KEY_FILE",
    "CodecKeyError",
    "EncryptionCodec",
    "UnknownCodecKey",
    "data_converter",
    "format_keys",
    "new_key",
    "parse_keys",
]

#: The ``encoding`` metadata of an encrypted payload (Temporal's convention for codecs).
ENCODING = b"binary/encrypted"
#: Metadata naming the key that encrypted the payload.
KEY_ID = "encryption-key-id"
#: Metadata naming the compression applied before encryption.
COMPRESSION = "encryption-compression"
#: The local demo's generated key file, in ``data_dir``.
KEY_FILE = "codec-keys"
_NONCE = 12
#: Smaller serialised payloads are encrypted uncompressed (no ``COMPRESSION`` metadata).
COMPRESS_FROM = 256
#: zlib's fastest level: a 9.6 kB journey input compresses to 4.2 kB in 0.13 ms (level 6: 4.0 kB
#: in 0.30 ms). Decompression reads any level.
COMPRESS_LEVEL = 1


class CodecKeyError(ValueError):
    """The codec keys are malformed (the message says which and how)."""


class UnknownCodecKey(KeyError):
    """A payload was encrypted with a key that is not listed in ``NURTURE_CODEC_KEYS``."""

    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        super().__init__(key_id)
        self.message = (
            f"payload encrypted with key id {key_id!r}, which is not in NURTURE_CODEC_KEYS "
            f"(listed: {', '.join(known) or 'none'}); add the retired key back to decrypt it"
        )

    def __str__(self) -> str:
        return self.message


def new_key() -> str:
    """A fresh random AES-256 key, base64."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def parse_keys(text: str) -> dict[str, bytes]:
    """``"id:base64key,id2:key2"`` as ``{id: key}`` in order (the first one encrypts)."""
    keys: dict[str, bytes] = {}
    for number, part in enumerate((p.strip() for p in text.split(",") if p.strip()), 1):
        key_id, sep, encoded = part.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise CodecKeyError(f"NURTURE_CODEC_KEYS entry {number} is not 'id:base64key'")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            raise CodecKeyError(f"NURTURE_CODEC_KEYS key {key_id!r} is not base64") from None
        if len(key) != 32:
            raise CodecKeyError(
                f"NURTURE_CODEC_KEYS key {key_id!r} has {len(key)} bytes; AES-256 needs 32"
            )
        if key_id in keys:
            raise CodecKeyError(f"NURTURE_CODEC_KEYS lists key id {key_id!r} twice")
        keys[key_id] = key
    if not keys:
        raise CodecKeyError("NURTURE_CODEC_KEYS lists no key")
    return keys


def format_keys(keys: Mapping[str, bytes]) -> str:
    """The settings' text form of ``keys`` (inverse of :func:`parse_keys`)."""
    return ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in keys.items())


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over zlib-compressed payloads; the key id is in the metadata (and is the
    associated data, so a payload cannot be passed off under another key id)."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        """``keys`` in order: the first encrypts, all decrypt."""
        if not keys:
            raise CodecKeyError("the payload codec needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.key_id = next(iter(keys))

    @classmethod
    def from_settings(cls, settings: Settings) -> EncryptionCodec:
        """The codec of ``NURTURE_CODEC_KEYS``; outside production without it, the local key
        file (created on first use)."""
        text = settings.secret("codec_keys")
        if text:
            return cls(parse_keys(text))
        if settings.env == "production":
            raise CodecKeyError("NURTURE_CODEC_KEYS is required in production")
        return cls(parse_keys(local_keys(settings.data_dir)))

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, compressed and encrypted with the current key."""
        nonce = os.urandom(_NONCE)
        plain = payload.SerializeToString()
        metadata = {"encoding": ENCODING, KEY_ID: self.key_id.encode()}
        if len(plain) >= COMPRESS_FROM:
            plain = zlib.compress(plain, COMPRESS_LEVEL)
            metadata[COMPRESSION] = b"zlib"
        sealed = self._ciphers[self.key_id].encrypt(nonce, plain, self.key_id.encode())
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """One payload back in clear (unchanged if it was not encrypted by this codec)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownCodecKey(key_id, list(self._ciphers))
        plain = cipher.decrypt(payload.data[:_NONCE], payload.data[_NONCE:], key_id.encode())
        if payload.metadata.get(COMPRESSION) == b"zlib":
            plain = zlib.decompress(plain)
        return Payload.FromString(plain)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt every payload."""
        return [self.decrypt(p) for p in payloads]


def local_keys(data_dir: Path) -> str:
    """The local demo's key (``data_dir/codec-keys``), generated on first use, readable by this
    user only."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        text = f"local:{new_key()}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        return text
    return path.read_text(encoding="utf-8").strip()


def data_converter(settings: Settings) -> DataConverter:
    """The converter of every Temporal client of nurture: pydantic models, encrypted."""
    return dataclasses.replace(
        pydantic_data_converter, payload_codec=EncryptionCodec.from_settings(settings)
    )
