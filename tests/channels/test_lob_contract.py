"""Lob: letters and postcards with the real SDK against Prism and the stub."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from nurture.channels.lob import LobChannel
from nurture.contracts import Touch
from nurture.events import Channel
from nurture.lead import PostalAddress
from nurture.settings import Settings
from nurture.store import Store, utcnow
from tests.channels.conftest import (
    LETTER,
    POSTCARD,
    TEXT,
    closed_port_url,
    lob_spec_errors,
    make_touch,
    refused_key,
)
from tests.channels.stub import ProviderStub
from tests.conftest import make_lead


def channel(
    store: Store, host: str, from_address: str | None = "adr_1234abcd", timeout: float = 1.0
) -> LobChannel:
    """The adapter built from settings, as the worker builds it (a short timeout for the stub's
    held answers; Prism gets a patient one, it can be slow on a busy machine)."""
    settings = Settings(lob_api_key="test_key", lob_host=host, lob_from_address=from_address)
    adapter = LobChannel.from_settings(settings, store)
    adapter.timeouts = (timeout, timeout)
    return adapter


ADDRESS = PostalAddress(line1="1 Main St", city="Springfield", state="IL", postal_code="62701")
LEAD = make_lead("L7", address=ADDRESS)


def letter(step: str = "letter", **over: object) -> Touch:
    values = {"lead": LEAD, "template": "letter", "mail_format": "letter", **over}
    return make_touch(Channel.direct_mail, step, **values)


def postcard(step: str = "card", **over: object) -> Touch:
    values = {"lead": LEAD, "template": "card", "mail_format": "postcard", **over}
    return make_touch(Channel.direct_mail, step, **values)


def claim(store: Store, touch: Touch, hours_ago: float = 0) -> None:
    """A 'sending' row as a worker that died mid-call leaves it."""
    store.record_touch(
        touch_id=touch.touch_id,
        lead_id=touch.lead.id,
        cadence=touch.cadence,
        cadence_version=1,
        cycle=1,
        step_id=touch.step_id,
        channel="direct_mail",
        provider="lob",
        status="sending",
        summary=touch.summary,
        created_at=utcnow() - timedelta(hours=hours_ago),
    )


def test_letters_and_postcards_are_accepted_by_the_spec(store: Store, lob_mock: str) -> None:
    adapter = channel(store, lob_mock, timeout=10)
    sent = adapter.send(letter(), LETTER)
    assert sent.status == "sent", sent.error
    assert sent.provider == "lob" and (sent.provider_id or "").startswith("ltr_")
    card = adapter.send(postcard(), POSTCARD)
    assert card.status == "sent", card.error
    assert (card.provider_id or "").startswith("psc_")
    row = store.get_touch(letter().touch_id)
    assert row is not None and row.status == "sent" and row.body_html == LETTER.html
    assert row.recipient == "1 Main St, Springfield, IL, 62701, US"


def test_prism_does_not_check_letters_so_the_spec_schema_does(lob_mock: str) -> None:
    """Prism 5 answers 200 to any POST /letters of this spec; hence lob_spec_errors."""
    response = httpx.post(f"{lob_mock}/letters", json={}, auth=("test_key", ""), timeout=10)
    assert response.status_code == 200
    assert "'to' is a required property" in lob_spec_errors("letter", {})


def test_sent_pieces_match_the_spec_schema(store: Store, stub: ProviderStub) -> None:
    adapter = channel(store, stub.url)
    assert adapter.send(letter(), LETTER).status == "sent"
    assert adapter.send(postcard(), POSTCARD).status == "sent"
    [sent_letter] = stub.creates("/letters")
    [sent_card] = stub.creates("/postcards")
    assert lob_spec_errors("letter", sent_letter.body) == []
    assert lob_spec_errors("postcard", sent_card.body) == []


BAD_ZIP = ADDRESS.model_copy(update={"postal_code": "627"})
NO_STATE = ADDRESS.model_copy(update={"state": None})


@pytest.mark.parametrize("address", [BAD_ZIP, NO_STATE], ids=["bad-zip", "us-without-state"])
def test_a_postcard_breaking_the_spec_fails_the_touch(
    store: Store, lob_mock: str, address: PostalAddress
) -> None:
    """Prism answers 422 to an address the spec refuses; the channel stops for the lead."""
    touch = postcard(lead=make_lead("L7", address=address))
    result = channel(store, lob_mock, timeout=10).send(touch, POSTCARD)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("Lob 422")


def test_a_letter_breaking_the_spec_is_caught(store: Store, stub: ProviderStub) -> None:
    """What Prism lets through for letters, the spec schema catches (here: a 3-digit ZIP)."""
    touch = letter(lead=make_lead("L7", address=BAD_ZIP))
    assert channel(store, stub.url).send(touch, LETTER).status == "sent"  # the stub takes all
    [sent] = stub.creates("/letters")
    assert lob_spec_errors("letter", sent.body) != []
    good = {**sent.body, "to": {**sent.body["to"], "address_zip": "62701"}}
    assert lob_spec_errors("letter", good) == []


def test_the_piece_carries_address_metadata_and_idempotency_key(
    store: Store, stub: ProviderStub
) -> None:
    touch = letter()
    assert channel(store, stub.url).send(touch, LETTER).status == "sent"
    [request] = stub.creates("/letters")
    assert request.headers["Idempotency-Key"] == touch.touch_id
    body = request.body
    assert body["metadata"] == {"lead_id": "L7", "touch_id": touch.touch_id}
    assert body["to"] == {
        "name": "Ann Lee",
        "company": "Acme",
        "address_line1": "1 Main St",
        "address_city": "Springfield",
        "address_state": "IL",
        "address_zip": "62701",
        "address_country": "US",
    }
    assert body["from"] == "adr_1234abcd" and body["use_type"] == "marketing"
    assert body["file"] == LETTER.html
    assert channel(store, stub.url).send(postcard(), POSTCARD).status == "sent"
    [card] = stub.creates("/postcards")
    assert card.body["front"] == "<p>Front</p>" and card.body["back"] == "<p>Back: hello Ann</p>"


def test_an_ab_variant_is_in_the_metadata_and_the_spec_takes_it(
    store: Store, stub: ProviderStub
) -> None:
    touch = letter().model_copy(update={"variant": "handwritten"})
    assert channel(store, stub.url).send(touch, LETTER).status == "sent"
    [request] = stub.creates("/letters")
    assert request.body["metadata"]["variant"] == "handwritten"
    assert lob_spec_errors("letter", request.body) == []


def test_an_unfinished_attempt_is_resent_with_the_same_key(
    store: Store, stub: ProviderStub
) -> None:
    adapter, touch = channel(store, stub.url), letter()
    claim(store, touch)
    first = adapter.submit(touch, adapter.prepare(touch, LETTER))  # Lob made it, then we died
    result = adapter.send(touch, LETTER)
    assert (result.status, result.provider_id) == ("sent", first)
    assert len(stub.creates("/letters")) == 2 and len(stub.lob_pieces) == 1


def test_an_attempt_older_than_the_key_is_not_resent(store: Store, stub: ProviderStub) -> None:
    touch = letter()
    claim(store, touch, hours_ago=30)
    result = channel(store, stub.url).send(touch, LETTER)
    assert result.status == "skipped" and "idempotency key has expired" in (result.error or "")
    assert stub.requests == []


@pytest.mark.parametrize("status", [500, 503, "timeout", "dropped"])
def test_unclear_failures_are_retried_with_the_key(
    store: Store, stub: ProviderStub, status: int | str
) -> None:
    if status == "timeout":
        stub.hold = 2  # Lob makes the piece, the answer comes too late
    elif status == "dropped":
        stub.drop = True
    else:
        stub.fail(int(status), times=1)
    adapter, touch = channel(store, stub.url), letter()
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, LETTER)
    assert caught.value.type == "ProviderOutcomeUnclear" and not caught.value.non_retryable
    stub.drop = False
    result = adapter.send(touch, LETTER)
    assert result.status == "sent"
    assert {r.headers["Idempotency-Key"] for r in stub.creates("/letters")} == {touch.touch_id}
    assert len(stub.lob_pieces) == 1


def test_429_waits_for_retry_after(store: Store, stub: ProviderStub) -> None:
    stub.fail(429, times=1, **{"Retry-After": "3"})
    adapter, touch = channel(store, stub.url), letter()
    with pytest.raises(ApplicationError) as caught:
        adapter.send(touch, LETTER)
    assert caught.value.type == "ProviderNotSent"
    assert caught.value.next_retry_delay == timedelta(seconds=3)
    assert adapter.send(touch, LETTER).status == "sent"


@pytest.mark.parametrize("code", [400, 403, 404, 422])
def test_permanent_answers_fail_the_touch(store: Store, stub: ProviderStub, code: int) -> None:
    stub.fail(code)
    result = channel(store, stub.url).send(letter(), LETTER)
    assert result.status == "failed" and (result.error or "").startswith(f"Lob {code}")


@pytest.mark.parametrize("code", [401])
def test_a_refused_key_is_retried_until_fixed_then_sent_once(
    store: Store, stub: ProviderStub, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    stub.fail(code, times=2)  # two attempts before the key is fixed
    adapter, touch = channel(store, stub.url), postcard()
    for _ in range(2):
        message = refused_key(lambda: adapter.send(touch, POSTCARD), store, touch.touch_id, caplog)
        assert message.startswith(f"Lob {code}: ") and "check NURTURE_LOB_API_KEY" in message
    result = adapter.send(touch, POSTCARD)
    assert result.status == "sent"
    assert adapter.send(touch, POSTCARD).provider_id == result.provider_id  # settled
    assert len(stub.creates("/postcards")) == 3  # two refused, one made
    assert [p["id"] for p in stub.lob_pieces.values()] == [result.provider_id]


def test_connection_refused_is_retried(store: Store) -> None:
    with pytest.raises(ApplicationError):
        channel(store, closed_port_url()).send(letter(), LETTER)


def test_unsendable_pieces_are_skipped_before_any_request(store: Store, stub: ProviderStub) -> None:
    no_marker = channel(store, stub.url).send(postcard(), LETTER)
    assert no_marker.status == "skipped" and "<!-- back -->" in (no_marker.error or "")
    no_return = channel(store, stub.url, from_address=None).send(letter(), LETTER)
    assert no_return.status == "skipped" and "NURTURE_LOB_FROM_ADDRESS" in (no_return.error or "")
    no_html = channel(store, stub.url).send(letter(), TEXT)
    assert no_html.status == "skipped"
    assert stub.requests == [] and store.count_touches() == 0
