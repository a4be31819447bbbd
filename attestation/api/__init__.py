"""The attestation JSON API under ``/api/attestation/``: thin handlers over the services,
one module per domain noun.

Every handler checks the role first and answers 404 for ids the person may not see.
"""

from __future__ import annotations

from aiohttp import web

from attestation.api import (
    appeals,
    applications,
    calendar,
    commissions,
    events,
    groups,
    issued,
    orals,
    protocols,
    records,
    referats,
    sittings,
)
from attestation.config import ATTESTATION
from server.appkeys import SETTINGS

MODULES = (
    commissions,
    groups,
    events,
    sittings,
    protocols,
    orals,
    referats,
    applications,
    appeals,
    issued,
    records,
    calendar,
)


def install(app: web.Application) -> None:
    """Attach the workflow to the app: its configuration, the API and the pages."""
    from attestation import pages
    from attestation.config import config_from

    app[ATTESTATION] = config_from(app[SETTINGS])
    for module in MODULES:
        app.add_routes(module.routes)
    app.add_routes(pages.routes)
