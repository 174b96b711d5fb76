"""Google Drive through google-api-python-client, as a service account (with domain-wide
delegation when a user to act as is given) or as the person who connected it (their consent:
OAuth 2's authorization code flow with PKCE through google-auth-oauthlib, offline access, the
drive.readonly scope; the sync refreshes an access token from their refresh token with
google-auth): the files of a folder (or every file the account sees). The first sync lists
them (files.list) after taking a changes start page token; each later sync reads only the
changes since it (changes.list). A file whose Drive version is the one synced last is not
downloaded again. Google Docs, Sheets and Slides are exported
to DOCX, XLSX and PPTX; other files are downloaded as they are.

Permissions: each file's readers are its Drive permissions (any role reads): a user's
address, a group's address (its members read through the Admin SDK's Directory API,
members.list with derived membership, as the same service account with its own scope), a
domain, or anyone (public). They come with the file's metadata; where Drive leaves them out
(a file on a shared drive), from permissions.list. The permission-only sync reads them with
files.get (every item) or, from its cursor on, only for the files of the changes since.

A refresh token Google no longer accepts (revoked by the person or their admin, expired,
the password changed) raises SourceReconnect: the source waits for a Reconnect.

The API's, the consent page's and the token endpoint's addresses come from the settings,
never from the key file a customer pastes (its token_uri could point anywhere)."""

import json
import re
from collections.abc import Sequence
from typing import Any

import google_auth_httplib2
import httplib2
import requests
from django.conf import settings
from google.auth.credentials import Credentials
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2 import OAuth2Error

from connectors.sources import (
    BrowsedFolder,
    ConsentGrant,
    ConsentRefused,
    Fetched,
    FolderListing,
    Gone,
    ItemRef,
    ItemUnreadable,
    Listing,
    RateLimited,
    Readers,
    ReadersListing,
    SourceReconnect,
    SourceUnavailable,
    Unchanged,
)
from connectors.sources.guarded_http import retry_after_seconds

SCOPES = ["https://www.googleapis.com/auth/drive.readonly"]
# Asked for apart from Drive's: a delegation that grants only Drive still syncs files, and
# then the groups of their readers let nobody in.
GROUP_MEMBERS_SCOPES = ["https://www.googleapis.com/auth/admin.directory.group.member.readonly"]
EXPORTS = {
    "application/vnd.google-apps.document": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "application/vnd.google-apps.spreadsheet": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "application/vnd.google-apps.presentation": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
}  # fmt: skip
PERMISSION_FIELDS = "permissions(type,role,emailAddress,domain,deleted)"
FILE_FIELDS = (
    "id,name,mimeType,trashed,parents,webViewLink,version,md5Checksum,modifiedTime,"
    + PERMISSION_FIELDS
)
CHANGE_FIELDS = f"changes(fileId, removed, file({FILE_FIELDS}))"
PAGE_SIZE = 1000
FOLDER = "application/vnd.google-apps.folder"
# The picker shows at most this many folders of one level (in pages of BROWSE_PAGE_SIZE).
BROWSE_LIMIT, BROWSE_PAGE_SIZE = 500, 100
# A Drive file id, or "root" (My Drive): nothing else goes into a files.list query.
FOLDER_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def service_account_refusal(text: str) -> str:
    """Why a pasted key file cannot be used, or "" when it looks like a service account's."""
    try:
        info = json.loads(text)
    except ValueError:
        return "The key file is not JSON: paste the whole file Google gave you."
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return "That is not a service account's key file (its “type” must be service_account)."
    missing = [key for key in ("client_email", "private_key") if not info.get(key)]
    if missing:
        return f"The key file has no {missing[0]}."
    return ""


def consent_configured() -> bool:
    return bool(settings.GOOGLE_OAUTH_CLIENT_ID and settings.GOOGLE_OAUTH_CLIENT_SECRET)


def _flow(redirect_uri: str, code_verifier: str | None) -> Flow:
    client = {
        "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
        "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
        "auth_uri": settings.GOOGLE_OAUTH_AUTHORIZE_URL,
        "token_uri": settings.GOOGLE_DRIVE_TOKEN_URI,
    }
    return Flow.from_client_config(
        {"web": client}, scopes=SCOPES, redirect_uri=redirect_uri, code_verifier=code_verifier
    )


def consent_url(*, redirect_uri: str, state: str) -> tuple[str, str]:
    """Google's consent page for reading Drive with offline access (a refresh token), and
    the PKCE code verifier to keep (in the session) until the exchange."""
    flow = _flow(redirect_uri, None)
    # prompt=consent: Google gives a refresh token only on a consent, and a person
    # reconnecting has consented before.
    url, _ = flow.authorization_url(
        access_type="offline", prompt="consent", include_granted_scopes="true", state=state
    )
    return str(url), str(flow.code_verifier)


def consent_exchange(*, redirect_uri: str, code: str, code_verifier: str) -> ConsentGrant:
    """The code Google sent back exchanged (with the PKCE verifier) for a refresh token,
    and the account it belongs to; ConsentRefused with Google's reason otherwise."""
    flow = _flow(redirect_uri, code_verifier)
    try:
        flow.fetch_token(code=code)
    except OAuth2Error as refusal:
        reason = refusal.description or refusal.error
        raise ConsentRefused(f"Google did not accept the authorization: {reason}.") from None
    except (requests.RequestException, ValueError) as error:
        raise ConsentRefused(f"Google could not be reached ({type(error).__name__}).") from None
    refresh_token = flow.credentials.refresh_token
    if not refresh_token:
        raise ConsentRefused("Google gave no refresh token; connect again and allow access.")
    account = ""
    try:
        source = GoogleDriveSource(refresh_token=refresh_token, folder_id="", cursor="")
        about = source._call(source.drive.about().get(fields="user(emailAddress)"))
        account = str(about.get("user", {}).get("emailAddress", ""))
    except (HttpError, SourceUnavailable):
        pass  # the account's address is for the page only
    return ConsentGrant(credentials={"refresh_token": refresh_token}, account=account)


def consent_folders(*, refresh_token: str, folder: str = "") -> FolderListing:
    """The folders in `folder` (a folder id; "" or "root": My Drive's top) as the person
    whose consent gave `refresh_token` sees them, by name, for the page that picks what to
    sync. SourceReconnect when Google no longer accepts the grant, RateLimited under quota,
    SourceUnavailable otherwise (a sentence)."""
    folder = folder or "root"
    if not FOLDER_ID.fullmatch(folder):
        raise SourceUnavailable("That is not a Google Drive folder's ID.")
    source = GoogleDriveSource(refresh_token=refresh_token, folder_id="", cursor="")
    query = f"'{folder}' in parents and mimeType = '{FOLDER}' and trashed = false"
    try:
        here: dict[str, Any] = {}
        if folder != "root":
            here = source._call(source.drive.files().get(
                fileId=folder, fields="id,name,parents,mimeType", supportsAllDrives=True,
            ))  # fmt: skip
            if here.get("mimeType") != FOLDER:
                raise SourceUnavailable(f"“{here.get('name', folder)}” is not a folder.")
        folders: list[BrowsedFolder] = []
        token = None
        while True:
            page = source._call(source.drive.files().list(
                q=query, pageSize=BROWSE_PAGE_SIZE, pageToken=token, orderBy="name",
                fields="nextPageToken, files(id,name)",
            ))  # fmt: skip
            folders += [
                BrowsedFolder(name=str(found.get("name") or found["id"]),
                              open={"folder": found["id"]}, choice={"folder_id": found["id"]})
                for found in page.get("files", [])
            ]  # fmt: skip
            token = page.get("nextPageToken")
            if not token or len(folders) >= BROWSE_LIMIT:
                break
    except HttpError as error:
        if error.resp.status == 404:
            raise SourceUnavailable(
                "Google Drive does not find that folder (or it is no longer shared with you)."
            ) from None
        raise SourceUnavailable(
            f"Google Drive answered {error.resp.status}: {error.reason}"
        ) from None
    if folder == "root" or not here.get("parents"):
        return FolderListing(
            here=str(here.get("name", "")), up={} if here else None,
            choice={"folder_id": folder} if here else {"folder_id": ""},
            folders=folders[:BROWSE_LIMIT], truncated=bool(token),
        )  # fmt: skip
    return FolderListing(
        here=str(here.get("name") or folder), up={"folder": str(here["parents"][0])},
        choice={"folder_id": folder}, folders=folders[:BROWSE_LIMIT], truncated=bool(token),
    )  # fmt: skip


class GoogleDriveSource:
    follows_links = False
    max_items: int | None = None

    def __init__(
        self, *, folder_id: str, cursor: str, key_file: str = "", subject: str = "",
        refresh_token: str = "",
    ) -> None:  # fmt: skip
        """Read as the service account of `key_file`, or else as the person whose consent
        gave `refresh_token` (with our OAuth client's id and secret)."""
        self.folder_id, self.cursor = folder_id, cursor
        self.consented = not key_file
        credentials: Credentials
        if key_file:
            info = {**json.loads(key_file), "token_uri": settings.GOOGLE_DRIVE_TOKEN_URI}
            try:
                account = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    info, scopes=SCOPES, subject=subject or None
                )
            except (ValueError, GoogleAuthError):
                raise SourceUnavailable("The service account's key file cannot be used.") from None
            credentials, directory_credentials = account, account.with_scopes(GROUP_MEMBERS_SCOPES)
        else:
            # No access token yet: the first request refreshes one.
            credentials = user_credentials.Credentials(  # type: ignore[no-untyped-call]
                None, refresh_token=refresh_token, token_uri=settings.GOOGLE_DRIVE_TOKEN_URI,
                client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
                client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET, scopes=SCOPES,
            )  # fmt: skip
            # A person consents to Drive only: the directory answers 403, and groups let
            # nobody in (fewer readers, never more).
            directory_credentials = credentials
        http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=settings.CONNECTOR_HTTP_TIMEOUT_SECONDS)
        )
        self.drive = build(
            "drive", "v3", http=http, static_discovery=True, cache_discovery=False,
            client_options={"api_endpoint": settings.GOOGLE_DRIVE_API_URL},
        )  # fmt: skip
        directory_http = google_auth_httplib2.AuthorizedHttp(
            directory_credentials,
            http=httplib2.Http(timeout=settings.CONNECTOR_HTTP_TIMEOUT_SECONDS),
        )
        self.directory = build(
            "admin", "directory_v1", http=directory_http, static_discovery=True,
            cache_discovery=False, client_options={"api_endpoint": settings.GOOGLE_ADMIN_API_URL},
        )  # fmt: skip

    def _call(self, request: Any) -> Any:
        try:
            return request.execute(num_retries=0)
        except HttpError as error:
            if error.resp.status == 429 or (
                error.resp.status == 403 and "rateLimitExceeded" in str(error.content)
            ):
                raise RateLimited(retry_after_seconds(error.resp.get("retry-after"))) from None
            raise
        except RefreshError as refusal:
            if self.consented and _refusal_error(refusal) == "invalid_grant":
                # Revoked, expired, or the password changed: only a new consent helps.
                raise SourceReconnect(
                    "Google no longer accepts the access given when this source was connected "
                    f"({_first_line(refusal)}). Reconnect it to sync again."
                ) from None
            if self.consented:
                # Our OAuth client refused (its secret changed) or Google failing: the
                # person's consent may well hold, so the source fails and is tried again.
                raise SourceUnavailable(
                    f"Google refused to refresh the access ({_first_line(refusal)})."
                ) from None
            raise SourceUnavailable(
                "Google refused the service account's key; check it is current and that the "
                "account may read the folder."
            ) from None
        except GoogleAuthError:
            raise SourceUnavailable(
                "Google refused the service account's key; check it is current and that the "
                "account may read the folder."
            ) from None
        except (httplib2.HttpLib2Error, OSError) as error:
            raise SourceUnavailable(
                f"Google Drive could not be reached ({type(error).__name__})."
            ) from None

    def _in_scope(self, file: dict[str, Any]) -> bool:
        return (
            not file.get("trashed")
            and file.get("mimeType") != "application/vnd.google-apps.folder"
            and (not self.folder_id or self.folder_id in file.get("parents", []))
        )

    def listing(self) -> Listing:
        try:
            if self.cursor:
                return self._changes()
            return self._everything()
        except HttpError as error:
            raise SourceUnavailable(
                f"Google Drive answered {error.resp.status}: {error.reason}"
            ) from None

    def _everything(self) -> Listing:
        # Taken before listing, so that what changes while the listing runs is in the next
        # sync's delta.
        start = self._call(self.drive.changes().getStartPageToken())["startPageToken"]
        query = "trashed = false"
        if self.folder_id:
            query = f"'{self.folder_id}' in parents and {query}"
        items: list[ItemRef] = []
        token = None
        while True:
            page = self._call(self.drive.files().list(
                q=query, pageSize=PAGE_SIZE, pageToken=token,
                fields=f"nextPageToken, files({FILE_FIELDS})",
            ))  # fmt: skip
            items += [_ref(file) for file in page.get("files", []) if self._in_scope(file)]
            token = page.get("nextPageToken")
            if not token:
                return Listing(items=items, complete=True, cursor=start)

    def _changes(self) -> Listing:
        changed: dict[str, ItemRef] = {}
        removed: list[str] = []
        token = self.cursor
        while True:
            page = self._call(self.drive.changes().list(
                pageToken=token, pageSize=PAGE_SIZE,
                fields=f"nextPageToken, newStartPageToken, {CHANGE_FIELDS}",
            ))  # fmt: skip
            for change in page.get("changes", []):
                file = change.get("file")
                if change.get("removed") or file is None or not self._in_scope(file):
                    removed.append(change["fileId"])
                    changed.pop(change["fileId"], None)
                else:
                    changed[file["id"]] = _ref(file)
                    if change["fileId"] in removed:
                        removed.remove(change["fileId"])
            if page.get("newStartPageToken"):
                return Listing(
                    items=list(changed.values()), complete=True, delta=True, removed=removed,
                    cursor=page["newStartPageToken"],
                )  # fmt: skip
            token = page["nextPageToken"]

    def fetch(self, item: ItemRef, *, etag: str, last_modified: str) -> Fetched | Unchanged | Gone:
        try:
            file = self._call(self.drive.files().get(fileId=item.source_id, fields=FILE_FIELDS))
            if not self._in_scope(file):
                return Gone("It was moved out of the folder or to the trash.")
            version = f"{file.get('version', '')}:{file.get('md5Checksum', '')}"
            if etag and etag == version:
                return Unchanged(readers=self._file_readers(file))
            name, mime_type = file["name"], file["mimeType"]
            if mime_type in EXPORTS:
                export_type, extension = EXPORTS[mime_type]
                data = self._call(
                    self.drive.files().export(fileId=file["id"], mimeType=export_type)
                )
                name = name if name.lower().endswith(extension) else name + extension
            elif mime_type.startswith("application/vnd.google-apps."):
                return Gone(f"Google {mime_type.rsplit('.', 1)[-1]} files cannot be exported.")
            else:
                data = self._call(self.drive.files().get_media(fileId=file["id"]))
        except HttpError as error:
            if error.resp.status == 404:
                return Gone("It is no longer in Google Drive (or no longer shared with us).")
            raise ItemUnreadable(
                f"Google Drive answered {error.resp.status}: {error.reason}"
            ) from None
        title = name.rsplit(".", 1)[0] if "." in name else name
        return Fetched(
            data=data,
            filename=name,
            title=title,
            url=file.get("webViewLink", ""),
            etag=version,
            readers=self._file_readers(file),
        )

    def _file_readers(self, file: dict[str, Any]) -> Readers:
        if "permissions" in file:
            return drive_readers(file["permissions"])
        permissions: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._call(self.drive.permissions().list(
                fileId=file["id"], pageToken=token, supportsAllDrives=True,
                fields=f"nextPageToken, {PERMISSION_FIELDS}",
            ))  # fmt: skip
            permissions += page.get("permissions", [])
            token = page.get("nextPageToken")
            if not token:
                return drive_readers(permissions)

    def readers(self, items: Sequence[ItemRef], *, cursor: str) -> ReadersListing:
        wanted = {item.source_id for item in items}
        try:
            if cursor:
                return self._readers_changed(wanted, cursor)
            start = self._call(self.drive.changes().getStartPageToken())["startPageToken"]
            found: dict[str, Readers] = {}
            for source_id in sorted(wanted):
                try:
                    file = self._call(self.drive.files().get(
                        fileId=source_id, fields=f"id,trashed,{PERMISSION_FIELDS}",
                        supportsAllDrives=True,
                    ))  # fmt: skip
                except HttpError as error:
                    if error.resp.status == 404:
                        continue  # gone, or no longer shared with us: the content sync prunes it
                    raise
                found[source_id] = Readers() if file.get("trashed") else self._file_readers(file)
            return ReadersListing(readers=found, cursor=start)
        except HttpError as error:
            raise SourceUnavailable(
                f"Google Drive answered {error.resp.status}: {error.reason}"
            ) from None

    def _readers_changed(self, wanted: set[str], cursor: str) -> ReadersListing:
        found: dict[str, Readers] = {}
        token = cursor
        while True:
            page = self._call(self.drive.changes().list(
                pageToken=token, pageSize=PAGE_SIZE,
                fields=f"nextPageToken, newStartPageToken, {CHANGE_FIELDS}",
            ))  # fmt: skip
            for change in page.get("changes", []):
                file = change.get("file")
                if change["fileId"] not in wanted:
                    continue
                if change.get("removed") or file is None or not self._in_scope(file):
                    # Deleted, trashed, moved out or no longer shared with us: nobody reads
                    # it here until the next content sync removes it.
                    found[change["fileId"]] = Readers()
                else:
                    found[change["fileId"]] = self._file_readers(file)
            if page.get("newStartPageToken"):
                return ReadersListing(readers=found, cursor=page["newStartPageToken"])
            token = page["nextPageToken"]

    def group_members(self, group: str) -> list[str] | None:
        members: list[str] = []
        token = None
        try:
            while True:
                page = self._call(self.directory.members().list(
                    groupKey=group, includeDerivedMembership=True, pageToken=token,
                ))  # fmt: skip
                members += [
                    member["email"]
                    for member in page.get("members", [])
                    if member.get("type") == "USER" and member.get("email")
                ]
                token = page.get("nextPageToken")
                if not token:
                    return members
        except HttpError as error:
            if error.resp.status in (403, 404):
                return None  # not a group we may read (or no longer one)
            raise SourceUnavailable(
                f"Google's directory answered {error.resp.status}: {error.reason}"
            ) from None
        except SourceUnavailable:
            # The delegation does not grant the directory's scope: the token is refused.
            return None


def drive_readers(permissions: list[dict[str, Any]]) -> Readers:
    """A file's readers from its Drive permissions: every role reads (reader, commenter,
    writer, owner, ...); a deleted account's permission lets nobody in."""
    emails: set[str] = set()
    groups: set[str] = set()
    domains: set[str] = set()
    for permission in permissions:
        kind, address = permission.get("type"), permission.get("emailAddress", "")
        if permission.get("deleted"):
            continue
        if kind == "anyone":
            return Readers(public=True)
        if kind == "user" and address:
            emails.add(address.lower())
        elif kind == "group" and address:
            groups.add(address.lower())
        elif kind == "domain" and permission.get("domain"):
            domains.add(permission["domain"].lower())
    return Readers(emails=frozenset(emails), groups=frozenset(groups), domains=frozenset(domains))


def _refusal_error(refusal: RefreshError) -> str:
    """The OAuth error code of Google's answer to a refresh ("invalid_grant", ...)."""
    answer = refusal.args[1] if len(refusal.args) > 1 else None
    return str(answer.get("error", "")) if isinstance(answer, dict) else ""


def _first_line(error: Exception) -> str:
    reason = error.args[0] if error.args else error
    return str(reason).split("\n")[0].strip().rstrip(".")


def _ref(file: dict[str, Any]) -> ItemRef:
    return ItemRef(source_id=file["id"], url=file.get("webViewLink", ""))
