from django.contrib import admin

from billing.models import BillingAccount, Plan, StripeEvent


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
    list_display = [
        "name", "slug", "stripe_price_id", "monthly_price_cents", "questions_per_period",
        "max_documents", "max_storage_bytes", "max_members", "max_workspaces", "is_public",
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
