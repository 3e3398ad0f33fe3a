"""The pages for changing a live cadence: ``/cadences/NAME/diff`` (what changed) and
``/cadences/NAME/migrate`` (move the running leads), mounted together."""

from __future__ import annotations

from fastapi import APIRouter

from nurture.leads import diff_page, migrate_pages

router = APIRouter()
router.include_router(diff_page.router)
router.include_router(migrate_pages.router)
