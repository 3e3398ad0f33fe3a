"""Enrolment: reading leads files, routing leads to cadences, snapshotting their calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from unittest.mock import patch

import pytest
from pydantic import ValidationError

from nurture.cadence.model import Cadence, cadence_files, load_cadence, parse_cadence
from nurture.journey.state import Phase, Stage
from nurture.lead import Lead, PostalAddress
from nurture.leads.enrollment import (
    lead_from_row,
    new_journey,
    read_leads,
    route,
    snapshot_calendar,
)
from nurture.settings import ROOT
from tests.conftest import make_lead

EXAMPLES = ROOT / "examples"
CADENCES = {p.stem: load_cadence(p) for p in cadence_files(ROOT / "cadences")}


def write_csv(tmp_path: Path, text: str) -> Path:
    """A leads file with this content."""
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return path


def cadence(name: str, segments: list[str], default: bool = False) -> Cadence:
    """A one-step cadence for routing tests."""
    return parse_cadence(
        f"name: {name}\nversion: 1\naudience: {{segments: {segments}, default: {default}}}\n"
        "steps:\n  - sms: {template: x}\n"
    )


# ---------------------------------------------------------------- leads files


def test_example_leads_all_good() -> None:
    """The example file has no bad rows; line numbers follow the file."""
    leads, errors = read_leads(EXAMPLES / "leads.csv")
    assert errors == []
    assert len(leads) == 12
    assert [line for line, _ in leads] == list(range(2, 14))
    by_id = {lead.id: lead for _, lead in leads}
    dana = by_id["str-1001"]
    assert dana.address == PostalAddress(
        line1="500 Harbor Blvd",
        line2="Suite 300",
        city="Oakland",
        state="CA",
        postal_code="94607",
        country="US",
    )
    assert dana.fields == {"industry": "Food & Beverage", "employees": "3200"}
    assert dana.timezone == "America/Los_Angeles"
    assert by_id["std-2003"].phone is None
    assert by_id["str-1004"].address is None


def test_bad_example_rows_are_reported_and_good_ones_kept() -> None:
    """Three bad rows (email, phone, time zone) on lines 3, 5 and 7; the rest are kept."""
    leads, errors = read_leads(EXAMPLES / "bad-leads.csv")
    assert [(line, lead.id) for line, lead in leads] == [
        (2, "ok-5001"),
        (4, "ok-5003"),
        (6, "ok-5005"),
    ]
    assert [(e.line, e.lead_id) for e in errors] == [
        (3, "bad-5002"),
        (5, "bad-5004"),
        (7, "bad-5006"),
    ]
    assert errors[0].message.startswith("email:")
    assert "theo.park@@example.com" in errors[0].message
    assert errors[1].message.startswith("phone:")
    assert "E.164" in errors[1].message
    assert errors[2].message.startswith("timezone:")
    assert "Australia/Perth-Central" in errors[2].message
    assert str(errors[1]).startswith("line 5 (bad-5004): phone:")


def test_duplicate_id_in_a_file(tmp_path: Path) -> None:
    """The second row with an id already seen is rejected, naming the first line."""
    path = write_csv(tmp_path, "id,email\na1,a@example.com\na2,b@example.com\na1,c@example.com\n")
    leads, errors = read_leads(path)
    assert [lead.id for _, lead in leads] == ["a1", "a2"]
    assert len(errors) == 1
    assert (errors[0].line, errors[0].lead_id) == (4, "a1")
    assert "duplicate of line 2" in errors[0].message


def test_missing_id_header(tmp_path: Path) -> None:
    """A file without an id column is rejected as a whole, at line 1."""
    leads, errors = read_leads(write_csv(tmp_path, "email,phone\na@example.com,\n"))
    assert leads == []
    assert len(errors) == 1
    assert errors[0].line == 1
    assert "'id'" in errors[0].message


def test_empty_file(tmp_path: Path) -> None:
    """An empty file has no header either."""
    leads, errors = read_leads(write_csv(tmp_path, ""))
    assert leads == []
    assert errors[0].line == 1


def test_line_numbers_after_a_multiline_field(tmp_path: Path) -> None:
    """A quoted field over two lines shifts the following line numbers."""
    path = write_csv(
        tmp_path, 'id,email,notes\na1,a@example.com,"two\nlines"\na2,bad,\na3,c@example.com,\n'
    )
    leads, errors = read_leads(path)
    assert [(line, lead.id) for line, lead in leads] == [(2, "a1"), (5, "a3")]
    assert leads[0][1].fields == {"notes": "two\nlines"}
    assert [(e.line, e.lead_id) for e in errors] == [(4, "a2")]


def test_line_numbers_after_a_blank_line(tmp_path: Path) -> None:
    """Blank lines are skipped but still count: a bad row is reported on its own line."""
    path = write_csv(
        tmp_path, "id,email,timezone\n\na1,not-an-email,UTC\na2,b@example.com,Bad/Zone\n"
    )
    leads, errors = read_leads(path)
    assert leads == []
    assert [(e.line, e.lead_id) for e in errors] == [(3, "a1"), (4, "a2")]


def test_byte_order_mark_and_padding(tmp_path: Path) -> None:
    """An Excel BOM and spaces around values are tolerated."""
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,email\n a1 , A@Example.com \n".encode())
    leads, errors = read_leads(path)
    assert errors == []
    assert leads[0][1].id == "a1"
    assert leads[0][1].email is not None


def test_unreachable_lead_is_rejected(tmp_path: Path) -> None:
    """A lead needs an email, phone or address."""
    leads, errors = read_leads(write_csv(tmp_path, "id,first_name\na1,Ann\n"))
    assert leads == []
    assert errors[0].line == 2
    assert "email, a phone or a postal address" in errors[0].message


def test_lead_from_row_columns() -> None:
    """Known columns, address_* columns and CRM fields; empty values dropped."""
    lead = lead_from_row(
        {
            "id": " x1 ",
            "email": "x@example.com",
            "phone": "+442079460958",
            "country": "gb",
            "timezone": "Europe/London",
            "address_line1": "22 Wharf Road",
            "address_city": "London",
            "address_postal_code": "N1 7GR",
            "address_country": "GB",
            "address_line2": "",
            "industry": "Logistics",
            "employees": "",
            "": "stray",
        }
    )
    assert lead.id == "x1"
    assert lead.country == "GB"
    assert lead.address == PostalAddress(
        line1="22 Wharf Road", city="London", postal_code="N1 7GR", country="GB"
    )
    assert lead.fields == {"industry": "Logistics"}


def test_lead_from_row_incomplete_address() -> None:
    """An address without a city is an error, not silently dropped."""
    with pytest.raises(ValidationError):
        lead_from_row({"id": "x1", "address_line1": "1 Main St", "address_postal_code": "1"})


@pytest.mark.parametrize(
    ("column", "value", "word"),
    [
        ("email", "nobody", "email"),
        ("phone", "4155550123", "E.164"),
        ("phone", "+1415555", "valid"),
        ("timezone", "Mars/Olympus", "time zone"),
        ("country", "XX", "country"),
        ("id", "has space", "lead id"),
    ],
)
def test_lead_field_validation(column: str, value: str, word: str) -> None:
    """Each lead column is validated with a message that says what is wrong."""
    row = {"id": "x1", "email": "x@example.com", column: value}
    with pytest.raises(ValidationError) as caught:
        lead_from_row(row)
    assert word in str(caught.value)


def test_phone_is_normalized_to_e164() -> None:
    """A valid phone with spaces comes out in E.164."""
    assert make_lead(phone="+1 415 555 0123").phone == "+14155550123"


# ---------------------------------------------------------------- routing


def test_route_sample_cadences_by_segment() -> None:
    """Segments pick their cadence; unknown and empty segments take the default."""
    cadences = list(CADENCES.values())
    assert route(make_lead(segment="strategic"), cadences).name == "strategic"
    assert route(make_lead(segment="standard"), cadences).name == "standard"
    assert route(make_lead(segment="recycled"), cadences).name == "long-term-nurture"
    assert route(make_lead(segment="unheard-of"), cadences).name == "standard"
    assert route(make_lead(segment=""), cadences).name == "standard"


def test_route_example_leads() -> None:
    """Every example lead finds a cadence."""
    leads, _ = read_leads(EXAMPLES / "leads.csv")
    chosen = {lead.id: route(lead, CADENCES.values()).name for _, lead in leads}
    assert chosen["str-1001"] == "strategic"
    assert chosen["std-2001"] == "standard"
    assert chosen["new-3001"] == "standard"
    assert chosen["rec-4001"] == "long-term-nurture"


def test_route_ambiguous_or_missing() -> None:
    """Two matches, two defaults, or no match and no default: a LookupError naming them."""
    a, b = cadence("a", ["x"]), cadence("b", ["x"])
    with pytest.raises(LookupError, match="matches 2 cadences \\(a, b\\)"):
        route(make_lead(segment="x"), [a, b])
    with pytest.raises(LookupError, match="--cadence"):
        route(make_lead(segment="y"), [a, b])
    d1, d2 = cadence("d1", [], default=True), cadence("d2", [], default=True)
    with pytest.raises(LookupError, match="d1, d2"):
        route(make_lead(segment="y"), [d1, d2])
    assert route(make_lead(segment="x"), [a, d1, d2]).name == "a"


# ---------------------------------------------------------------- calendar snapshot


def test_snapshot_uses_the_cadence_calendar_for_a_lead_without_one() -> None:
    """No lead zone/country: the cadence's, with its holidays for three years."""
    lead = make_lead()
    snap = snapshot_calendar(lead, CADENCES["strategic"], date(2026, 1, 5))
    assert (snap.timezone, snap.country) == ("America/New_York", "US")
    assert date(2026, 12, 25) in snap.holidays
    assert date(2028, 7, 4) in snap.holidays
    assert date(2029, 1, 1) not in snap.holidays
    assert all(d.year >= 2026 for d in snap.holidays)


def test_snapshot_uses_the_lead_calendar() -> None:
    """The lead's zone and country win; another country gets no subdivision."""
    lead = make_lead(timezone="Europe/London", country="GB")
    snap = snapshot_calendar(lead, CADENCES["standard"], date(2026, 1, 5))
    assert (snap.timezone, snap.country, snap.subdivision) == ("Europe/London", "GB", None)
    assert date(2026, 12, 28) in snap.holidays  # Boxing Day (substitute)
    assert date(2026, 7, 4) not in snap.holidays


def test_snapshot_subdivision_only_for_the_cadence_country() -> None:
    """A cadence subdivision applies to leads of its own country."""
    text = (
        (ROOT / "cadences" / "standard.yaml")
        .read_text()
        .replace("  country: US\n", "  country: US\n  subdivision: CA\n")
    )
    ca = parse_cadence(text)
    us = snapshot_calendar(make_lead(country="US"), ca, date(2026, 1, 5))
    assert us.subdivision == "CA"
    assert date(2026, 3, 31) in us.holidays  # Cesar Chavez Day
    de = snapshot_calendar(make_lead(country="DE"), ca, date(2026, 1, 5))
    assert de.subdivision is None
    assert date(2026, 10, 3) in de.holidays


def test_new_journey() -> None:
    """A new journey is ready, at the start of cycle 1, with the snapshot and a timeline."""
    now = datetime(2026, 2, 2, 12, tzinfo=UTC)
    lead: Lead = make_lead(timezone="America/Denver")
    journey = new_journey(lead, CADENCES["strategic"], now)
    assert (journey.cycle, journey.position, journey.enrolment) == (1, 0, 1)
    assert journey.phase is Phase.ready
    assert journey.stage is Stage.new
    assert journey.calendar.timezone == "America/Denver"
    assert date(2026, 5, 25) in journey.calendar.holidays
    assert journey.timeline[0].text == "Enrolled in strategic v1 (3 cycles)"


def test_a_decoded_journey_does_not_revalidate_its_lead() -> None:
    """Normalisation runs once, at input: decoding a stored lead (as a replay does) never calls
    the libraries again, so an upgrade that would now refuse a value cannot wedge a journey."""
    lead = make_lead(phone="+1 415 555 0123")
    assert lead.phone == "+14155550123"
    stored = lead.model_dump_json()
    with (
        patch("nurture.lead.e164_number", side_effect=RuntimeError("re-validated")),
        patch("nurture.lead.validate_email", side_effect=RuntimeError("re-validated")),
        patch("nurture.lead.check_timezone", side_effect=RuntimeError("re-validated")),
    ):
        assert Lead.model_validate_json(stored) == lead
        with pytest.raises(RuntimeError, match="re-validated"):
            Lead.from_input(lead.model_dump())
