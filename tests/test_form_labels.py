"""Field labels read as words, without Django's trailing colon, on every form page."""

import re

import pytest

from tests.conftest import signed_in

PAGES = [
    "/members/",
    "/members/groups/",
    "/members/security/",
    "/members/single-sign-on/",
    "/members/data/",
    "/members/api-keys/",
    "/audit/",
    "/workspaces/new/",
    "/ask/",
]


@pytest.mark.parametrize("path", PAGES)
def test_form_labels_have_no_trailing_colon(org_a, owner_a, path: str):
    response = signed_in(org_a, owner_a).get(path)

    texts = re.findall(r"<label[^>]*>(.*?)</label>", response.content.decode(), re.S)
    labels = [re.sub(r"<[^>]+>", "", text).strip() for text in texts]
    assert response.status_code == 200
    assert labels
    assert not [label for label in labels if label.endswith(":")]
