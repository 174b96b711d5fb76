"""A local OpenID Connect identity provider for development and the single sign-on tests: a
separate small Django project (django-oauth-toolkit, RS256-signed ID tokens, SQLite), run as
its own process with `python -m localdev.oidc_provider`. Never part of the product."""
