"""The payload codec: round trips, key rotation, unknown keys, the settings it reads."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload

from nurture.journey.state import JourneyInput
from nurture.leads.enrollment import new_journey
from nurture.settings import Settings
from nurture.temporal.codec import (
    ENCODING,
    KEY_FILE,
    CodecKeyError,
    EncryptionCodec,
    UnknownCodecKey,
    data_converter,
    format_keys,
    new_key,
    parse_keys,
)
from tests.conftest import TEST_CODEC_KEYS, fixture_cadence, make_lead


def _keys(*ids: str) -> dict[str, bytes]:
    return parse_keys(",".join(f"{i}:{new_key()}" for i in ids))


def _journey_payload() -> Payload:
    journey = new_journey(
        make_lead("L-codec"), fixture_cadence("drip"), datetime(2026, 12, 1, tzinfo=UTC)
    )
    converter = data_converter(Settings(codec_keys=TEST_CODEC_KEYS)).payload_converter
    return converter.to_payloads([JourneyInput(journey=journey)])[0]


async def test_round_trip_hides_personal_data_and_compresses() -> None:
    codec = EncryptionCodec(_keys("k1"))
    plain = _journey_payload()
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"k1"
    for secret in (b"l-codec@example.com", b"+14155550123", b"Main St", b"Ann", b"Acme"):
        assert secret in plain.data
        assert secret not in sealed.data
    assert len(sealed.data) < len(plain.data) / 2  # zlib before encryption
    assert await codec.decode([sealed]) == [plain]


async def test_a_small_payload_is_encrypted_without_compression() -> None:
    codec = EncryptionCodec(_keys("k1"))
    summary = Payload(metadata={"encoding": b"json/plain"}, data='"Email 1/5 · bench"'.encode())
    [sealed] = await codec.encode([summary])
    assert (
        sealed.metadata["encoding"] == ENCODING and "encryption-compression" not in sealed.metadata
    )
    assert summary.data not in sealed.data
    assert await codec.decode([sealed]) == [summary]


async def test_payloads_compressed_at_the_former_level_still_decode() -> None:
    keys = _keys("k1")
    plain = _journey_payload()
    nonce = b"\x01" * 12
    earlier = Payload(  # as releases before level 1 wrote it (zlib's default level)
        metadata={
            "encoding": ENCODING,
            "encryption-key-id": b"k1",
            "encryption-compression": b"zlib",
        },
        data=nonce
        + AESGCM(keys["k1"]).encrypt(nonce, zlib.compress(plain.SerializeToString()), b"k1"),
    )
    assert await EncryptionCodec(keys).decode([earlier]) == [plain]


async def test_retired_key_still_decodes_while_listed() -> None:
    old, new = _keys("2026-06"), _keys("2026-12")
    [sealed] = await EncryptionCodec(old).encode([_journey_payload()])
    rotated = EncryptionCodec({**new, **old})  # the new key encrypts, the old one still decrypts
    assert rotated.key_id == "2026-12"
    [plain] = await rotated.decode([sealed])
    assert plain == EncryptionCodec(old).decrypt(sealed)
    assert b"l-codec@example.com" in plain.data
    [resealed] = await rotated.encode([_journey_payload()])
    assert resealed.metadata["encryption-key-id"] == b"2026-12"


async def test_unknown_key_id_fails_loudly() -> None:
    [sealed] = await EncryptionCodec(_keys("gone")).encode([_journey_payload()])
    with pytest.raises(UnknownCodecKey, match="key id 'gone', which is not in NURTURE_CODEC_KEYS"):
        await EncryptionCodec(_keys("k1", "k2")).decode([sealed])


async def test_tampered_payload_or_key_id_is_refused() -> None:
    keys = _keys("a", "b")
    codec = EncryptionCodec(keys)
    [sealed] = await codec.encode([_journey_payload()])
    forged = Payload(metadata={**sealed.metadata, "encryption-key-id": b"b"}, data=sealed.data)
    with pytest.raises(InvalidTag):
        codec.decrypt(forged)
    flipped = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    with pytest.raises(InvalidTag):
        codec.decrypt(flipped)


async def test_payloads_from_before_encryption_pass_through() -> None:
    plain = _journey_payload()
    assert await EncryptionCodec(_keys("k")).decode([plain]) == [plain]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "lists no key"),
        ("nokey", "is not 'id:base64key'"),
        ("k:not base64!", "is not base64"),
        ("k:c2hvcnQ=", "has 5 bytes; AES-256 needs 32"),
        (f"k:{new_key()},k:{new_key()}", "lists key id 'k' twice"),
    ],
)
def test_malformed_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(CodecKeyError, match=message):
        parse_keys(text)


def test_keys_text_round_trip() -> None:
    keys = _keys("a", "b")
    assert parse_keys(format_keys(keys)) == keys


def test_local_demo_generates_one_private_key_file(tmp_path: Path) -> None:
    settings = Settings(codec_keys=None, data_dir=tmp_path)
    first = EncryptionCodec.from_settings(settings)
    path = tmp_path / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert EncryptionCodec.from_settings(settings).key_id == first.key_id == "local"
    assert path.read_text() == text  # kept, not regenerated


def test_production_never_runs_without_keys(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match="required in production"):
        EncryptionCodec.from_settings(
            Settings(env="production", codec_keys=None, data_dir=tmp_path)
        )
    assert not (tmp_path / KEY_FILE).exists()


def test_settings_never_show_secrets() -> None:
    settings = Settings(codec_keys=TEST_CODEC_KEYS, session_secret="top-secret-session-value")
    shown = repr(settings) + str(settings.model_dump())
    assert "top-secret-session-value" not in shown
    assert TEST_CODEC_KEYS.split(":")[1] not in shown
    assert settings.secret("session_secret") == "top-secret-session-value"


def test_production_lists_every_missing_setting() -> None:
    settings = Settings(env="production", codec_keys=None, session_secret=None)
    assert settings.production_problems() == [
        "NURTURE_SESSION_SECRET is missing (it signs staff login sessions)",
        "NURTURE_CODEC_KEYS is missing (it encrypts the personal data Temporal stores)",
    ]
    assert Settings(env="development", codec_keys=None).production_problems() == []
