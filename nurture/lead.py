"""The lead: who we nurture, validated and normalised once, at input (email, E.164 phone, time
zone, country).

Data from outside (a CSV row, a file, an API call) is validated with the :data:`INPUT` context
(:meth:`Lead.from_input`, :func:`nurture.yamlfiles.parse_model`): the library checks and
normalisation run then. A journey decoded from Temporal has no context, so those checks do not run
again on replay: a library upgrade can never change or reject a running journey's lead or cadence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

LEAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: The validation context of data from outside: run the library checks and normalisation.
INPUT: dict[str, bool] = {"input": True}


def from_input(info: ValidationInfo) -> bool:
    """True while validating outside data (see :data:`INPUT`); False when decoding a journey."""
    return bool(info.context and info.context.get("input"))


class PostalAddress(BaseModel):
    """Where direct mail goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line1: str
    line2: str | None = None
    city: str
    state: str | None = None
    postal_code: str
    country: str = "US"

    def one_line(self) -> str:
        """The address on one line, for the outbox."""
        parts = [self.line1, self.line2, self.city, self.state, self.postal_code, self.country]
        return ", ".join(p for p in parts if p)


@lru_cache
def holiday_countries() -> frozenset[str]:
    """ISO alpha-2 codes the ``holidays`` package has a calendar for."""
    return frozenset(holidays.list_supported_countries())


def check_timezone(value: str) -> str:
    """An IANA time zone name, or a clear error."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def check_country(value: str) -> str:
    """An ISO alpha-2 country with a holiday calendar, or a clear error."""
    value = value.upper()
    if value not in holiday_countries():
        raise ValueError(f"unknown country {value!r} (ISO 3166 alpha-2 with a holiday calendar)")
    return value


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
CountryCode = Annotated[str, AfterValidator(check_country)]


def _zone_on_input(value: str, info: ValidationInfo) -> str:
    return check_timezone(value) if from_input(info) else value


def _country_on_input(value: str, info: ValidationInfo) -> str:
    return check_country(value) if from_input(info) else value


#: A time zone / country checked at input only (fields of models a journey carries).
InputTimeZone = Annotated[str, AfterValidator(_zone_on_input)]
InputCountry = Annotated[str, AfterValidator(_country_on_input)]


def e164_number(value: str, what: str = "phone") -> str:
    """A valid phone number in E.164 form (``+14155550123``), or a ValueError naming ``what``."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{what} {value!r} is not in E.164 form (+<country><number>)") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{what} {value!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Lead(BaseModel):
    """A person we nurture. ``id`` is the CRM's id; the workflow is ``lead-{id}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable lead id: letters, digits, '_', '.', '-'")
    email: str | None = None
    phone: str | None = Field(None, description="E.164, e.g. +14155550123")
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    title: str = ""
    segment: str = ""
    owner: str = ""
    timezone: InputTimeZone | None = Field(None, description="IANA zone; default: the cadence's")
    country: InputCountry | None = Field(
        None, description="ISO 3166 alpha-2; default: the cadence's"
    )
    address: PostalAddress | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="Any other CRM fields")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not LEAD_ID.match(value):
            raise ValueError("lead id must be 1-100 letters, digits, '_', '.' or '-'")
        return value

    @classmethod
    def from_input(cls, data: dict[str, Any]) -> Lead:
        """A lead from outside data: validated and normalised (see :data:`INPUT`)."""
        return cls.model_validate(data, context=INPUT)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        if not from_input(info):
            return value
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"invalid email {value!r}: {exc}") from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        return e164_number(value, "phone") if from_input(info) else value

    @model_validator(mode="after")
    def _reachable(self) -> Lead:
        if not (self.email or self.phone or self.address):
            raise ValueError("a lead needs an email, a phone or a postal address")
        return self

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()
