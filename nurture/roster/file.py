"""The roster file (``cadences/_teams.yaml``): teams, their managers and reps, loaded into the
rep directory. No passwords in the file: set them with ``nurture reps password``.

The leading ``_`` keeps the file out of :func:`nurture.cadence.model.cadence_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from nurture.lead import TimeZoneName
from nurture.roster.hours import format_hours, parse_hours
from nurture.roster.reps import QUEUE, USERNAME, Rep, RepDirectory, Role, Team
from nurture.yamlfiles import parse_model, read_file

ROSTER_FILE = "_teams.yaml"


def _check_hours(value: str | None) -> str | None:
    return format_hours(parse_hours(value)) if value is not None else None


Hours = Annotated[str, AfterValidator(_check_hours)]


def _reps_default() -> list[Role]:
    return ["rep"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Member(_Model):
    """A person in a team; time zone, hours and roles default to the team's (a manager's role
    defaults to ``manager``). ``role: x`` is the same as ``roles: [x]``."""

    username: str = Field(pattern=USERNAME)
    name: str = Field(min_length=1)
    email: str = ""
    timezone: TimeZoneName | None = None
    hours: Hours | None = None
    role: Role | None = None
    roles: list[Role] | None = Field(None, min_length=1)
    active: bool = True

    @model_validator(mode="after")
    def _one_way(self) -> Member:
        if self.role is not None and self.roles is not None:
            raise ValueError("give either role or roles, not both")
        return self

    def roles_or(self, default: list[Role]) -> list[Role]:
        """The member's roles, else ``default``."""
        if self.roles is not None:
            return self.roles
        return [self.role] if self.role is not None else default


class TeamEntry(_Model):
    """A team: its queue, its manager and its reps."""

    queue: str = Field(pattern=QUEUE)
    name: str = ""
    timezone: TimeZoneName = "America/New_York"
    hours: Hours = "mon-fri 09:00-17:00"
    roles: list[Role] = Field(
        default_factory=_reps_default,
        min_length=1,
        description="The reps' default roles",
    )
    manager: Member | None = None
    reps: list[Member] = Field(default_factory=list)


class Roster(_Model):
    """The whole file."""

    teams: list[TeamEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Roster:
        queues = [t.queue for t in self.teams]
        if len(set(queues)) != len(queues):
            raise ValueError("a queue appears in two teams")
        seen: set[str] = set()
        for team in self.teams:
            for member in [*([team.manager] if team.manager else []), *team.reps]:
                if member.username in seen:
                    raise ValueError(f"{member.username!r} appears twice")
                seen.add(member.username)
        return self

    def directory_entries(self) -> tuple[list[Team], list[Rep]]:
        """The teams and reps (managers included) as the directory stores them."""
        teams: list[Team] = []
        reps: list[Rep] = []
        for entry in self.teams:
            boss = entry.manager.username if entry.manager else None
            teams.append(Team(queue=entry.queue, name=entry.name, manager=boss))
            people = [(True, entry.manager)] if entry.manager else []
            people += [(False, m) for m in entry.reps]
            for is_boss, member in people:
                reps.append(
                    Rep(
                        username=member.username,
                        name=member.name,
                        email=member.email,
                        queue=entry.queue,
                        roles=frozenset(member.roles_or(["manager"] if is_boss else entry.roles)),
                        timezone=member.timezone or entry.timezone,
                        hours=member.hours or entry.hours,
                        manager=None if is_boss else boss,
                        active=member.active,
                    )
                )
        return teams, reps


class LoadReport(BaseModel):
    """What loading the roster changed."""

    teams: int = 0
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)


def read_roster(path: Path) -> tuple[list[Team], list[Rep]]:
    """Parse the roster; raises ``FileError`` with file:line:col problems."""
    roster = parse_model(read_file(path), str(path), Roster, "a roster file")
    try:
        return roster.directory_entries()
    except ValueError as exc:  # e.g. bad working hours
        raise ValueError(f"{path}: {exc}") from None


def load_roster(directory: RepDirectory, path: Path) -> LoadReport:
    """Add or update every team and person in the file (passwords are left as they are)."""
    teams, reps = read_roster(path)
    report = LoadReport(teams=len(teams))
    for team in teams:
        directory.save_team(team)
    for rep in reps:
        _, created = directory.save(rep)
        (report.added if created else report.updated).append(rep.username)
    return report


def load_if_empty(directory: RepDirectory, cadences_dir: Path) -> LoadReport | None:
    """Load the roster beside the cadences into a rep directory that has nobody yet (the local
    demo); None if there already are people or there is no roster file. Passwords stay unset."""
    path = cadences_dir / ROSTER_FILE
    if directory.all() or not path.exists():
        return None
    return load_roster(directory, path)
