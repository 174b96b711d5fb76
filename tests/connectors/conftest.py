"""The website source against the local website (localdev/website_server.py), read by the
source's real HTTP client and trafilatura; syncs run in-process through the service the
Celery task calls (connectors.sync), on the test's transaction."""

from collections.abc import Iterator

import pytest

from accounts.models import User
from connectors.models import Connector
from connectors.services import website_connector_add
from localdev.website_server import WebsiteLocal
from workspaces.models import Workspace

LEAVE = (
    "<p>Employees get 25 days of paid leave every year. Unused days carry over until the "
    "end of March of the next year.</p><p>Parental leave lasts sixteen weeks at full pay.</p>"
)
EXPENSES = (
    "<p>Travel expenses are reimbursed within ten working days when the receipt is filed "
    "in the expenses tool.</p><p>Hotels up to 180 euros a night need no approval.</p>"
)
SECURITY = (
    "<p>Laptops lock after five minutes without use. Report a lost laptop to the service "
    "desk within one hour.</p><p>Passwords have at least fourteen characters.</p>"
)


@pytest.fixture
def site() -> Iterator[WebsiteLocal]:
    """A small help site: an index linking three policies under /help/, a page outside the
    prefix, and a robots.txt that keeps crawlers out of /help/drafts/."""
    local = WebsiteLocal().start()
    local.page("/robots.txt", "User-agent: *\nDisallow: /help/drafts/\n", "text/plain")
    local.html(
        "/help/",
        "Help centre",
        "<p>Everything about working at Example Corp: leave, expenses and security.</p>",
        ("/help/leave.html", "/help/expenses.html", "/help/security.html",
         "/help/drafts/secret.html", "/blog/news.html", "/help/logo.png"),
    )  # fmt: skip
    local.html("/help/leave.html", "Leave policy", LEAVE, ("/help/",))
    local.html("/help/expenses.html", "Expenses policy", EXPENSES)
    local.html("/help/security.html", "Security policy", SECURITY)
    local.html("/help/drafts/secret.html", "Draft", "<p>Not for crawlers, a draft page.</p>")
    local.html("/blog/news.html", "News", "<p>Outside the prefix, never synced here.</p>")
    yield local
    local.stop()


@pytest.fixture
def website(owner_a: User, workspace: Workspace, site: WebsiteLocal) -> Connector:
    return website_connector_add(actor=owner_a, workspace=workspace, start_url=site.url("/help/"))
