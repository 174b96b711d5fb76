from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from billing.models import BillingAccount, Plan, StripeEvent, UsageDay
from billing.money import dollars
from billing.selectors import organizations_activity
from tenants.models import Organization


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
    list_display = [
        "name", "slug", "stripe_price_id", "monthly_price_cents", "questions_per_period",
        "max_model_cost_cents", "max_documents", "max_storage_bytes", "max_members",
        "max_workspaces", "is_public",
    ]  # fmt: skip
    list_editable = ["is_public"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin[BillingAccount]):
    list_display = ["organization", "plan", "status", "current_period_end", "past_due_since"]
    list_filter = ["plan", "status"]
    search_fields = ["organization__name", "organization__slug", "stripe_customer_id"]
    readonly_fields = [
        "stripe_customer_id", "stripe_subscription_id", "last_event_at",
        "last_checkout_session_id",
    ]  # fmt: skip


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin[StripeEvent]):
    list_display = ["event_id", "type", "organization", "created", "received_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["event_id", "organization__name"]


# The operations console reads the last days of every organization from here.
ACTIVITY_DAYS = (1, 7, 30)


@admin.register(UsageDay)
class UsageDayAdmin(admin.ModelAdmin[UsageDay]):
    """The public ledger, a row per organization and day, written by the actions
    themselves; read only. Its "Activity by organization" page sums the last days."""

    list_display = [
        "day", "organization_label", "answers", "answers_cached", "answers_failed", "tokens",
        "cost", "documents_ingested", "ingestions_failed", "chunks_embedded",
    ]  # fmt: skip
    list_filter = ["day"]
    search_fields = ["organization__name", "organization__slug"]
    date_hierarchy = "day"
    change_list_template = "admin/billing/usageday/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Organization")
    def organization_label(self, obj: UsageDay) -> str:
        # A deleted organization's rows stay (lifecycle.deletion), its row does not: named by
        # a field, the list would join it away.
        try:
            return str(obj.organization)
        except Organization.DoesNotExist:
            return f"Deleted organization {obj.organization_id}"

    @admin.display(description="Tokens in / out")
    def tokens(self, obj: UsageDay) -> str:
        return f"{obj.input_tokens:,} / {obj.output_tokens:,}"

    @admin.display(description="Model cost", ordering="model_cost_micros")
    def cost(self, obj: UsageDay) -> str:
        return dollars(obj.model_cost_micros)

    def get_urls(self) -> list[URLPattern]:
        activity = path(
            "activity/",
            self.admin_site.admin_view(self.activity_view),
            name="billing_usageday_activity",
        )
        return [activity, *super().get_urls()]

    def activity_view(self, request: HttpRequest) -> HttpResponse:
        raw = request.GET.get("days", "7")
        if not self.has_view_permission(request):
            return HttpResponse("You may not see the usage ledger.", status=403)
        if raw not in {str(days) for days in ACTIVITY_DAYS}:
            return HttpResponse(
                "Choose 1, 7 or 30 days.", status=400, content_type="text/plain; charset=utf-8"
            )
        days = int(raw)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Activity by organization, last {days} day{'s' if days > 1 else ''}",
            "opts": self.model._meta,
            "rows": organizations_activity(days=days),
            "days": days,
            "choices": ACTIVITY_DAYS,
        }
        return TemplateResponse(request, "admin/billing/activity.html", context)
