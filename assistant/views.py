from collections.abc import AsyncIterator

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url, reswap, retarget

from accounts.http import MemberRequest, form_refusal
from accounts.models import User
from assistant.answering import answer_events_detached, answer_stop_request
from assistant.conversations import (
    QuestionRefused,
    conversation_delete,
    conversation_rename,
    feedback_set,
    message_regenerate,
    message_retry,
    question_ask,
    question_edit,
)
from assistant.forms import (
    ConversationSearchForm,
    FeedbackForm,
    GapCloseForm,
    QuestionEditForm,
    QuestionForm,
    RenameForm,
)
from assistant.gaps import gap_close
from assistant.models import Conversation, Message
from assistant.rendering import answer_html
from assistant.selectors import (
    answers_reviewable_by,
    citation_get_readable,
    conversation_filters_last,
    conversation_get,
    conversation_list,
    conversation_messages,
    feedback_for_review,
    knowledge_gaps,
    knowledge_readable_exists,
    message_get,
    message_readable,
    question_get,
    question_suggestions,
    upload_destination,
)
from assistant.spend import spend_summary
from billing.caps import CapReached
from billing.rate_limits import RateLimited, RateLimitedAction, rate_limit_consume
from tenants.schemas import in_tenant
from workspaces.access import workspaces_creatable_by
from workspaces.search.retrieval import RetrievalFilters
from workspaces.selectors import chunk_neighbours, workspace_list_readable


def _conversation(request: MemberRequest, conversation_id: int) -> Conversation:
    conversation = conversation_get(user=request.user, conversation_id=conversation_id)
    if conversation is None:
        raise Http404
    return conversation


def _message(request: MemberRequest, message_id: int) -> Message:
    message = message_get(user=request.user, message_id=message_id)
    if message is None:
        raise Http404
    return message


def _ask_page(
    request: MemberRequest, conversation: Conversation | None, form: QuestionForm
) -> HttpResponse:
    search = ConversationSearchForm(request.GET)
    query, status, search_refusal = "", 200, ""
    if search.is_valid():
        query = search.cleaned_data["q"].strip()
    else:
        status, search_refusal = 400, form_refusal(search)
    has_knowledge = knowledge_readable_exists(user=request.user)
    suggesting = conversation is None and has_knowledge
    context = {
        "has_knowledge": has_knowledge,
        "suggestions": question_suggestions(user=request.user) if suggesting else [],
        "upload_to": upload_destination(user=request.user) if not has_knowledge else None,
        "can_create_workspace": not has_knowledge and workspaces_creatable_by(user=request.user),
        "conversation": conversation,
        "conversations": conversation_list(user=request.user, query=query)[:50],
        "search": query,
        "search_refusal": search_refusal,
        "today": timezone.localdate(),
        "thread": conversation_messages(user=request.user, conversation=conversation)
        if conversation
        else [],
        "form": form,
        # A follow-up keeps the last question's filters unless they are changed.
        "filters_summary": RetrievalFilters.from_dict(
            conversation_filters_last(conversation=conversation)
        ).summary()
        if conversation
        else "",
        "reviews": answers_reviewable_by(user=request.user),
    }
    return render(request, "assistant/ask.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def ask(request: MemberRequest, conversation_id: int | None = None) -> HttpResponse:
    """The Ask page; a posted question opens (or continues) a conversation."""
    conversation = _conversation(request, conversation_id) if conversation_id else None
    workspaces = workspace_list_readable(user=request.user)
    initial = None
    if conversation:
        last = conversation_filters_last(conversation=conversation)
        initial = {
            "scope": list(conversation.scope.all()),
            "tags": ", ".join(last.get("tags") or []),
            "kinds": last.get("kinds") or [],
            "updated_after": last.get("updated_after"),
        }
    form = QuestionForm(request.POST or None, workspaces=workspaces, initial=initial)
    if request.method == "GET":
        return _ask_page(request, conversation, form)
    try:
        if not form.is_valid():
            errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
            raise QuestionRefused(" ".join(errors) or "Check the question.")
        # Per person, shared with the same person's questions through the API.
        rate_limit_consume(
            organization=request.tenant,  # type: ignore[attr-defined]
            action=RateLimitedAction.ASK,
            subject=f"user:{request.user.pk}",
        )
        conversation, question, reply = question_ask(
            user=request.user,
            text=form.cleaned_data["question"],
            conversation=conversation,
            scope_ids=[w.pk for w in form.cleaned_data["scope"]],
            filters=form.filters(),
        )
    except RateLimited as limited:
        response = render(
            request, "assistant/ask.html#composer-error", {"error": str(limited)}, status=429
        )
        response["Retry-After"] = str(limited.retry_after)
        return reswap(retarget(response, "#composer-error"), "outerHTML")
    except (QuestionRefused, CapReached) as refusal:
        context: dict[str, object] = (
            {"cap_reached": refusal.for_user(request.user)}
            if isinstance(refusal, CapReached)
            else {"error": str(refusal)}
        )
        response = render(request, "assistant/ask.html#composer-error", context)
        return reswap(retarget(response, "#composer-error"), "outerHTML")
    if conversation_id is None:
        return HttpResponseClientRedirect(reverse("assistant:conversation", args=[conversation.pk]))
    exchange = {"thread": [question, reply], "conversation": conversation}
    return push_url(
        render(request, "assistant/ask.html#exchange", exchange),
        reverse("assistant:conversation", args=[conversation.pk]),
    )


@login_required
async def message_stream(request: MemberRequest, message_id: int) -> StreamingHttpResponse:
    """Server-sent events for one answer: "partial" with the text so far, then "done" with
    the finished message (answer, sources, feedback), after which the page closes it."""
    user: User = await request.auser()  # type: ignore[assignment]
    tenant = request.tenant  # type: ignore[attr-defined]
    if not await in_tenant(tenant, message_readable, user=user, message_id=message_id):
        raise Http404

    def finished(*, message_id: int) -> str:
        message = message_get(user=user, message_id=message_id)
        return str(render_to_string("assistant/ask.html#message", {"message": message}, request))

    async def events() -> AsyncIterator[str]:
        # Generated apart from this response: a browser that leaves does not end the answer.
        async for kind, text in answer_events_detached(tenant=tenant, message_id=message_id):
            html: str
            if kind == "partial":
                html = render_to_string("assistant/ask.html#partial", {"html": answer_html(text)})
            else:
                html = await in_tenant(tenant, finished, message_id=message_id)
            data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
            yield f"event: {kind}\n{data}\n\n"

    return StreamingHttpResponse(
        events(),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@login_required
@require_POST
def message_stop_view(request: MemberRequest, message_id: int) -> HttpResponse:
    """Stop: the answer's stream stores what was written so far, marked stopped, and sends
    it to the page as its last event."""
    message = _message(request, message_id)
    answer_stop_request(tenant=request.tenant, message_id=message.pk)  # type: ignore[attr-defined]
    return HttpResponse(status=204)


@login_required
@require_POST
def question_edit_view(request: MemberRequest, message_id: int) -> HttpResponse:
    """Edit one's last question and ask it again: a new turn below the original, which is
    kept with its answer; the title follows when it was made from the edited question."""
    question = question_get(user=request.user, message_id=message_id)
    if question is None:
        raise Http404
    form = QuestionEditForm(request.POST)
    try:
        if not form.is_valid():
            raise QuestionRefused(form_refusal(form))
        edited, reply = question_edit(
            user=request.user, question=question, text=form.cleaned_data["question"]
        )
    except (QuestionRefused, CapReached) as refusal:
        context: dict[str, object] = (
            {"cap_reached": refusal.for_user(request.user)}
            if isinstance(refusal, CapReached)
            else {"error": str(refusal)}
        )
        response = render(request, "assistant/ask.html#composer-error", context, status=400)
        return reswap(retarget(response, "#composer-error"), "outerHTML")
    conversation = _conversation(request, question.conversation_id)
    # The new turn goes below the thread; the title comes along out of band.
    context = {"thread": [edited, reply], "conversation": conversation, "title_oob": True}
    return render(request, "assistant/ask.html#edited", context)


@login_required
@require_POST
def message_retry_view(request: MemberRequest, message_id: int) -> HttpResponse:
    message = message_retry(user=request.user, message=_message(request, message_id))
    return render(request, "assistant/ask.html#message", {"message": message})


@login_required
@require_POST
def message_regenerate_view(request: MemberRequest, message_id: int) -> HttpResponse:
    try:
        message = message_regenerate(user=request.user, message=_message(request, message_id))
    except CapReached as refusal:
        context = {"cap_reached": refusal.for_user(request.user)}
        response = render(request, "assistant/ask.html#composer-error", context)
        return reswap(retarget(response, "#composer-error"), "outerHTML")
    return render(request, "assistant/ask.html#message", {"message": message})


@login_required
@require_POST
def feedback(request: MemberRequest, message_id: int) -> HttpResponse:
    message = _message(request, message_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        # The page's buttons send only up or down; anything else was made by hand.
        refusal = form_refusal(form)
        return HttpResponse(refusal, status=400, content_type="text/plain; charset=utf-8")
    # The rating buttons send no comment: a comment written before stays.
    comment = form.cleaned_data["comment"] if "comment" in request.POST else None
    mine = feedback_set(
        user=request.user, message=message, rating=form.cleaned_data["rating"], comment=comment
    )
    context = {"message": message, "mine": mine, "saved": comment is not None}
    return render(request, "assistant/ask.html#feedback", context)


@login_required
@require_POST
def conversation_rename_view(request: MemberRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        conversation_rename(user=request.user, conversation=conversation, **form.cleaned_data)
    return render(request, "assistant/ask.html#title", {"conversation": conversation})


@login_required
@require_POST
def conversation_delete_view(request: MemberRequest, conversation_id: int) -> HttpResponse:
    conversation_delete(user=request.user, conversation=_conversation(request, conversation_id))
    if request.htmx:
        return HttpResponseClientRedirect(reverse("assistant:ask"))
    return redirect("assistant:ask")


@login_required
@require_GET
def citation(request: MemberRequest, citation_id: int) -> HttpResponse:
    """The passage viewer: the cited passage, its neighbours, the original file."""
    found = citation_get_readable(user=request.user, citation_id=citation_id)
    if found is None:
        raise Http404
    before, after = (
        chunk_neighbours(user=request.user, chunk=found.chunk) if found.chunk else (None, None)
    )
    context = {"citation": found, "before": before, "after": after}
    template = "assistant/passage.html#panel" if request.htmx else "assistant/passage.html"
    return render(request, template, context)


@login_required
@require_GET
def feedback_review(request: MemberRequest) -> HttpResponse:
    rows = feedback_for_review(user=request.user)
    if rows is None:
        raise Http404
    return render(request, "assistant/feedback.html", {"rows": rows})


@login_required
@require_GET
def gaps(request: MemberRequest) -> HttpResponse:
    groups = knowledge_gaps(user=request.user)
    if groups is None:
        raise Http404
    return render(request, "assistant/gaps.html", {"groups": groups})


@login_required
@require_POST
def gap_close_view(request: MemberRequest) -> HttpResponse:
    """Resolved or dismissed: the gap's questions leave the page (htmx swaps the group out)."""
    if not answers_reviewable_by(user=request.user):
        raise Http404
    form = GapCloseForm(request.POST)
    if not form.is_valid():
        refusal = form_refusal(form)
        return HttpResponse(refusal, status=400, content_type="text/plain; charset=utf-8")
    status = form.cleaned_data["status"]
    gap_close(user=request.user, message_ids=form.cleaned_data["message"], status=status)
    if not request.htmx:
        return redirect("assistant:gaps")
    return render(request, "assistant/gaps.html#closed", {"status": status})


@login_required
@require_GET
def spend(request: MemberRequest) -> HttpResponse:
    """Model spend by person, workspace and day: owners and billing admins only (a 404 to
    anyone else, as the billing pages are)."""
    if not request.user.can_manage_billing:
        raise Http404
    return render(request, "assistant/spend.html", {"spend": spend_summary(user=request.user)})
