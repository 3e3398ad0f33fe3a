"""The planning tests' app fixtures (sample cadences, staff with each role) serve here too."""

from tests.planning.conftest import cadences, planning_settings, planning_store

__all__ = ["cadences", "planning_settings", "planning_store"]
