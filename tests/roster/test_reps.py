"""The rep directory: reps and teams in the store, passwords, working hours, round robin."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from nurture.roster.file import ROSTER_FILE, load_if_empty, load_roster, read_roster
from nurture.roster.hours import format_hours, is_working, parse_hours
from nurture.roster.reps import Rep, RepDirectory, RepNotFound, Team
from nurture.settings import ROOT
from nurture.store import Store
from nurture.yamlfiles import FileError

#: Cheap Argon2id parameters so the tests stay fast (production uses argon2-cffi's defaults).
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def directory(any_store: Store) -> RepDirectory:
    """On SQLite and PostgreSQL."""
    return RepDirectory(any_store, hasher=FAST)


def rep(username: str, queue: str = "sdr", **over: object) -> Rep:
    values: dict[str, object] = {"username": username, "name": username.title(), "queue": queue}
    values.update(over)
    return Rep.model_validate(values)


# ---------------------------------------------------------------- working hours


def test_hours_parse_ranges_parts_and_wraparound() -> None:
    hours = parse_hours("mon-thu 09:00-17:00, fri 09:00-13:00")
    assert sorted(hours) == [0, 1, 2, 3, 4]
    assert format_hours(hours) == "mon-thu 09:00-17:00, fri 09:00-13:00"
    assert sorted(parse_hours("fri-mon 10:00-14:00")) == [0, 4, 5, 6]
    assert format_hours(parse_hours("mon-sun 00:00-24:00")) == "mon-sun 00:00-24:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("weekdays 09:00-17:00", "unknown day"),
        ("mon-fri", "expected days then hours"),
        ("mon-fri 17:00-09:00", "start must be before end"),
        ("mon-fri 09:00-17:00, fri 10:00-12:00", "fri appears twice"),
    ],
)
def test_bad_hours_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


def test_working_hours_are_read_in_the_reps_zone() -> None:
    hours = parse_hours("mon-fri 09:00-17:00")
    monday_noon_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert is_working(hours, "Europe/London", monday_noon_utc)
    assert not is_working(hours, "America/Los_Angeles", monday_noon_utc)  # 04:00 there
    assert not is_working(hours, "UTC", datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday


def test_a_rep_is_validated() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        rep("ann", timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown day"):
        rep("ann", hours="someday 09:00-10:00")
    with pytest.raises(ValidationError, match="username"):
        rep("Ann Lee!")
    with pytest.raises(ValidationError, match="invalid email"):
        rep("ann", email="not-an-email")
    assert rep("  Ann.Lee ").username == "ann.lee"


# ---------------------------------------------------------------- the directory


def test_add_get_update_and_list(directory: RepDirectory) -> None:
    directory.add(rep("ann"))
    directory.add(rep("bob", role="manager"))
    directory.add(rep("cy", queue="sales"))
    with pytest.raises(ValueError, match="already exists"):
        directory.add(rep("ann"))
    assert directory.get("ANN") == rep("ann")
    assert directory.get("nobody") is None
    changed = directory.update("ann", hours="mon-fri 08:00-16:00", timezone="Europe/Paris")
    assert changed.hours == "mon-fri 08:00-16:00" and directory.get("ann") == changed
    with pytest.raises(RepNotFound):
        directory.update("nobody", name="x")
    assert [r.username for r in directory.in_queue("sdr")] == ["ann", "bob"]
    assert [r.username for r in directory.in_queue("sdr", role="rep")] == ["ann"]
    assert [r.username for r in directory.managers()] == ["bob"]
    directory.update("ann", active=False)
    assert directory.in_queue("sdr", role="rep") == []
    assert [r.username for r in directory.all()] == ["cy", "ann", "bob"]  # by queue, then name


def test_manager_of_a_queue(directory: RepDirectory) -> None:
    assert directory.manager_of("sdr") is None
    directory.add(rep("mia", role="manager"))
    directory.add(rep("max", role="manager"))
    assert directory.manager_of("sdr").username == "max"  # no team: first manager by name
    directory.save_team(Team(queue="sdr", name="SDRs", manager="mia"))
    assert directory.manager_of("sdr").username == "mia"
    directory.update("mia", active=False)
    assert directory.manager_of("sdr").username == "max"
    assert directory.queues() == ["sdr"]


# ---------------------------------------------------------------- passwords


def test_passwords_are_argon2id_hashes_and_authenticate(directory: RepDirectory) -> None:
    directory.add(rep("ann"))
    assert directory.authenticate("ann", "anything at all") is None  # no password yet
    with pytest.raises(ValueError, match="at least"):
        directory.set_password("ann", "short")
    with pytest.raises(RepNotFound):
        directory.set_password("nobody", "a long enough password")
    directory.set_password("ann", "correct horse battery")
    with directory.store.session() as session:
        from nurture.roster.reps import RepRow

        stored = session.get(RepRow, "ann").password_hash
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert directory.authenticate("ann", "correct horse battery") == directory.get("ann")
    assert directory.authenticate("Ann", "correct horse battery") is not None
    assert directory.authenticate("ann", "wrong horse battery") is None
    assert directory.authenticate("nobody", "correct horse battery") is None
    directory.update("ann", active=False)
    assert directory.authenticate("ann", "correct horse battery") is None


def test_old_hashes_are_upgraded_at_login(directory: RepDirectory, tmp_path: Path) -> None:
    directory.add(rep("ann"))
    directory.set_password("ann", "correct horse battery")
    stronger = RepDirectory(directory.store, hasher=PasswordHasher(time_cost=2, memory_cost=2048))
    assert stronger.authenticate("ann", "correct horse battery") is not None
    with directory.store.session() as session:
        from nurture.roster.reps import RepRow

        assert "m=2048,t=2" in session.get(RepRow, "ann").password_hash


def test_the_default_hasher_is_argon2id(tmp_path: Path) -> None:
    slow = RepDirectory(Store(f"sqlite:///{tmp_path / 'slow.db'}", upgrade=True))
    assert slow.hasher.hash("x" * 12).startswith("$argon2id$")


# ---------------------------------------------------------------- round robin


def test_round_robin_rotates_through_active_reps(directory: RepDirectory) -> None:
    for name in ("cy", "ann", "bob"):
        directory.add(rep(name))
    directory.add(rep("boss", role="manager"))
    picks = [directory.next_round_robin("sdr").username for _ in range(7)]
    assert picks == ["ann", "bob", "cy", "ann", "bob", "cy", "ann"]
    # excluding the rep a task is taken from
    assert directory.next_round_robin("sdr", exclude="bob").username == "cy"
    assert directory.next_round_robin("sdr", exclude="ann").username == "bob"
    directory.update("cy", active=False)
    assert [directory.next_round_robin("sdr").username for _ in range(3)] == ["ann", "bob", "ann"]
    assert directory.next_round_robin("empty-queue") is None
    assert directory.next_round_robin("sdr", exclude="ann").username == "bob"


def test_round_robin_prefers_reps_at_work(directory: RepDirectory) -> None:
    directory.add(rep("ann", timezone="UTC", hours="mon-fri 09:00-17:00"))
    directory.add(rep("bob", timezone="UTC", hours="mon-fri 17:00-24:00"))
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # a Monday
    assert [directory.next_round_robin("sdr", at=evening).username for _ in range(2)] == [
        "bob",
        "bob",
    ]
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # nobody works: everyone takes turns
    assert {directory.next_round_robin("sdr", at=sunday).username for _ in range(2)} == {
        "ann",
        "bob",
    }


def test_round_robin_is_fair_under_concurrent_callers(store_url: str) -> None:
    """Threads on two directories (as two worker processes would be) share one cursor: every
    turn goes to exactly one caller, so each rep gets the same number of tasks."""
    first = RepDirectory(Store(store_url), hasher=FAST)
    second = RepDirectory(Store(store_url), hasher=FAST)
    for name in ("ann", "bob", "cy"):
        first.add(rep(name))
    start = threading.Barrier(8)

    def worker(index: int) -> list[str]:
        directory = first if index % 2 else second
        start.wait()
        return [directory.next_round_robin("sdr").username for _ in range(30)]

    with ThreadPoolExecutor(8) as pool:
        picks = [name for batch in pool.map(worker, range(8)) for name in batch]
    assert Counter(picks) == {"ann": 80, "bob": 80, "cy": 80}


# ---------------------------------------------------------------- the roster file


def test_the_sample_roster_loads(directory: RepDirectory) -> None:
    report = load_roster(directory, ROOT / "cadences" / ROSTER_FILE)
    assert report.teams == 3 and len(report.added) == 11 and not report.updated
    assert len(directory.in_queue("sdr", role="rep")) == 3
    assert len(directory.in_queue("sales", role="rep")) == 2
    assert [r.username for r in directory.in_queue("sales-strategic", role="rep")] == [
        "jordan.patel",
        "priya.shah",
    ]
    assert directory.manager_of("sdr").username == "dana.brooks"
    assert directory.manager_of("sales").username == "morgan.lee"
    assert {r.manager for r in directory.in_queue("sdr", role="rep")} == {"dana.brooks"}
    assert directory.get("jamie.rep").timezone == "America/Chicago"
    assert not any(r.has_password for r in directory.all())
    directory.set_password("alex.rep", "correct horse battery")
    again = load_roster(directory, ROOT / "cadences" / ROSTER_FILE)
    assert len(again.updated) == 11 and not again.added
    assert directory.get("dana.brooks").roles == {"manager", "admin"}
    assert directory.get("robin.fox").roles == {"marketing"}
    assert directory.get("priya.shah").roles == {"rep", "sales"}
    assert directory.get("alex.rep").roles == {"rep"}
    assert directory.get("alex.rep").has_password  # loading keeps passwords


def test_roster_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / ROSTER_FILE
    path.write_text(
        "teams:\n"
        "  - queue: sdr\n"
        "    reps:\n"
        "      - username: ann\n"
        "        name: Ann\n"
        "        password: hunter2\n"
        "      - username: bob\n"
        "        name: Bob\n"
        "        timezone: Mars/Base\n"
    )
    with pytest.raises(FileError) as caught:
        read_roster(path)
    text = str(caught.value)
    assert f"{path}:6:9: teams[0].reps[0].password: unknown field" in text
    assert f"{path}:9:9: teams[0].reps[1].timezone: unknown time zone 'Mars/Base'" in text


def test_the_roster_file_is_not_a_cadence() -> None:
    from nurture.cadence.model import cadence_files

    assert ROSTER_FILE not in [p.name for p in cadence_files(ROOT / "cadences")]


def test_the_demo_loads_the_roster_only_into_an_empty_directory(
    directory: RepDirectory, tmp_path: Path
) -> None:
    assert load_if_empty(directory, tmp_path) is None  # no roster file there
    report = load_if_empty(directory, ROOT / "cadences")
    assert report is not None and len(report.added) == 11
    assert load_if_empty(directory, ROOT / "cadences") is None  # people already: left alone


def test_a_person_may_hold_several_roles(directory: RepDirectory, tmp_path: Path) -> None:
    """``roles:`` lists several; ``role:`` (one) is still read, in the file and the model."""
    assert Rep(username="old", name="Old", queue="sdr", role="manager").roles == {"manager"}
    directory.add(Rep(username="ann", name="Ann", queue="sdr", roles={"rep", "admin"}))
    assert directory.get("ann").roles == {"rep", "admin"}
    assert directory.get("ann").role_label == "rep, admin"
    assert [r.username for r in directory.in_queue("sdr", role="admin")] == ["ann"]
    directory.update("ann", roles=["sales"])
    assert directory.get("ann").roles == {"sales"}
    path = tmp_path / ROSTER_FILE
    path.write_text(
        "teams:\n"
        "  - queue: sales\n"
        "    roles: [rep, sales]\n"
        "    manager: {username: mia, name: Mia, role: manager}\n"
        "    reps:\n"
        "      - {username: bo, name: Bo}\n"
        "      - {username: cy, name: Cy, role: admin}\n"
    )
    _, people = read_roster(path)
    assert {p.username: p.roles for p in people} == {
        "mia": {"manager"},
        "bo": {"rep", "sales"},
        "cy": {"admin"},
    }
    path.write_text(
        "teams:\n  - queue: s\n    reps:\n"
        "      - {username: bo, name: Bo, role: rep, roles: [rep]}\n"
    )
    with pytest.raises(FileError, match="either role or roles"):
        read_roster(path)
    with pytest.raises(ValidationError):
        Rep(username="x", name="X", queue="sdr", roles={"boss"})
