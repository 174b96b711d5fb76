from django.core import mail
from django.test import Client


def test_find_my_organization_emails_the_list_without_showing_it(public_client: Client):
    response = public_client.post("/find/", {"email": "OWNER@alpha.example"})

    assert response.status_code == 200
    assert b"emailed it a list" in response.content
    assert b"alpha.localhost" not in response.content
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@alpha.example"]
    assert "http://alpha.localhost/" in mail.outbox[0].body
    assert "bravo" not in mail.outbox[0].body


def test_find_my_organization_for_an_unknown_email_says_so_in_the_email(public_client: Client):
    public_client.post("/find/", {"email": "nobody@nowhere.example"})

    assert "does not belong to any organization" in mail.outbox[0].body


def test_find_my_organization_lists_on_the_page_in_development(public_client: Client, settings):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    response = public_client.post("/find/", {"email": "owner@bravo.example"})

    assert b'data-testid="found-organizations"' in response.content
    assert b"http://bravo.localhost/" in response.content
