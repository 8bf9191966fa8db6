from functools import partial

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from outsourcing.htmx import WriteView, answer_write
from outsourcing.validation import parse_id

from . import services
from .audit import describe
from .decorators import allow_viewer, member_required, owner_required
from .forms import ApiTokenForm, InviteForm, OrganizationForm, RegisterForm, RoleForm
from .middleware import SESSION_KEY
from .models import ApiToken, AuditEntry, Invitation, Membership, User
from .portability import export_organization


def _member_page(request: HttpRequest, invite_form: InviteForm | None = None) -> TemplateResponse:
    members = (
        Membership.objects.filter(org=request.org).select_related("user").order_by("user__email")
    )
    invitations = Invitation.objects.pending().filter(org=request.org).select_related("invited_by")
    return TemplateResponse(
        request,
        "accounts/member_list.html",
        {
            "members": members,
            "invitations": invitations,
            "invite_form": invite_form or InviteForm(),
            "role_form": RoleForm(),
        },
    )


@require_safe
@member_required
def member_list(request: HttpRequest) -> HttpResponse:
    return _member_page(request)


class MemberWrite(WriteView):
    """An owner's write on the members page: the page again (a refused form as typed), or back
    to it (a plain post)."""

    role = staticmethod(owner_required)

    def show(self, **forms) -> HttpResponse:
        return _member_page(self.request, **forms)

    def done(self, result) -> str:
        return reverse("accounts:member_list")


# Invite someone by e-mail with a role (an open invitation to the same address is replaced).
member_invite = MemberWrite.as_view(
    form_class=InviteForm,
    service=services.invite_member,
    org=True,
    by=True,
    form_name="invite_form",
    message=lambda invited: f"Invitation sent to {invited[0].email}.",
)


@require_POST
@owner_required
def member_update(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership, org=request.org, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, manager or viewer.")
        return redirect("accounts:member_list")
    try:
        services.change_role(membership=membership, role=form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{membership.user} is now {membership.get_role_display().lower()}."
        )
    return redirect("accounts:member_list")


@require_POST
@owner_required
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership, org=request.org, pk=pk)
    try:
        services.remove_member(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user} was removed from {request.org}.")
    return redirect("accounts:member_list")


@require_POST
@owner_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, org=request.org, pk=pk)
    services.revoke_invitation(invitation=invitation)
    messages.success(request, f"The invitation of {invitation.email} was revoked.")
    return redirect("accounts:member_list")


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.find_invitation(token)
    if invitation is None:
        # Wrong, expired, used or revoked: the same answer, no hint which.
        raise Http404("This invitation link is not valid.")
    user = request.user
    form = None
    if user.is_authenticated:
        if user.email.lower() != invitation.email:
            messages.error(
                request,
                f"This invitation is for {invitation.email}. Log out and open the link again.",
            )
        elif request.method == "POST":
            services.accept_invitation(invitation=invitation, user=user)
            return _joined(request, invitation)
    elif request.method == "POST":
        form = RegisterForm(request.POST, email=invitation.email)
        if form.is_valid():
            try:
                user = services.register_and_accept(invitation=invitation, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return _joined(request, invitation)
    else:
        form = RegisterForm(email=invitation.email)
    has_account = (
        not user.is_authenticated and User.objects.filter(email__iexact=invitation.email).exists()
    )
    login_url = reverse("accounts:login") + "?next=" + request.path
    return TemplateResponse(
        request,
        "accounts/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "has_account": has_account,
            "login_url": login_url,
        },
        status=422 if form is not None and form.is_bound else 200,
    )


def _joined(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    request.session[SESSION_KEY] = invitation.org_id
    messages.success(request, f"Welcome to {invitation.org.name}.")
    return redirect("engagements:dashboard")


@require_POST
@allow_viewer
def organization_switch(request: HttpRequest) -> HttpResponse:
    org_id = request.POST.get("org", "")
    membership = next((m for m in request.memberships if str(m.org_id) == org_id), None)
    if membership is None:
        raise Http404("Not a member of that organization.")
    request.session[SESSION_KEY] = membership.org_id
    messages.info(request, f"Switched to {membership.org.name}.")
    return redirect("engagements:dashboard")


@require_http_methods(["GET", "POST"])
@owner_required
def organization_settings(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None, instance=request.org)
    page = TemplateResponse(request, "accounts/organization_settings.html", {"form": form})
    if request.method == "GET":
        return page
    return answer_write(
        request,
        form,
        form.save,
        show=lambda **_: page,
        done=reverse("accounts:organization_settings"),
        message="Organization settings saved.",
    )


def _token_page(
    request: HttpRequest, form: ApiTokenForm, secret: str | None = None
) -> TemplateResponse:
    tokens = ApiToken.objects.filter(revoked_at__isnull=True).select_related("user")
    if (
        not request.membership.is_owner
    ):  # owners see (and may revoke) every token of the organization
        tokens = tokens.filter(user=request.user)
    return TemplateResponse(
        request,
        "accounts/apitoken_list.html",
        {"tokens": tokens, "form": form, "secret": secret},
    )


@require_safe
@member_required
def apitoken_list(request: HttpRequest) -> HttpResponse:
    return _token_page(request, ApiTokenForm())


@require_POST
@allow_viewer  # a viewer may create a read-only token for themselves; the service refuses write scope
@member_required
def apitoken_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    return answer_write(
        request,
        form,
        lambda: services.create_api_token(org=request.org, user=request.user, **form.cleaned_data),
        show=partial(_token_page, request),
        # No redirect: the secret is shown this once.
        shown=lambda created: {"form": ApiTokenForm(), "secret": created[1]},
        message=lambda created: (
            f"Token “{created[0].name}” created. Copy it now: it is shown only once."
        ),
    )


@require_POST
@allow_viewer
@member_required
def apitoken_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    tokens = (
        ApiToken.objects.all()
        if request.membership.is_owner
        else ApiToken.objects.filter(user=request.user)
    )
    token = get_object_or_404(tokens, pk=pk)
    services.revoke_api_token(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:apitoken_list")


AUDIT_PAGE_SIZE = 50


@require_safe
@owner_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """The organization's audit trail, newest first; filter by kind of object or one object."""
    entries = (
        AuditEntry.objects.filter(org=request.org)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )
    # Junk (``?type=²``, a huge or negative number, empty) is no filter, never an error.
    content_type = parse_id(request.GET.get("type"))
    object_id = parse_id(request.GET.get("object"))
    if content_type:
        entries = entries.filter(content_type_id=content_type)
        if object_id:
            entries = entries.filter(object_id=object_id)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    types = ContentType.objects.filter(
        pk__in=AuditEntry.objects.filter(org=request.org).values("content_type_id").distinct()
    )
    return TemplateResponse(
        request,
        "accounts/audit_list.html",
        {
            "page": page,
            "actions": describe(list(page.object_list), tz=request.org.tzinfo),
            "types": types,
            "type": str(content_type or ""),
            "object": str(object_id or ""),
        },
    )


@require_POST
@owner_required
def organization_export(request: HttpRequest) -> HttpResponse:
    """Download everything of the organization as a zip (POST: it is a deliberate act)."""
    data = export_organization(request.org)
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="vendorwatch-{request.org.slug}-{stamp}.zip"'
    )
    return response
