"""django-allauth's own pages in the product's layout, their labels as ours (no colons)."""

import re

import pytest

from tests.conftest import client_for, signed_in

SIGNED_OUT = [
    "/accounts/login/",
    "/accounts/signup/",  # closed: people join by invitation
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
]
SIGNED_IN = [
    "/accounts/logout/",
    "/accounts/password/change/",
    "/accounts/email/",
    "/accounts/2fa/",
    "/accounts/sessions/",
]


def _labels(page: str) -> list[str]:
    texts = re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)
    return [re.sub(r"<[^>]+>", "", text).strip() for text in texts]


@pytest.mark.parametrize("path", SIGNED_OUT)
def test_allauth_page_for_visitors_is_in_the_products_layout_without_label_colons(org_a, path: str):
    response = client_for(org_a).get(path)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<header class="topbar">' in page
    assert not [label for label in _labels(page) if label.endswith(":")]


@pytest.mark.parametrize("path", SIGNED_IN)
def test_allauth_page_for_members_is_in_the_products_layout_without_label_colons(
    org_a, owner_a, path: str
):
    response = signed_in(org_a, owner_a).get(path)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<header class="topbar">' in page
    assert not [label for label in _labels(page) if label.endswith(":")]


def test_sign_in_labels_read_email_and_password(org_a):
    page = client_for(org_a).get("/accounts/login/").content.decode()

    assert {"Email", "Password"} <= set(_labels(page))
