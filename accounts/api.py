"""/api/v1/me: who the token belongs to, in which organization, with which scope."""

from datetime import datetime

from ninja import Router, Schema

from outsourcing.api import ErrorOut

router = Router(tags=["token"])


class MeOut(Schema):
    user_email: str
    organization: str
    organization_slug: str
    role: str
    token_name: str
    token_scope: str
    token_created_at: datetime


@router.get(
    "/me",
    response={200: MeOut, 401: ErrorOut, 429: ErrorOut},
    summary="The caller: user, organization, role and token scope",
)
def me(request):
    token = request.auth
    return {
        "user_email": request.user.email,
        "organization": request.org.name,
        "organization_slug": request.org.slug,
        "role": request.membership.role,
        "token_name": token.name,
        "token_scope": token.scope,
        "token_created_at": token.created_at,
    }
