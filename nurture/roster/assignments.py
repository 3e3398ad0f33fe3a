"""The assignments made: a retried ``assign`` activity gets the same rep back."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.store import Base

__all__ = ["AssignmentRecord"]


class AssignmentRecord(Base):
    """An assignment made, by request key: a retried activity gets the same rep."""

    __tablename__ = "assignments"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
