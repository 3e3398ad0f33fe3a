"""Direct mail through Lob (the ``lob-python`` SDK): letters or postcards from HTML templates.

Delivery guarantee: exactly once within Lob's 24 hours of idempotency. Every create carries
``Idempotency-Key: <touch id>``, so an attempt whose outcome is unclear (timeout, 5xx, a worker
that died mid-call) is simply sent again and Lob answers with the piece it already made. A claim
older than the key's lifetime is not resent: it becomes ``unknown`` (find it in Lob by the
``touch_id`` metadata). A 401 (the key refused, nothing made) is retried until the key is
fixed.

A postcard template holds both sides, the front first, split by the line ``<!-- back -->``; a
letter template is the whole letter (Lob prints the address block on the first page).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import lob_python
import urllib3
from lob_python.api.letters_api import LettersApi
from lob_python.api.postcards_api import PostcardsApi
from lob_python.exceptions import ApiException, ApiTypeError, ApiValueError
from lob_python.model.address_editable import AddressEditable
from lob_python.model.country_extended import CountryExtended
from lob_python.model.letter_editable import LetterEditable
from lob_python.model.ltr_use_type import LtrUseType
from lob_python.model.metadata_model import MetadataModel
from lob_python.model.postcard_editable import PostcardEditable
from lob_python.model.psc_use_type import PscUseType

from nurture.cadence.render import Rendered
from nurture.channels.base import (
    HTTP_TIMEOUT,
    Decision,
    NotSent,
    ProviderChannel,
    Rejected,
    Resend,
    Unclear,
    Unknown,
    Unsendable,
    credentials_refused,
    retry_after,
)
from nurture.contracts import Touch
from nurture.settings import Settings
from nurture.store import Store, TouchRecord, utcnow

#: Splits a postcard template into its front and back.
BACK_MARKER = "<!-- back -->"
#: Lob keeps an idempotency key this long (24 h), minus a margin for clocks.
KEY_LIFETIME = timedelta(hours=23)
#: Connect and read timeouts of one Lob request, in seconds.
TIMEOUTS = (10.0, HTTP_TIMEOUT)
#: A refused key (nothing made) and what to fix; retried until fixed. A 403 stays a permanent
#: refusal for the lead's channel.
CREDENTIALS = {401: "the API key was refused; check NURTURE_LOB_API_KEY"}


@dataclass(frozen=True)
class LobRequest:
    """A letter or postcard create request."""

    kind: Literal["letter", "postcard"]
    body: LetterEditable | PostcardEditable


def _detail(exc: ApiException) -> str:
    """Lob's own message for an error answer (``error.message``)."""
    detail = exc.reason or "error"
    try:
        error = json.loads(exc.body or b"{}").get("error") or {}
        detail = error.get("message") or detail
    except (ValueError, AttributeError, TypeError):
        pass
    return str(detail)


def _reason(exc: ApiException) -> str:
    return f"Lob {exc.status}: {_detail(exc)}"


class LobChannel(ProviderChannel[LobRequest]):
    """Letters and postcards through Lob, one per touch id (``Idempotency-Key``)."""

    name = "lob"

    def __init__(
        self,
        store: Store,
        api: lob_python.ApiClient,
        *,
        from_address: str | None,
        timeouts: tuple[float, float] = TIMEOUTS,
    ) -> None:
        super().__init__(store)
        self.api = api
        self.from_address = from_address
        self.timeouts = timeouts

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> LobChannel:
        """The adapter for the configured key, host and return address."""
        configuration = lob_python.Configuration(
            host=settings.lob_host.rstrip("/"), username=settings.secret("lob_api_key")
        )
        configuration.retries = 0  # Temporal retries, with the same idempotency key
        return cls(
            store, lob_python.ApiClient(configuration), from_address=settings.lob_from_address
        )

    def prepare(self, touch: Touch, rendered: Rendered) -> LobRequest:
        """A letter or postcard (``touch.mail_format``) to the lead's postal address."""
        lead, address = touch.lead, touch.lead.address
        if address is None:
            raise Unsendable("no postal address")
        if not rendered.html:
            raise Unsendable("the mail template rendered no HTML")
        fields = {
            "name": (lead.full_name or lead.company)[:40],
            "company": lead.company[:40],
            "address_line1": address.line1,
            "address_line2": address.line2,
            "address_city": address.city,
            "address_state": address.state,
            "address_zip": address.postal_code,
        }
        to = AddressEditable(  # unset fields are left out: the spec refuses nulls
            address_country=CountryExtended(address.country),
            **{k: v for k, v in fields.items() if v},
        )
        common = {
            "to": to,
            "description": touch.summary[:255],
            "metadata": MetadataModel(
                lead_id=lead.id,
                touch_id=touch.touch_id,
                **({"variant": touch.variant} if touch.variant else {}),
            ),
        }
        if touch.mail_format == "postcard":
            front, marker, back = rendered.html.partition(BACK_MARKER)
            if not marker:
                raise Unsendable(f"a postcard template needs a '{BACK_MARKER}' line between sides")
            return LobRequest(
                "postcard",
                PostcardEditable(
                    front=front.strip(),
                    back=back.strip(),
                    use_type=PscUseType("marketing"),
                    **common,
                ),
            )
        if not self.from_address:
            raise Unsendable("letters need a return address: set NURTURE_LOB_FROM_ADDRESS")
        return LobRequest(
            "letter",
            LetterEditable(
                _from=self.from_address,
                file=rendered.html,
                color=False,
                use_type=LtrUseType("marketing"),
                **common,
            ),
        )

    def submit(self, touch: Touch, request: LobRequest) -> str | None:
        """Create the piece with ``Idempotency-Key: <touch id>``; its Lob id.

        The answer is read as plain JSON (only its ``id``): lob-python's strict models would
        refuse a piece Lob did make if the answer held a value they do not know.
        """
        api = LettersApi(self.api) if request.kind == "letter" else PostcardsApi(self.api)
        try:
            response = api.create(
                request.body,
                idempotency_key=touch.touch_id,
                _request_timeout=self.timeouts,
                _preload_content=False,
            )
            return str(json.loads(response.data)["id"])
        except ApiException as exc:
            status = exc.status or 0
            if status in CREDENTIALS:
                raise credentials_refused("Lob", status, CREDENTIALS[status], _detail(exc)) from exc
            if status == 429:
                headers = exc.headers or {}
                raise NotSent(_reason(exc), retry_after(headers.get("Retry-After"))) from exc
            if 400 <= status < 500 and status != 408:
                raise Rejected(_reason(exc)) from exc
            raise Unclear(_reason(exc)) from exc
        except (ApiValueError, ApiTypeError) as exc:  # the SDK's checks, before sending
            raise Rejected(f"Lob (refused by lob-python): {exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:  # a 2xx without an id: Lob made it
            raise Unclear(f"Lob answered without a piece id: {exc!r}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # transport: resending is safe
            raise Unclear(f"Lob request failed: {exc!r}") from exc

    def reconcile(self, touch: Touch, row: TouchRecord, request: LobRequest) -> Decision:
        """Resend with the same idempotency key while Lob still remembers it."""
        if utcnow() - row.created_at < KEY_LIFETIME:
            return Resend()
        return Unknown(
            "delivery unknown: the Lob attempt did not finish and its idempotency key has "
            "expired; not resent (look for metadata touch_id in Lob)"
        )


__all__ = ["BACK_MARKER", "LobChannel", "LobRequest"]
