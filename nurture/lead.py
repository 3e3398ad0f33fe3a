"""The lead: who we nurture, validated at enrolment (email, E.164 phone, time zone, country)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

LEAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


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
    timezone: TimeZoneName | None = Field(None, description="IANA zone; default: the cadence's")
    country: CountryCode | None = Field(
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

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"invalid email {value!r}: {exc}") from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return e164_number(value, "phone") if value else None

    @model_validator(mode="after")
    def _reachable(self) -> Lead:
        if not (self.email or self.phone or self.address):
            raise ValueError("a lead needs an email, a phone or a postal address")
        return self

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()
