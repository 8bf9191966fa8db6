from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import manager_required, member_required, owner_required
from outsourcing.confirm import ask_first, confirmed
from outsourcing.formats import day
from outsourcing.htmx import WriteView, answer_write, refused_status, render

from . import csv_io, services
from . import terms as vendor_terms
from .forms import (
    ContactForm,
    ContractDecisionForm,
    ContractEditForm,
    ContractForm,
    DecisionForm,
    DecisionReasonForm,
    EvidenceForm,
    ImportForm,
    ReviewForm,
    StatusForm,
    VendorFilterForm,
    VendorForm,
    VendorSettingsForm,
)
from .models import (
    Attachment,
    Contract,
    ContractDecision,
    Criterion,
    Evidence,
    Vendor,
    VendorContact,
    VendorSettings,
    score_field,
)

PAGE_SIZE = 50
EVIDENCE_SHOWN = 50
DETAIL = "vendors/vendor_detail.html"


@require_safe
@member_required
def vendor_list(request: HttpRequest) -> HttpResponse:
    form = VendorFilterForm(request.GET)
    form.is_valid()  # every field is optional; junk values are simply dropped
    filters = {k: v for k, v in form.cleaned_data.items() if v}
    vendors = Vendor.objects.with_review_flag(timezone.now()).search(**filters)
    page = Paginator(vendors, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "filtered": bool(filters)}
    return render(request, "vendors/vendor_list.html", context, partials=["vendor-results"])


@require_http_methods(["GET", "POST"])
@manager_required
def vendor_create(request: HttpRequest) -> HttpResponse:
    form = VendorForm(request.POST or None, org=request.org)
    if request.method == "GET":
        return render(request, "vendors/vendor_form.html", {"form": form})
    return answer_write(
        request,
        form,
        lambda: services.create_vendor(org=request.org, by=request.user, **form.cleaned_data),
        show=lambda **_: render(request, "vendors/vendor_form.html", {"form": form}),
        done=lambda vendor: reverse("vendors:vendor_detail", args=[vendor.pk]),
        message=lambda vendor: f"{vendor.name} added as a prospect.",
    )


@require_http_methods(["GET", "POST"])
@manager_required
def vendor_update(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_object_or_404(Vendor.objects, pk=pk)
    form = VendorForm(request.POST or None, instance=vendor, org=request.org)
    show = partial(render, request, "vendors/vendor_form.html", {"form": form, "vendor": vendor})
    if request.method == "GET":
        return show()
    return answer_write(
        request,
        form,
        lambda: services.update_vendor(vendor=vendor, **form.cleaned_data),
        show=lambda **_: show(),
        done=reverse("vendors:vendor_detail", args=[vendor.pk]),
        message="Vendor details saved.",
    )


class VendorWrite(WriteView):
    """A manager's write on the vendor page: its #vetting region (htmx), or for a plain post
    the page at ``section``; a refused form comes back on the page as typed. ``model`` is
    what the URL's pk names: the vendor, or one of its rows."""

    role = staticmethod(manager_required)
    model = Vendor
    section = "vetting"

    def objects(self) -> dict:
        return {**super().objects(), "vendor": getattr(self.object, "vendor", self.object)}

    def show(self, **forms) -> HttpResponse:
        return _detail(self.request, self.objects()["vendor"], **forms)

    def done(self, result) -> str:
        vendor = self.objects()["vendor"]
        return reverse("vendors:vendor_detail", args=[vendor.pk]) + f"#{self.section}"


def _detail(request: HttpRequest, vendor: Vendor, **forms) -> HttpResponse:
    """The vendor page (or its #vetting region) with whichever forms came back invalid."""
    evidence = Evidence.objects.filter(vendor=vendor).for_log()
    if not request.membership.is_owner:
        evidence = evidence.live()  # soft-deleted entries stay visible to owners only
    # The newest entries first; the whole log on request (one row more tells us there is more).
    show_all = request.GET.get("evidence") == "all"
    evidence = list(evidence if show_all else evidence[: EVIDENCE_SHOWN + 1])
    more = not show_all and len(evidence) > EVIDENCE_SHOWN
    now = timezone.now()
    context = {
        "vendor": vendor,
        "now": now,
        "today": timezone.localdate(now),
        "review_reasons": vendor.review_reasons(now),
        "scorecard": services.vendor_scorecard(vendor=vendor),
        "evidence_list": evidence[:EVIDENCE_SHOWN] if more else evidence,
        "evidence_more": more,
        "contacts": VendorContact.objects.filter(vendor=vendor),
        "contracts": [
            (c, c.outlook(timezone.localdate(now), c.decisions.all()))
            for c in vendor.contracts.prefetch_related("attachments", "decisions")
        ],
        "history": vendor.status_changes.select_related("by"),
        "engagements": vendor.engagements.order_by("-start_date"),
        "evidence_form": forms.get("evidence_form") or EvidenceForm(),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "status_form": forms.get("status_form") or StatusForm(vendor=vendor),
        "contact_form": forms.get("contact_form") or ContactForm(),
        "review_form": forms.get("review_form") or ReviewForm(),
        "contract_form": forms.get("contract_form")
        or ContractForm(initial={"currency": vendor.currency}),
    }
    return render(request, DETAIL, context, partials=["vetting"])


@require_safe
@member_required
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_object_or_404(Vendor.objects.select_related("created_by"), pk=pk)
    return _detail(request, vendor)


# Record a piece of vetting evidence (with its attachments).
evidence_create = VendorWrite.as_view(
    form_class=EvidenceForm,
    service=services.add_evidence,
    by=True,
    form_name="evidence_form",
    message="Evidence recorded.",
)


def _evidence_form(evidence: Evidence, data=None) -> EvidenceForm:
    names = ("kind", "summary", "link", "verified", "expires_on", "version")
    initial = {n: getattr(evidence, n) for n in names}
    initial["recorded_at"] = timezone.localtime(evidence.recorded_at)
    initial |= {score_field(c): getattr(evidence, score_field(c)) for c in Criterion}
    form = EvidenceForm(data, initial=initial)
    del form.fields["attachments"]  # files are added with new entries, not edits
    return form


@require_http_methods(["GET", "POST"])
@manager_required
def evidence_update(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence.objects.live().select_related("vendor"), pk=pk)
    form = _evidence_form(evidence, request.POST or None)
    conflict = ""
    if request.method == "POST" and form.is_valid():
        data = form.service_kwargs()
        try:
            services.update_evidence(
                evidence=evidence,
                by=request.user,
                version=form.cleaned_data["version"] or 0,
                **data,
            )
        except services.Conflict as exc:
            # Show both: what is saved now (beside the form) and what this person typed (in
            # the form, re-based on the current version so a second save goes through).
            evidence.refresh_from_db()
            typed = request.POST.copy()
            typed["version"] = str(evidence.version)
            form = _evidence_form(evidence, typed)
            conflict = str(exc)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Evidence updated; the previous version is kept.")
            return redirect(
                reverse("vendors:vendor_detail", args=[evidence.vendor_id]) + "#vetting"
            )
    ctx = {"form": form, "evidence": evidence, "vendor": evidence.vendor, "conflict": conflict}
    status = 200 if request.method == "GET" else refused_status(request)
    return render(request, "vendors/evidence_form.html", ctx, status=status)


@require_POST
@manager_required
def evidence_delete(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence.objects.live().select_related("vendor"), pk=pk)
    if not confirmed(request):
        return ask_first(
            request,
            question="Delete this evidence?",
            detail="It leaves the scorecard; owners will still see it.",
            button="Delete",
            back=reverse("vendors:vendor_detail", args=[evidence.vendor_id]) + "#vetting",
        )
    services.delete_evidence(evidence=evidence, by=request.user)
    if request.htmx:
        return _detail(request, evidence.vendor)
    messages.success(request, "Evidence deleted (owners can still see it).")
    return redirect(reverse("vendors:vendor_detail", args=[evidence.vendor_id]) + "#vetting")


# Approve or reject the vendor, with a rationale (and an override of thin criteria).
vendor_decide = VendorWrite.as_view(
    form_class=DecisionForm,
    service=services.decide,
    by=True,
    form_name="decision_form",
    message=lambda change: _status_message(change.vendor),
)


def _status_message(vendor: Vendor) -> str:
    return f"{vendor.name} is now {vendor.get_status_display().lower()}."


# Move the vendor along its lifecycle, saying why.
vendor_status = VendorWrite.as_view(
    form_class=StatusForm,
    form_with=("vendor",),
    service=services.change_status,
    by=True,
    form_name="status_form",
    message=lambda change: _status_message(change.vendor),
)

# Record a periodic review: what was checked; the next one is due an interval later.
vendor_review = VendorWrite.as_view(
    form_class=ReviewForm,
    service=services.record_review,
    by=True,
    form_name="review_form",
    message=lambda change: (
        f"Review recorded; the next one is due on {day(change.vendor.review_due_on)}."
    ),
)

# Add a contact (a new primary replaces the old one).
contact_create = VendorWrite.as_view(
    form_class=ContactForm,
    service=services.add_contact,
    form_name="contact_form",
    message="Contact added.",
    section="contacts",
)


class ContactWrite(VendorWrite):
    """A write to one of the vendor's contacts (the URL's pk), answered at #contacts."""

    model = VendorContact
    related = ("vendor",)
    object_name = "contact"
    section = "contacts"


# Make the contact the vendor's one primary contact.
contact_primary = ContactWrite.as_view(
    service=services.make_primary_contact, message="{contact.name} is now the primary contact."
)

# Remove the contact (the next one by name becomes primary if it was).
contact_delete = ContactWrite.as_view(
    service=services.remove_contact,
    message="{contact.name} removed from the contacts.",
    confirm="Remove {contact.name} from the contacts?",
    confirm_detail="Their portal links stop working too.",
)

# Record a contract (with its files).
contract_create = VendorWrite.as_view(
    form_class=ContractForm,
    service=services.add_contract,
    by=True,
    form_name="contract_form",
    message=lambda contract: f"Contract recorded. {_decide_by_message(contract)}".strip(),
    section="contracts",
)

CONTRACT = "vendors/contract_detail.html"


def _decide_by_message(contract: Contract) -> str:
    outlook = contract.outlook(timezone.localdate())
    return f"Decide by {day(outlook.decide_by)}." if outlook.decide_by else ""


def _contract_context(request: HttpRequest, contract: Contract, **forms) -> dict:
    """The contract page: its terms, the decision its decide-by date asks for, what stopping
    costs today and a month later (fixed instalments; milestone payments are the engagement's
    to count), the decisions taken and the engagements under it."""
    today = timezone.localdate()
    decisions = list(contract.decisions.select_related("by"))
    terms = contract.terms(decisions)
    outlook = contract.outlook(today, decisions)
    for decision in decisions:  # the page offers "Withdraw" only where it would be taken
        decision.withdrawal_refusal = services.withdrawal_refusal(decision, decisions, terms, today)
    return {
        "contract": contract,
        "vendor": contract.vendor,
        "outlook": outlook,
        "exit_cost": vendor_terms.exit_cost(terms, today),
        "cost_of_waiting": vendor_terms.cost_of_waiting(terms, today),
        "decisions": decisions,
        "engagements": contract.engagements.select_related("owner").order_by("-start_date"),
        "can_decide": outlook.notice is None
        and (outlook.decide_by is not None or contract.termination_for_convenience),
        "decision_form": forms.get("decision_form") or ContractDecisionForm(),
    }


@require_safe
@member_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.select_related("vendor"), pk=pk)
    return render(request, CONTRACT, _contract_context(request, contract))


class ContractWrite(WriteView):
    """A manager's write on the contract page; a refused form comes back on the page."""

    role = staticmethod(manager_required)
    model = Contract
    related = ("vendor",)

    def show(self, **forms) -> HttpResponse:
        self.object.refresh_from_db()
        return render(self.request, CONTRACT, _contract_context(self.request, self.object, **forms))

    def done(self, result) -> str:
        return reverse("vendors:contract_detail", args=[self.object.pk])


# Renew, or give notice: the decision the decide-by date asks for, with a reason (audited);
# it ends that term's reminders.
contract_decide = ContractWrite.as_view(
    form_class=ContractDecisionForm,
    service=services.decide_contract,
    by=True,
    form_name="decision_form",
    message=lambda decision: (
        f"Notice given: the contract ends on {day(decision.exit_on)}."
        if decision.exit_on
        else f"Renewed: the term ending {day(decision.term_end)} continues."
    ),
)


DECISION = "vendors/decision_form.html"


def _decision(pk: int) -> ContractDecision:
    return get_object_or_404(
        ContractDecision.objects.select_related("contract__vendor", "by"), pk=pk
    )


def _decision_context(decision: ContractDecision, **forms) -> dict:
    decisions = list(decision.contract.decisions.all())
    refusal = services.withdrawal_refusal(
        decision, decisions, decision.contract.terms(decisions), timezone.localdate()
    )
    return {
        "decision": decision,
        "contract": decision.contract,
        "withdrawal_refusal": refusal,
        "form": forms.get("form")
        or DecisionReasonForm(initial={"reason": decision.reason}, auto_id="decision_%s"),
        "withdraw_form": forms.get("withdraw_form"),
    }


@require_http_methods(["GET", "POST"])
@manager_required
def decision_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a decision's reason; the page also offers to withdraw it while that is open."""
    decision = _decision(pk)
    if request.method == "GET":
        return render(request, DECISION, _decision_context(decision))
    form = DecisionReasonForm(request.POST, auto_id="decision_%s")
    return answer_write(
        request,
        form,
        lambda: services.update_contract_decision(
            decision=decision, by=request.user, **form.cleaned_data
        ),
        show=lambda **forms: render(request, DECISION, _decision_context(decision, **forms)),
        done=reverse("vendors:contract_detail", args=[decision.contract_id]),
        message="Reason saved.",
    )


class DecisionWithdraw(WriteView):
    """Take a decision back while the choice is open; a refusal says why on the decision's
    page (the decide-by date passed, a later decision, the contract stopped)."""

    role = staticmethod(manager_required)
    model = ContractDecision
    object_name = "decision"
    related = ("contract__vendor", "by")
    form_name = "withdraw_form"
    confirm = "Withdraw the decision to {decision_label}?"
    confirm_detail = (
        "The term is undecided again: its reminders and the watcher's “decide before renewal” "
        "come back until someone decides. The audit trail keeps who withdrew it and when."
    )
    confirm_button = "Withdraw the decision"

    def objects(self) -> dict:
        named = super().objects()
        if self.object is not None:
            named["decision_label"] = self.object.get_kind_display().lower()
        return named

    def show(self, **forms) -> HttpResponse:
        return render(self.request, DECISION, _decision_context(self.object, **forms))

    def done(self, result) -> str:
        return reverse("vendors:contract_detail", args=[self.object.contract_id])


def _withdrawn_message(contract: Contract) -> str:
    decide_by = _decide_by_message(contract)
    return f"Decision withdrawn: the term is undecided again. {decide_by}".strip()


decision_withdraw = DecisionWithdraw.as_view(
    service=services.withdraw_contract_decision, by=True, message=_withdrawn_message
)


@require_http_methods(["GET", "POST"])
@manager_required
def contract_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a contract's terms or checklist; its decide-by date follows."""
    contract = get_object_or_404(Contract.objects.select_related("vendor"), pk=pk)
    initial = {name: getattr(contract, name) for name in services.CONTRACT_EDITABLE}
    form = ContractEditForm(request.POST or None, initial=initial)
    show = partial(
        render, request, "vendors/contract_form.html", {"form": form, "contract": contract}
    )
    if request.method == "GET":
        return show()
    return answer_write(
        request,
        form,
        lambda: services.update_contract(
            contract=contract, by=request.user, **form.service_kwargs()
        ),
        show=lambda **_: show(),
        done=reverse("vendors:contract_detail", args=[contract.pk]),
        message=lambda c: f"Contract saved. {_decide_by_message(c)}".strip(),
    )


@require_safe
@member_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    # Scoped manager: another organization's attachment is a 404, never a file. Files of
    # deleted evidence stay reachable for owners only, like the entries themselves.
    attachments = Attachment.objects.all()
    if not request.membership.is_owner:
        attachments = attachments.exclude(evidence__deleted_at__isnull=False)
    attachment = get_object_or_404(attachments, pk=pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@member_required
def vendor_export(request: HttpRequest) -> StreamingHttpResponse:
    vendors = Vendor.objects.order_by("name").iterator(chunk_size=1000)
    response = StreamingHttpResponse(csv_io.export_lines(vendors), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="vendors-{request.org.slug}.csv"'
    return response


@require_http_methods(["GET", "POST"])
@manager_required
def vendor_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"form": form, "columns": csv_io.COLUMNS}
    if request.method == "GET":
        return render(request, "vendors/vendor_import.html", context)
    if not form.is_valid():
        return render(
            request, "vendors/vendor_import.html", context, status=refused_status(request)
        )
    preview = None
    try:
        preview = csv_io.parse(form.cleaned_data["text"], org=request.org)
        if preview.ok and request.POST.get("confirm"):
            created = services.import_vendors(org=request.org, by=request.user, rows=preview.rows)
            messages.success(request, f"Imported {len(created)} vendors.")
            return redirect("vendors:vendor_list")
    except ValidationError as exc:  # a file it cannot read, or names taken since the preview
        form.add_error("file", exc.messages)
        return render(
            request, "vendors/vendor_import.html", context, status=refused_status(request)
        )
    context |= {"preview": preview, "text": form.cleaned_data["text"]}
    return render(
        request,
        "vendors/vendor_import.html",
        context,
        status=200 if preview.ok else refused_status(request),
    )


@require_http_methods(["GET", "POST"])
@owner_required
def vendor_settings(request: HttpRequest) -> HttpResponse:
    form = VendorSettingsForm(request.POST or None, instance=VendorSettings.for_org(request.org))
    show = partial(render, request, "vendors/vendor_settings.html", {"form": form})
    if request.method == "GET":
        return show()
    return answer_write(
        request,
        form,
        lambda: services.update_vendor_settings(
            org=request.org, **{f: form.cleaned_data[f] for f in form.fields}
        ),
        show=lambda **_: show(),
        done=reverse("vendors:vendor_settings"),
        message="Vendor settings saved; scores recomputed.",
    )
