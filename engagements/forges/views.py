"""The forges' pages: the webhook endpoints, the owner's connections and deliveries log, the
triage list of unmapped repositories, and the mapping on the engagement page."""

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import manager_required, member_required, owner_required
from engagements.delivery.models import ActivityRule, Engagement
from engagements.delivery.pages import PAGE, REGIONS, context_for
from engagements.forges import services
from engagements.forges.forms import (
    ActivityRuleForm,
    ConnectionForm,
    RepositoryForm,
    TriageAssignForm,
    choosable_engagements,
)
from engagements.forges.models import ForgeConnection, ForgeDelivery, ForgeRepository
from outsourcing.confirm import ask_first, confirmed
from outsourcing.forms import Form
from outsourcing.htmx import WriteView, answer_write, render

LOG_ROWS = 100
TRIAGE_ROWS = 100
READ_CHUNK = 64 * 1024


# --- the webhook endpoints --------------------------------------------------------------------


@csrf_exempt
@login_not_required
@require_POST
def forge_webhook(request: HttpRequest, forge: str, token: str) -> HttpResponse:
    """A forge's webhook call: verified, kept and routed by ``services.receive``, which says
    what to answer (2xx accepted, 4xx refused with the reason, both recorded)."""
    limit = services.max_bytes()
    try:
        declared = max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        declared = 0
    body, too_large = b"", declared > limit
    if not too_large:
        # Read in chunks and stop one byte past the limit: a body that lies about its length
        # (or has none) is never held whole.
        chunks, size = [], 0
        while size <= limit:
            chunk = request.read(min(READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
        too_large = size > limit
    call = services.Call(
        forge=forge,
        token=token,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=b"" if too_large else body,
        size=max(declared, len(body)),
        too_large=too_large,
        content_type=request.META.get("CONTENT_TYPE", ""),
    )
    answer = services.receive(call)
    response = JsonResponse(answer.body, status=answer.status)
    if too_large:
        response["Connection"] = "close"  # the unread rest of the body is not waited for
    return response


def webhook_url(connection: ForgeConnection) -> str:
    return settings.SITE_URL + reverse(
        "engagements:forge_webhook", args=[connection.forge, connection.token]
    )


# --- the owner's connections and the deliveries log -------------------------------------------


def _connections_page(request: HttpRequest, **extra) -> HttpResponse:
    connections = list(ForgeConnection.objects.all())
    for c in connections:
        c.url = webhook_url(c)
    status = request.GET.get("status", "")
    log = ForgeDelivery.objects.select_related("connection", "engagement").order_by(
        "-received_at", "-pk"
    )
    if status in ForgeDelivery.Status.values:
        log = log.filter(status=status)
    context = {
        "connections": connections,
        "connection_form": extra.pop("connection_form", None) or ConnectionForm(),
        "deliveries": list(log[:LOG_ROWS]),
        "statuses": ForgeDelivery.Status.choices,
        "status": status,
        "max_kb": settings.FORGE_WEBHOOK_MAX_KB,
        "grace_hours": settings.FORGE_ROTATION_GRACE_HOURS,
        **extra,
    }
    return render(request, "engagements/forge_list.html", context)


@require_safe
@owner_required
def forge_list(request: HttpRequest) -> HttpResponse:
    """The organization's webhook addresses for its forges, and every delivery they received."""
    return _connections_page(request)


def _new_secret(connection: ForgeConnection) -> dict:
    connection.url = webhook_url(connection)
    return {"new_secret": connection}


@require_POST
@owner_required
def forge_create(request: HttpRequest) -> HttpResponse:
    """A new webhook address and secret; the secret is shown here this once."""
    form = ConnectionForm(request.POST)
    return answer_write(
        request,
        form,
        lambda: services.create_connection(org=request.org, by=request.user, **form.cleaned_data),
        show=partial(_connections_page, request),
        form_name="connection_form",
        shown=_new_secret,  # no redirect: the secret is shown this once
    )


@require_POST
@owner_required
def forge_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret for a connection (shown once); the previous one works for the grace period."""
    connection = get_object_or_404(ForgeConnection.objects.all(), pk=pk)
    if not confirmed(request):
        return ask_first(
            request,
            question=f"Rotate the secret of “{connection.name}”?",
            detail=f"A new secret is shown once. The current one keeps working for "
            f"{settings.FORGE_ROTATION_GRACE_HOURS} hours: put the new one in the forge's "
            "webhook settings before then.",
            button="Rotate",
            back=reverse("engagements:forge_list"),
        )
    try:
        services.rotate_secret(connection=connection)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("engagements:forge_list")
    return _connections_page(request, **_new_secret(connection))


@require_POST
@owner_required
def forge_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a webhook address: calls to it are refused (410) and recorded from now on."""
    connection = get_object_or_404(ForgeConnection.objects.all(), pk=pk)
    if not confirmed(request):
        return ask_first(
            request,
            question=f"Revoke “{connection.name}”?",
            detail="Its address and secret stop working at once; the forge's deliveries are "
            "refused (and logged) until you set up a new connection there.",
            button="Revoke",
            back=reverse("engagements:forge_list"),
        )
    services.revoke_connection(connection=connection)
    messages.success(request, f"“{connection.name}” revoked.")
    return redirect("engagements:forge_list")


# --- triage -----------------------------------------------------------------------------------


def _triage_groups() -> list[dict]:
    """Waiting deliveries by repository: how many, the latest, and the assign form."""
    groups = list(
        ForgeDelivery.objects.filter(status=ForgeDelivery.Status.TRIAGE)
        .values("forge", "repository")
        .annotate(waiting=Count("pk"), latest=Max("received_at"))
        .order_by("-latest")[:TRIAGE_ROWS]
    )
    engagements = choosable_engagements() if groups else []
    for i, g in enumerate(groups):
        g["form"] = TriageAssignForm(
            initial={"forge": g["forge"], "repository": g["repository"]},
            auto_id=f"triage{i}_%s",
            engagements=engagements,
        )
    return groups


@require_safe
@member_required
def forge_triage(request: HttpRequest) -> HttpResponse:
    """Repositories whose deliveries wait for someone to say which engagement they belong to."""
    return render(request, "engagements/forge_triage.html", {"groups": _triage_groups()})


@require_POST
@manager_required
def forge_triage_assign(request: HttpRequest) -> HttpResponse:
    """Send a repository to an engagement (its waiting deliveries are derived) or ignore it."""
    form = TriageAssignForm(request.POST)

    def assign():
        data = form.cleaned_data
        return services.assign_repository(org=request.org, by=request.user, **data)

    def message(mapping: ForgeRepository) -> str:
        if mapping.engagement_id is None:
            return f"{mapping.repository} is ignored from now on."
        return f"{mapping.repository} now feeds “{mapping.engagement.title}”."

    def refused(form) -> dict:
        return {"groups": _triage_groups(), "refused": form}

    return answer_write(
        request,
        form,
        assign,
        show=lambda **context: render(
            request,
            "engagements/forge_triage.html",
            {"groups": _triage_groups(), **context},
        ),
        done=reverse("engagements:forge_triage"),
        message=message,
        refused=refused,
    )


# --- the mapping on the engagement page -------------------------------------------------------

REGION = "code-activity"


def _show_region(request: HttpRequest, pk: int, **context) -> HttpResponse:
    engagement = Engagement.objects.for_detail().get(pk=pk)
    return render(request, PAGE, context_for(request, engagement, **context), partials=REGIONS)


class ActivityWrite(WriteView):
    """A write to the engagement page's code-activity region: the region (htmx), or back to
    the page at that region (a plain post); refused: the page with the form as typed."""

    role = staticmethod(manager_required)
    by = True

    def engagement_id(self) -> int:
        return self.object.pk if isinstance(self.object, Engagement) else self.object.engagement_id

    def show(self, **context) -> HttpResponse:
        return _show_region(self.request, self.engagement_id(), **context)

    def done(self, result) -> str:
        return reverse("engagements:engagement_detail", args=[self.engagement_id()]) + f"#{REGION}"


class RemoveActivityWrite(ActivityWrite):
    by = False
    form_class = Form


# Map a repository or project to this engagement (waiting deliveries are derived at once).
repository_map = ActivityWrite.as_view(
    model=Engagement,
    form_class=RepositoryForm,
    service=services.map_repository,
    message="Repository mapped: its activity now feeds this engagement.",
)

# Say what forge activity stands for one deliverable (a branch glob, a label, a keyword).
activity_rule_add = ActivityWrite.as_view(
    model=Engagement,
    form_class=ActivityRuleForm,
    form_with=("engagement",),
    service=services.add_activity_rule,
    message="Rule added: matching activity now counts for the deliverable.",
)

# Stop routing a repository to the engagement (new deliveries wait in triage).
repository_unmap = RemoveActivityWrite.as_view(
    model=ForgeRepository,
    object_name="mapping",
    service=services.unmap_repository,
    confirm="Stop routing {mapping.repository} to this engagement?",
    confirm_detail="Its next deliveries wait in triage; the activity it brought stays.",
    confirm_button="Stop routing",
    message="{mapping.repository} no longer feeds this engagement.",
)

# Forget a deliverable rule.
activity_rule_remove = RemoveActivityWrite.as_view(
    model=ActivityRule,
    object_name="rule",
    related=("engagement", "deliverable"),
    service=services.remove_activity_rule,
    confirm="Remove the rule {rule.label} of “{rule.deliverable.title}”?",
    confirm_detail="Activity matching it counts for the engagement only from now on.",
    message="Rule removed.",
)
