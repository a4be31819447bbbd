"""The API of the production calendar: which years are loaded, which are missing."""

from __future__ import annotations

from aiohttp import web

from attestation.api.common import reply
from attestation.config import ATTESTATION
from attestation.rules import deadlines
from attestation.rules.calendar import missing_years
from server.access import require_user
from server.appkeys import CLOCK
from server.users import STAFF_ROLES

routes = web.RouteTableDef()


@routes.get("/api/attestation/calendar")
async def calendar_years(request: web.Request) -> web.Response:
    """Loaded years with their working days, and the years appeal deadlines may soon
    need that have no calendar (staff are warned on the events page)."""
    require_user(request, STAFF_ROLES)
    config = request.app[ATTESTATION]
    today = deadlines.local_date(request.app[CLOCK].now(), config.zone)
    calendar = config.calendar
    return reply(
        {
            "today": today.isoformat(),
            "years": [
                {"year": year, "working_days": calendar.working_days_in(year)}
                for year in sorted(calendar.years)
            ],
            "missing": missing_years(calendar, today),
        }
    )
