"""Every URL of the app × every kind of user → the expected status.

The test fails when a URL is added without its row here.
"""

import datetime

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from protokolle import workflow
from protokolle.models import Attachment, Result

from .factories import BodyFactory, UserFactory, user_in, writer_of

pytestmark = pytest.mark.django_db
# staff: a site staff user (is_staff, not superuser) without any membership: reads every
# body as a member does, writes nowhere. former_member: a minute-taker of the body whose
# membership ended on 31.12.2021, before today: no right at all, like an outsider.
ROLES = ["anonymous", "outsider", "former_member", "member", "staff", "minute_taker", "admin"]
LOGIN = 302  # anonymous users are sent to the login page

# name: (method, {role: status}); "*" is every logged-in role.
GET_MEMBERS = {
    "anonymous": LOGIN,
    "outsider": 404,
    "former_member": 404,
    "member": 200,
    "staff": 200,
    "minute_taker": 200,
    "admin": 200,
}
WRITERS = {
    "anonymous": LOGIN,
    "outsider": 404,
    "former_member": 404,
    "member": 403,
    "staff": 403,
    "minute_taker": 200,
    "admin": 200,
}
EVERYONE = {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 200)}
# Workflow steps redirect back with a message; refusals are messages too (see test_workflow).
STEP = {
    "anonymous": LOGIN,
    "outsider": 404,
    "former_member": 404,
    "member": 302,
    "staff": 302,
    "minute_taker": 302,
    "admin": 302,
}
EXPECTED = {
    "home": ("get", EVERYONE),
    "healthz": ("get", dict.fromkeys(ROLES, 200)),
    "favicon": ("get", dict.fromkeys(ROLES, 301)),
    "protokolle:meeting_new": ("get", WRITERS),
    "protokolle:meeting_detail": ("get", GET_MEMBERS),
    "protokolle:meeting_edit": ("get", WRITERS),
    "protokolle:meeting_circulate": ("post", STEP),
    "protokolle:meeting_reopen": ("post", STEP),
    "protokolle:meeting_notify": ("post", STEP),
    # Responding is a member's act: staff and administrators without a seat are refused.
    "protokolle:meeting_respond": ("post", {**STEP, "staff": 400, "admin": 400}),
    "protokolle:meeting_circulation": ("post", STEP),
    "protokolle:meeting_approve": ("post", STEP),
    "protokolle:version_diff": ("get", GET_MEMBERS),
    "protokolle:minutes_preview": ("get", GET_MEMBERS),
    "protokolle:minutes_pdf": ("get", GET_MEMBERS),
    "protokolle:attachment": ("get", GET_MEMBERS),
    "protokolle:archive": ("get", EVERYONE),
    "protokolle:search": ("get", EVERYONE),
    "protokolle:tasks": ("get", EVERYONE),
    "protokolle:task_done": ("post", {**WRITERS, "minute_taker": 302, "admin": 302}),
    "protokolle:task_open": ("post", {**WRITERS, "minute_taker": 302, "admin": 302}),
    # Invitations (issue 14): the PDF and .ics for readers, sending for the minute-takers
    # (a step: readers get a message), replies and feeds by token only (made up here: 404).
    "protokolle:invitation_pdf": ("get", GET_MEMBERS),
    "protokolle:invitation_ics": ("get", GET_MEMBERS),
    # An empty post from a minute-taker is bad input: the page again, with the error.
    "protokolle:meeting_invite": ("post", {**STEP, "minute_taker": 400, "admin": 400}),
    "protokolle:rsvp": ("get", dict.fromkeys(ROLES, 404)),
    "protokolle:profile": ("get", EVERYONE),
    "protokolle:calendar_token": ("post", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 302)}),
    "protokolle:calendar_feed": ("get", dict.fromkeys(ROLES, 404)),
    # Public pages and OParl (issue 16): anonymous and read-only, the same for everyone.
    # The world's body is not published: its pages and objects are not found by anyone.
    "protokolle:public_index": ("get", dict.fromkeys(ROLES, 200)),
    "protokolle:public_feed": ("get", dict.fromkeys(ROLES, 200)),
    "protokolle:public_body": ("get", dict.fromkeys(ROLES, 404)),
    "protokolle:public_calendar": ("get", dict.fromkeys(ROLES, 404)),
    "protokolle:public_meeting": ("get", dict.fromkeys(ROLES, 404)),
    "protokolle:public_minutes_pdf": ("get", dict.fromkeys(ROLES, 404)),
    "protokolle:public_invitation_pdf": ("get", dict.fromkeys(ROLES, 404)),
    "protokolle:oparl_system": ("get", dict.fromkeys(ROLES, 200)),
    "protokolle:oparl_bodies": ("get", dict.fromkeys(ROLES, 200)),
    "protokolle:oparl_body": ("get", dict.fromkeys(ROLES, 200)),
    "protokolle:oparl_list": ("get", dict.fromkeys(ROLES, 200)),
    "protokolle:oparl_object": ("get", dict.fromkeys(ROLES, 404)),
}
# Django's own pages, tested by Django: login, logout, password change, language, admin.
NOT_OURS = ("admin:", "nesting_server_data", "login", "logout", "password_", "set_language")


def url_names(patterns=None, namespace=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            prefix = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_names(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def test_every_url_has_a_row():
    ours = {name for name in url_names() if not name.startswith(NOT_OURS)}
    assert ours == set(EXPECTED)


@pytest.fixture
def world(minutes):
    meeting = minutes(
        change=lambda m: m["agenda"][1]["results"].append(
            {"kind": "task", "text": "Steckbrief", "responsible": "WRL", "due": "2022-04-30"}
        )
    )
    body = meeting.body
    users = {"admin": UserFactory(is_superuser=True, is_staff=True)}
    users["member"] = user_in(body)
    users["minute_taker"] = writer_of(body)
    users["staff"] = UserFactory(is_staff=True)
    users["former_member"] = writer_of(
        body, start=datetime.date(2019, 1, 1), end=datetime.date(2021, 12, 31)
    )
    users["outsider"] = writer_of(BodyFactory())
    workflow.circulate(meeting.pk, users["minute_taker"])
    attachment = Attachment.objects.bulk_create([Attachment(meeting=meeting, name="x")])[0]
    Attachment.objects.filter(pk=attachment.pk).update(file="attachments/x.pdf")
    following = minutes(number=9, date="2022-05-23")
    return {
        "users": users,
        "meeting": meeting,
        "following": following,
        "task": Result.objects.get(text="Steckbrief"),
        "attachment": attachment,
    }


def request_for(name, world):
    meeting, following = world["meeting"], world["following"]
    args = {
        "protokolle:meeting_new": [meeting.body.pk],
        "protokolle:version_diff": [meeting.pk, 1],
        "protokolle:meeting_edit": [following.pk],
        "protokolle:meeting_approve": [following.pk],
        "protokolle:attachment": [world["attachment"].pk],
        "protokolle:task_done": [world["task"].pk],
        "protokolle:task_open": [world["task"].pk],
        "protokolle:minutes_pdf": [following.pk],
        "protokolle:rsvp": ["made-up-token"],
        "protokolle:calendar_feed": ["made-up-token"],
        "protokolle:public_body": [meeting.body.pk],
        "protokolle:public_calendar": [meeting.body.pk],
        "protokolle:oparl_body": ["1"],
        "protokolle:oparl_list": ["1", "meetings"],
        "protokolle:oparl_object": ["meeting", str(meeting.pk)],
    }
    if name in args:
        return reverse(name, args=args[name])
    try:
        return reverse(name, args=[meeting.pk])
    except Exception:  # noqa: BLE001 - the name takes no argument
        return reverse(name)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_url_answers_each_role_as_expected(client, world, media_root, name, role):
    (media_root / "attachments").mkdir(parents=True, exist_ok=True)
    (media_root / "attachments" / "x.pdf").write_bytes(b"%PDF-1.7")
    method, expected = EXPECTED[name]
    if role != "anonymous":
        client.force_login(world["users"][role])
    url = request_for(name, world)
    data = {
        "approved_meeting": world["meeting"].pk,
        "outcome": "approved",
        "kind": "agree",
        "deadline": "2099-01-01",
    }

    response = client.post(url, data) if method == "post" else client.get(url)

    assert response.status_code == expected[role], (name, role, response.status_code)


@pytest.mark.parametrize(
    "name", sorted(n for n, (method, _) in EXPECTED.items() if method == "post")
)
def test_every_post_needs_the_csrf_token(world, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["minute_taker"])
    response = client.post(request_for(name, world), {"kind": "agree"})
    assert response.status_code == 403
