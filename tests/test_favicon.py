"""The favicon: linked from our layout, and /favicon.ico (asked for by pages without the
link: the Django admin's, the API docs, an error page) leads to it on both sites."""

from django.test import Client


def test_favicon_ico_leads_to_the_icon_on_the_public_site(public_client: Client):
    response = public_client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("/img/favicon.svg")


def test_favicon_ico_leads_to_the_icon_on_an_organizations_site(client_a: Client):
    response = client_a.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("/img/favicon.svg")
