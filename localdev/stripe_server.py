"""A local server that speaks the parts of Stripe's HTTP API this product calls, so the
whole subscription flow runs offline: in development (`make dev` starts it unless a real
STRIPE_API_KEY is given) and in the tests, with the real `stripe` client pointed at it.

API (form-encoded requests, JSON responses, Stripe's error shape), under /v1:
customers (create, retrieve; Idempotency-Key honoured), checkout/sessions (create,
retrieve), billing_portal/sessions (create), subscriptions (retrieve, list, update,
cancel), invoices (list).

Pages a browser is sent to: /checkout/<id> (pay or cancel), /portal/<id> (switch plan,
cancel, simulate a failed or a recovered payment), /invoices/<id>. Every change sends the
webhook events Stripe would, signed like Stripe does (`Stripe-Signature: t=...,v1=...`,
HMAC-SHA256 of "<t>.<payload>" with the endpoint secret), to the configured endpoint.
State lives in memory; a restart forgets it.
"""

import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

PERIOD_SECONDS = 30 * 24 * 3600


def signature_header(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's webhook signature scheme: t=<unix time>,v1=<HMAC-SHA256 hex>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def form_decode(body: str) -> dict[str, Any]:
    """Stripe's form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            index: Any = int(part) if isinstance(node, list) else part
            if following is None:
                _put(node, index, value)
            else:
                child = _get(node, index)
                if child is None:
                    child = [] if following.isdigit() else {}
                    _put(node, index, child)
                node = child
    return root


def _get(node: Any, index: Any) -> Any:
    if isinstance(node, list):
        return node[index] if index < len(node) else None
    return node.get(index)


def _put(node: Any, index: Any, value: Any) -> None:
    if isinstance(node, list):
        while len(node) <= index:
            node.append(None)
    node[index] = value


class StripeLocal:
    """The server's state and behaviour; `start()` serves it on a thread."""

    def __init__(
        self,
        *,
        webhook_url: str,
        webhook_secret: str,
        prices: dict[str, tuple[str, int]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        deliver_in_background: bool = True,
        sender: Callable[[bytes, str], int] | None = None,
    ) -> None:
        """`sender(body, signature_header) -> status` replaces the HTTP POST to
        `webhook_url` (tests deliver through Django's test client in their own thread)."""
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.sender = sender
        self.prices = prices or {}  # price id -> (product name, cents per month)
        self.deliver_in_background = deliver_in_background
        self.objects: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, dict[str, Any]] = {}
        self.delivered: list[tuple[str, int]] = []  # (event type, endpoint's status)
        self.lock = threading.RLock()
        self._deliveries = threading.Lock()  # one delivery at a time, in order
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "StripeLocal":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- objects ---------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(10)}"

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.objects[obj["id"]] = obj
        return obj

    def find(self, object_id: str, kind: str) -> dict[str, Any] | None:
        obj = self.objects.get(object_id)
        return obj if obj is not None and obj["object"] == kind else None

    def customer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(
            {
                "id": self._new_id("cus"),
                "object": "customer",
                "created": int(time.time()),
                "email": params.get("email"),
                "name": params.get("name"),
                "metadata": params.get("metadata") or {},
                "livemode": False,
            }
        )

    def checkout_session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        session_id = self._new_id("cs_test")
        items = params.get("line_items") or []
        return self._store(
            {
                "id": session_id,
                "object": "checkout.session",
                "mode": params.get("mode", "payment"),
                "customer": params.get("customer"),
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata") or {},
                "subscription_data": params.get("subscription_data") or {},
                "success_url": params.get("success_url"),
                "cancel_url": params.get("cancel_url"),
                "status": "open",
                "payment_status": "unpaid",
                "subscription": None,
                "url": f"{self.url}/checkout/{session_id}",
                "price": (items[0] or {}).get("price") if items else None,
                "created": int(time.time()),
            }
        )

    def portal_session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        session_id = self._new_id("bps")
        return self._store(
            {
                "id": session_id,
                "object": "billing_portal.session",
                "customer": params.get("customer"),
                "return_url": params.get("return_url"),
                "url": f"{self.url}/portal/{session_id}",
                "created": int(time.time()),
            }
        )

    def _price(self, price_id: str) -> dict[str, Any]:
        name, cents = self.prices.get(price_id, (price_id, 0))
        return {
            "id": price_id,
            "object": "price",
            "currency": "usd",
            "unit_amount": cents,
            "recurring": {"interval": "month", "interval_count": 1},
            "product": name,
        }

    def subscription_create(
        self, *, customer: str, price_id: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        now = int(time.time())
        subscription = self._store(
            {
                "id": self._new_id("sub"),
                "object": "subscription",
                "customer": customer,
                "status": "active",
                "cancel_at_period_end": False,
                "created": now,
                "metadata": metadata,
                "items": {"object": "list", "data": []},
                "latest_invoice": None,
            }
        )
        self._set_price(subscription, price_id, period_start=now)
        return subscription

    def _set_price(self, subscription: dict[str, Any], price_id: str, *, period_start: int) -> None:
        subscription["items"]["data"] = [
            {
                "id": self._new_id("si"),
                "object": "subscription_item",
                "price": self._price(price_id),
                "quantity": 1,
                "current_period_start": period_start,
                "current_period_end": period_start + PERIOD_SECONDS,
            }
        ]

    def invoice_create(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        price = subscription["items"]["data"][0]["price"]
        with self.lock:
            number = sum(1 for o in self.objects.values() if o["object"] == "invoice") + 1
        invoice_id = self._new_id("in")
        invoice = self._store(
            {
                "id": invoice_id,
                "object": "invoice",
                "number": f"LOCAL-{number:04d}",
                "customer": subscription["customer"],
                "subscription": subscription["id"],
                "created": int(time.time()),
                "currency": price["currency"],
                "amount_due": price["unit_amount"],
                "amount_paid": price["unit_amount"] if paid else 0,
                "status": "paid" if paid else "open",
                "hosted_invoice_url": f"{self.url}/invoices/{invoice_id}",
            }
        )
        subscription["latest_invoice"] = invoice_id
        return invoice

    # -- what a buyer does on the pages ------------------------------------------------

    def checkout_pay(self, session: dict[str, Any]) -> str:
        """Complete the session: subscription, paid invoice, webhooks. Returns the redirect."""
        metadata = (session.get("subscription_data") or {}).get("metadata") or {}
        subscription = self.subscription_create(
            customer=session["customer"], price_id=session["price"], metadata=metadata
        )
        invoice = self.invoice_create(subscription, paid=True)
        session.update(status="complete", payment_status="paid", subscription=subscription["id"])
        self.events_send(
            [
                ("customer.subscription.created", subscription),
                ("invoice.paid", invoice),
                ("checkout.session.completed", session),
            ]
        )
        return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])

    def subscription_change(self, subscription: dict[str, Any], action: str, price: str) -> None:
        events: list[tuple[str, dict[str, Any]]] = []
        if action == "switch" and price:
            start = subscription["items"]["data"][0]["current_period_start"]
            self._set_price(subscription, price, period_start=start)
            events.append(("customer.subscription.updated", subscription))
        elif action == "cancel":
            subscription["status"] = "canceled"
            events.append(("customer.subscription.deleted", subscription))
        elif action == "fail_payment":
            invoice = self.invoice_create(subscription, paid=False)
            subscription["status"] = "past_due"
            events += [
                ("invoice.payment_failed", invoice),
                ("customer.subscription.updated", subscription),
            ]
        elif action == "pay":
            invoice = self.invoice_create(subscription, paid=True)
            subscription["status"] = "active"
            events += [("invoice.paid", invoice), ("customer.subscription.updated", subscription)]
        self.events_send(events)

    # -- webhooks ------------------------------------------------------------------------

    def event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": None,
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def events_send(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        payloads = [self.event(event_type, obj) for event_type, obj in events]
        if self.deliver_in_background:
            threading.Thread(target=self._deliver_all, args=(payloads,), daemon=True).start()
        else:
            self._deliver_all(payloads)

    def _deliver_all(self, payloads: list[dict[str, Any]]) -> None:
        with self._deliveries:
            for payload in payloads:
                self.deliver(payload)

    def deliver(self, event: dict[str, Any]) -> int:
        """POST one event to the endpoint, signed; retried a few times like Stripe does."""
        body = json.dumps(event).encode()
        if self.sender is not None:
            status = self.sender(body, signature_header(payload=body, secret=self.webhook_secret))
            self.delivered.append((event["type"], status))
            return status
        status = 0
        for attempt in range(4):
            request = urllib.request.Request(  # noqa: S310  (a configured http(s) URL)
                self.webhook_url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": signature_header(payload=body, secret=self.webhook_secret),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                logger.warning("webhook %s not delivered: %s", event["type"], error)
                status = 0
            if 200 <= status < 300:
                break
            time.sleep(0.5 * (attempt + 1))
        self.delivered.append((event["type"], status))
        return status

    # -- HTTP ----------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stripe = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("stripe_server: " + format, *args)

            def do_GET(self) -> None:
                stripe._dispatch(self, "GET")

            def do_POST(self) -> None:
                stripe._dispatch(self, "POST")

            def do_DELETE(self) -> None:
                stripe._dispatch(self, "DELETE")

        return Handler

    def _dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode() if length else ""
        params = form_decode(body if method != "GET" else parts.query)
        path = parts.path.rstrip("/")
        try:
            if path.startswith("/v1/"):
                if not (request.headers.get("Authorization") or "").startswith("Bearer sk_"):
                    raise ApiError(401, "authentication_error", "Invalid API Key provided.")
                with self.lock:
                    key = request.headers.get("Idempotency-Key")
                    if method == "POST" and key and key in self.idempotent:
                        result = self.idempotent[key]
                    else:
                        result = self._api(method, path, params)
                        if method == "POST" and key:
                            self.idempotent[key] = result
                _send(request, 200, json.dumps(result), "application/json")
            else:
                self._page(request, method, path, params)
        except ApiError as error:
            _send(request, error.status, json.dumps(error.body()), "application/json")

    def _api(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        routes: list[tuple[str, str, Callable[..., dict[str, Any]]]] = [
            ("POST", r"/v1/customers", lambda: self.customer_create(params)),
            ("GET", r"/v1/customers/(\w+)", lambda i: self._get(i, "customer")),
            ("POST", r"/v1/checkout/sessions", lambda: self.checkout_session_create(params)),
            ("GET", r"/v1/checkout/sessions/(\w+)", lambda i: self._get(i, "checkout.session")),
            ("POST", r"/v1/billing_portal/sessions", lambda: self.portal_session_create(params)),
            ("GET", r"/v1/subscriptions", lambda: self._list("subscription", params)),
            ("GET", r"/v1/subscriptions/(\w+)", lambda i: self._get(i, "subscription")),
            ("POST", r"/v1/subscriptions/(\w+)", lambda i: self._subscription_update(i, params)),
            ("DELETE", r"/v1/subscriptions/(\w+)", lambda i: self._subscription_cancel(i)),
            ("GET", r"/v1/invoices", lambda: self._list("invoice", params)),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return handler(*match.groups())
        raise ApiError(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )

    def _get(self, object_id: str, kind: str) -> dict[str, Any]:
        obj = self.find(object_id, kind)
        if obj is None:
            raise ApiError(
                404, "invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing"
            )
        return obj

    def _list(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        rows = [
            o
            for o in self.objects.values()
            if o["object"] == kind and o.get("customer") == params.get("customer")
        ]
        rows.sort(key=lambda o: (o["created"], o.get("number", "")), reverse=True)
        limit = int(params.get("limit") or 10)
        return {
            "object": "list",
            "url": f"/v1/{kind}s",
            "has_more": len(rows) > limit,
            "data": rows[:limit],
        }

    def _subscription_update(self, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
        subscription = self._get(subscription_id, "subscription")
        items = params.get("items") or []
        if items and (items[0] or {}).get("price"):
            self.subscription_change(subscription, "switch", items[0]["price"])
        if "cancel_at_period_end" in params:
            subscription["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
            self.events_send([("customer.subscription.updated", subscription)])
        return subscription

    def _subscription_cancel(self, subscription_id: str) -> dict[str, Any]:
        subscription = self._get(subscription_id, "subscription")
        self.subscription_change(subscription, "cancel", "")
        return subscription

    def _page(
        self, request: BaseHTTPRequestHandler, method: str, path: str, params: dict[str, Any]
    ) -> None:
        match = re.fullmatch(r"/(checkout|portal|invoices)/(\w+)(?:/(\w+))?", path)
        kinds = {"checkout": "checkout.session", "portal": "billing_portal.session"}
        obj = self.find(match[2], kinds.get(match[1], "invoice")) if match else None
        if match is None or obj is None:
            _send(request, 404, _page("Not found", "<p>No such page.</p>"), "text/html")
            return
        if match[1] == "checkout" and method == "POST" and match[3] == "pay":
            if obj["status"] == "open":
                with self.lock:
                    location = self.checkout_pay(obj)
            else:
                location = str(obj["success_url"]).replace("{CHECKOUT_SESSION_ID}", obj["id"])
            _redirect(request, location)
        elif match[1] == "checkout":
            _send(request, 200, self._checkout_html(obj), "text/html")
        elif match[1] == "portal" and method == "POST":
            subscription = self.find(str(params.get("subscription", "")), "subscription")
            if subscription is not None and subscription["customer"] == obj["customer"]:
                with self.lock:
                    self.subscription_change(
                        subscription, str(params.get("action")), str(params.get("price", ""))
                    )
            _redirect(request, f"/portal/{obj['id']}")
        elif match[1] == "portal":
            _send(request, 200, self._portal_html(obj), "text/html")
        else:
            amount = f"{obj['amount_due'] / 100:.2f} {obj['currency'].upper()}"
            body = f"<p>Invoice {obj['number']}: {amount}, {obj['status']}.</p>"
            _send(request, 200, _page(f"Invoice {obj['number']}", body), "text/html")

    def _checkout_html(self, session: dict[str, Any]) -> str:
        price = self._price(str(session["price"]))
        amount = f"${price['unit_amount'] / 100:,.2f}"
        body = f"""
<p>Subscribe to <strong>{html.escape(str(price["product"]))}</strong></p>
<p class="amount">{amount} per month</p>
<form method="post" action="/checkout/{session["id"]}/pay">
  <label>Card number <input name="card" value="4242 4242 4242 4242" autocomplete="off"></label>
  <label>Expiry <input name="exp" value="12 / 34"></label>
  <button type="submit">Subscribe</button>
</form>
<p><a href="{html.escape(str(session["cancel_url"]))}">Cancel and go back</a></p>"""
        return _page("Checkout (local Stripe)", body)

    def _portal_html(self, session: dict[str, Any]) -> str:
        with self.lock:
            subscriptions = [
                o
                for o in self.objects.values()
                if o["object"] == "subscription"
                and o["customer"] == session["customer"]
                and o["status"] != "canceled"
            ]
        rows = []
        for subscription in subscriptions:
            price = subscription["items"]["data"][0]["price"]
            sid = subscription["id"]
            switches = "".join(
                f'<button name="price" value="{html.escape(pid)}">Switch to '
                f"{html.escape(name)}</button>"
                for pid, (name, _cents) in self.prices.items()
                if pid != price["id"]
            )
            title = f"{html.escape(str(price['product']))} · {subscription['status']}"
            rows.append(
                f"""<section><h2>{title}</h2>
<form method="post"><input type="hidden" name="subscription" value="{sid}">
  <input type="hidden" name="action" value="switch">{switches}</form>
<form method="post"><input type="hidden" name="subscription" value="{sid}">
  <button name="action" value="fail_payment">Simulate a failed payment</button>
  <button name="action" value="pay">Pay the open invoice</button>
  <button name="action" value="cancel">Cancel subscription</button></form></section>"""
            )
        body = "".join(rows) or "<p>No active subscription.</p>"
        back = html.escape(str(session["return_url"]))
        return _page("Billing portal (local Stripe)", body + f'<p><a href="{back}">Return</a></p>')


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.code = status, kind, message, code

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.kind, "message": self.message, "code": self.code}}


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui;max-width:32rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin:.6rem 0}}button{{margin:.3rem .3rem 0 0;padding:.5rem .9rem}}
.banner{{background:#fef3c7;padding:.4rem .8rem;border-radius:.4rem}}</style></head><body>
<p class="banner">Local Stripe-format server: no real payment is made.</p><h1>{title}</h1>{body}
</body></html>"""


def _send(request: BaseHTTPRequestHandler, status: int, body: str, content_type: str) -> None:
    data = body.encode()
    request.send_response(status)
    request.send_header("Content-Type", f"{content_type}; charset=utf-8")
    request.send_header("Content-Length", str(len(data)))
    request.send_header("Request-Id", f"req_{secrets.token_hex(8)}")
    request.end_headers()
    request.wfile.write(data)


def _redirect(request: BaseHTTPRequestHandler, location: str) -> None:
    request.send_response(303)
    request.send_header("Location", location)
    request.send_header("Content-Length", "0")
    request.end_headers()
