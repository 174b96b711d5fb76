import csv
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.http import MemberRequest, form_refusal
from audit.forms import AuditFilterForm
from audit.models import AuditEvent
from audit.selectors import audit_events

PAGE_SIZE = 50


def _filtered(request: MemberRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent] | None]:
    # The log is for owners and admins; to anyone else it does not exist.
    if not request.user.can_manage_members:
        raise Http404
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    events = audit_events(
        actor=data["person"], action=data["action"], since=data["since"], until=data["until"]
    )
    return form, events


@login_required
@require_GET
def audit_log(request: MemberRequest) -> HttpResponse:
    form, events = _filtered(request)
    if events is None:
        context = {"form": form, "refusal": form_refusal(form), "page": None}
        context["retention_days"] = settings.AUDIT_RETENTION_DAYS
        return render(request, "audit/audit_log.html", context, status=400)
    page = Paginator(events.select_related("actor"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    context["retention_days"] = settings.AUDIT_RETENTION_DAYS
    return render(request, "audit/audit_log.html", context)


def _cell(value: str) -> str:
    # A document title or group name such as "=HYPERLINK(...)" would run as a formula when the
    # export is opened in a spreadsheet (CSV injection); a leading apostrophe keeps it text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_write(response: HttpResponse, events: QuerySet[AuditEvent]) -> None:
    writer = csv.writer(response)
    writer.writerow(
        ["time", "person", "action", "target type", "target id", "target", "details", "ip"]
    )
    for event in events.iterator():
        writer.writerow([
            event.created_at.isoformat(), _cell(event.actor_label), event.action,
            event.target_type, event.target_id, _cell(event.target_label),
            _cell(json.dumps(event.details, sort_keys=True)), event.ip_address or "",
        ])  # fmt: skip


@login_required
@require_GET
def audit_export(request: MemberRequest) -> HttpResponse:
    # Built whole, not streamed: a streamed response from a sync iterator makes Django under
    # ASGI warn on every export, and retention bounds the log's size.
    form, events = _filtered(request)
    if events is None:
        return HttpResponse(form_refusal(form), status=400, content_type="text/plain")
    filename = f"audit-log-{timezone.now():%Y-%m-%d}.csv"
    response = HttpResponse(
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    _csv_write(response, events)
    return response
