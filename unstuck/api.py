"""The JSON API under /api/v1: same services and access rules as the web pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.openapi.docs import ABS_TPL_PATH, Swagger

from unstuck.cocreate.api import router as cocreate_router
from unstuck.core.api import router as core_router
from unstuck.core.auth import SessionAuth, TokenAuth
from unstuck.core.errors import UnstuckError
from unstuck.core.people_api import router as people_router
from unstuck.deals.api import router as deals_router
from unstuck.imports.api import router as imports_router
from unstuck.insights.api import router as insights_router
from unstuck.investigate.api import router as investigate_router
from unstuck.share.api import router as share_router
from unstuck.thinking.api import router as thinking_router


class LocalSwagger(Swagger):
    """Swagger UI from ninja's own local copy, never a CDN. Ninja picks its local template only
    when it is an installed app, which it is not here (settings.NINJA_DIR says why), so its
    fallback is pointed at that same local template; the static files come from NINJA_DIR."""

    template_cdn = str(ABS_TPL_PATH / "swagger.html")


api = NinjaAPI(
    title="Unstuck API",
    version="1",
    description=(
        "Read your pipeline and work your deals from scripts. Authenticate with a personal "
        "token (`Authorization: Bearer unst_…`, from Account → API tokens) or a signed-in "
        "browser session. You see exactly what you see in the web: deals outside your view "
        "answer 404, deals you may read but not change answer 403.\n\n"
        'Every error is JSON: `{"detail": "…", "field": "…"}` (for 422, `detail` lists the '
        "invalid inputs). Each operation lists the statuses it can answer; 503 with Retry-After "
        "means the database is busy (an import is finishing) or unreachable: try again."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs=LocalSwagger(),
)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "You may not do this."}, status=403)


@api.exception_handler(UnstuckError)
def domain_error(request: HttpRequest, exc: UnstuckError) -> HttpResponse:
    return api.create_response(
        request, {"detail": exc.message, "field": exc.field}, status=exc.status_code
    )


api.add_router("/", core_router)
api.add_router("/workspaces", deals_router)
api.add_router("/workspaces", investigate_router)
api.add_router("/workspaces/{slug}/thinking", thinking_router)
api.add_router("/workspaces", imports_router)
api.add_router("/workspaces", cocreate_router)
api.add_router("/workspaces", share_router)
api.add_router("/workspaces", insights_router)
api.add_router("/workspaces", people_router)
