"""The billing page's figures: the chart agrees with the meter, numbers read with thousands
separators, each plan card says its price once."""

from datetime import timedelta

from django.utils import timezone

from billing.caps import cap_question_consume
from billing.models import BillingAccount, Plan, SubscriptionStatus
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in


def test_questions_chart_agrees_with_the_meter_after_an_upgrade_during_the_day(org_a, owner_a):
    for _ in range(3):
        cap_question_consume(organization=org_a)  # on Free, before the upgrade
    team = Plan.objects.create(
        name="Team upgrade", slug="team-upgrade", stripe_price_id="price_team_upgrade",
        monthly_price_cents=4900, questions_per_period=25_000, max_documents=5_000,
        max_storage_bytes=10 * 2**30, max_members=1_000, max_workspaces=50, position=9,
    )  # fmt: skip
    now = timezone.now()
    BillingAccount.objects.filter(organization=org_a).update(
        plan=team, status=SubscriptionStatus.ACTIVE, stripe_subscription_id="sub_upgrade",
        current_period_start=now, current_period_end=now + timedelta(days=30),
    )  # fmt: skip
    for _ in range(2):
        cap_question_consume(organization=org_a)

    page = signed_in(org_a, owner_a).get("/billing/").content.decode()

    today = timezone.now()
    assert '<span class="meter-figures">2 / 25,000</span>' in page
    assert f'title="{today.day} {today:%b}: 2 questions"' in page
    assert "Busiest day so far: 2 questions." in page
    assert "<li>25,000 questions per month</li>" in page
    assert "<li>5,000 documents, 10.0\xa0GB</li>" in page
    assert "<li>1,000 members, 50 workspaces</li>" in page
    free_card = page.split('data-plan="free"')[1].split("</article>")[0]
    assert free_card.count("Free") == 1
    assert "Cancel under “Manage” to come back to this plan." in free_card


def test_free_plan_card_names_the_plan_once_and_shows_its_price(org_a, owner_a):
    plan_caps("free", questions_per_period=1_500)

    page = signed_in(org_a, owner_a).get("/billing/").content.decode()

    card = page.split('data-plan="free"')[1].split("</article>")[0]
    assert card.count("Free") == 1
    assert "<p>$0 / month</p>" in card
    assert "<li>1,500 questions per month</li>" in card


def test_questions_chart_agrees_with_the_meter_after_a_downgrade_during_the_month(org_a, owner_a):
    """Questions asked on a paid plan belong to its period; back on Free (calendar months)
    the chart shows only what the Free meter counts, even on the day of the change."""
    team = Plan.objects.create(
        name="Team downgrade", slug="team-downgrade", stripe_price_id="price_team_downgrade",
        monthly_price_cents=4900, questions_per_period=25_000, max_documents=5_000,
        max_storage_bytes=10 * 2**30, max_members=1_000, max_workspaces=50, position=9,
    )  # fmt: skip
    now = timezone.now()
    BillingAccount.objects.filter(organization=org_a).update(
        plan=team, status=SubscriptionStatus.ACTIVE, stripe_subscription_id="sub_downgrade",
        current_period_start=now - timedelta(days=3), current_period_end=now + timedelta(days=27),
    )  # fmt: skip
    for _ in range(4):
        cap_question_consume(organization=org_a)  # on Team
    BillingAccount.objects.filter(organization=org_a).update(
        plan=Plan.objects.get(slug="free"), status=SubscriptionStatus.CANCELED,
        stripe_subscription_id="", current_period_start=None, current_period_end=None,
    )  # fmt: skip
    cap_question_consume(organization=org_a)  # back on Free

    page = signed_in(org_a, owner_a).get("/billing/").content.decode()

    assert '<span class="meter-figures">1 / ' in page
    assert f'title="{now.day} {now:%b}: 1 question"' in page
    assert "Busiest day so far: 1 question." in page
