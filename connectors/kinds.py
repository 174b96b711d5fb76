"""The source a connector reads, built from its kind, selection and credentials."""

from accounts.secrets_at_rest import KeyServiceUnavailable, SecretUnreadable
from connectors.credentials import credentials_open, refresh_token_keep
from connectors.models import Connector, SourceKind
from connectors.sources import PermissionSource, Source, SourceReconnect, SourceUnavailable
from connectors.sources.confluence import ConfluenceSource
from connectors.sources.google_drive import GoogleDriveSource
from connectors.sources.microsoft import MicrosoftDriveSource
from connectors.sources.notion import NotionSource
from connectors.sources.website import WebsiteSource

SOURCE_CLASSES: dict[SourceKind, type] = {
    SourceKind.WEBSITE: WebsiteSource,
    SourceKind.GOOGLE_DRIVE: GoogleDriveSource,
    SourceKind.CONFLUENCE: ConfluenceSource,
    SourceKind.NOTION: NotionSource,
    SourceKind.MICROSOFT: MicrosoftDriveSource,
}
# The kinds whose sources say who may read each item (connectors.sources.PermissionSource):
# only their connectors have a permission-only sync, and their page says so.
PERMISSION_KINDS = frozenset(
    kind for kind, source in SOURCE_CLASSES.items() if issubclass(source, PermissionSource)
)


def connector_source(connector: Connector) -> Source:
    try:
        credentials = credentials_open(connector)
    except KeyServiceUnavailable as refusal:
        raise SourceUnavailable(str(refusal)) from None
    except SecretUnreadable:
        if connector.selection.get("consent"):
            # A person's consent: they connect it again with the Reconnect button.
            raise SourceReconnect(
                "This source's sign-in cannot be read with the keys this service has; "
                "connect it again."
            ) from None
        # No page changes typed-in credentials: it is added again (its documents may stay).
        raise SourceUnavailable(
            "This source's credentials cannot be read with the keys this service has; "
            "remove the source (its documents can stay) and add it again with its credentials."
        ) from None
    if connector.kind == SourceKind.WEBSITE:
        username, password = credentials.get("username", ""), credentials.get("password", "")
        return WebsiteSource(
            start_url=connector.selection["start_url"],
            prefix=connector.selection.get("prefix", ""),
            auth=(username, password) if username else None,
        )
    if connector.kind == SourceKind.GOOGLE_DRIVE:
        # A service account's key file, or a person's consent (its refresh token).
        return GoogleDriveSource(
            key_file=credentials.get("key_file", ""),
            refresh_token=credentials.get("refresh_token", ""),
            folder_id=connector.selection.get("folder_id", ""),
            subject=connector.selection.get("subject", ""), cursor=connector.cursor,
        )  # fmt: skip
    if connector.kind == SourceKind.CONFLUENCE:
        return ConfluenceSource(
            site_url=connector.selection["site_url"], spaces=connector.selection["spaces"],
            email=credentials["email"], api_token=credentials["api_token"],
            cursor=connector.cursor,
        )  # fmt: skip
    if connector.kind == SourceKind.NOTION:
        return NotionSource(token=credentials["token"], cursor=connector.cursor)
    if connector.kind == SourceKind.MICROSOFT:
        # An app's client credentials, or a person's consent (its refresh token, which
        # Microsoft replaces as it is used: the new one is kept at once).
        return MicrosoftDriveSource(
            tenant_id=credentials.get("tenant_id", ""), client_id=credentials.get("client_id", ""),
            client_secret=credentials.get("client_secret", ""),
            refresh_token=credentials.get("refresh_token", ""),
            refresh_token_rotated=lambda token: refresh_token_keep(connector, token),
            site_url=connector.selection.get("site_url", ""),
            user=connector.selection.get("user", ""),
            folder=connector.selection.get("folder", ""), cursor=connector.cursor,
        )  # fmt: skip
    raise SourceUnavailable(f"Sources of the kind “{connector.kind}” are not synced any more.")
