"""OParl 1.1: a crawler from /oparl/v1/ through every list and object, each validated
against the official schemas (tests/data/oparl-1.1, CC BY-SA 4.0), embedded objects
included; what is not public never appears; pagination and filters on 250 meetings."""

import datetime
import io
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from protokolle import invitations, pdf
from protokolle.models import AgendaItem, ArchivedPdf, Body, Invitation, Meeting, Result
from tests.factories import BodyFactory, MeetingFactory, user_in

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parent / "data" / "oparl-1.1" / "schema"
SECRET_ITEM = "Personalangelegenheit Geheimsache"
SECRET_RESULT = "Vertrauliche Entscheidung zur Personalie"
DRAFT_TITLE = "Entwurfssitzung Interna"
CIRCULATED_TITLE = "Umlaufsitzung Interna"
HIDDEN_BODY = "Verschlossener Beirat"
PREPARING_TITLE = "Vorbereitung ohne Einladung"
SECRETS = (
    SECRET_ITEM,
    SECRET_RESULT,
    "Vera Verborgen",
    DRAFT_TITLE,
    CIRCULATED_TITLE,
    PREPARING_TITLE,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")

# --- the schemas -------------------------------------------------------------------------

OFFSET_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("url")
def _is_url(value):
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@FORMATS.checks("date-time")
def _is_date_time(value):
    return bool(OFFSET_DATE_TIME.match(value)) and _parses(value)


@FORMATS.checks("date")
def _is_date(value):
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _parses(value):
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _schema(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def validate(obj):
    """Validate an OParl object against the schema its ``type`` names, and every object
    embedded in it against the schema its property names ("schema": "File.json")."""
    kind = obj["type"].rsplit("/", 1)[-1]
    schema = _schema(f"{kind}.json")
    jsonschema.Draft4Validator(schema, format_checker=FORMATS).validate(obj)
    assert obj["type"] == f"https://schema.oparl.org/1.1/{kind}"
    for key in ("created", "modified"):
        assert key in obj, f"{kind} without {key}"
    for name, prop in schema["properties"].items():
        if name not in obj:
            continue
        if prop.get("type") == "object" and "schema" in prop:
            embedded = [obj[name]]
        elif prop.get("type") == "array" and "schema" in prop.get("items", {}):
            embedded = obj[name]
        else:
            continue
        for inner in embedded:
            expected = prop.get("schema") or prop["items"]["schema"]
            assert inner["type"].endswith("/" + expected.removesuffix(".json"))
            validate(inner)
    return obj


def test_the_validator_refuses_what_the_schema_forbids():
    """The check is real: a wrong type, a date-time without offset, a bad embedded File."""
    good = {
        "id": "http://testserver/oparl/v1/meeting/1/",
        "type": "https://schema.oparl.org/1.1/Meeting",
        "created": "2024-01-01T10:00:00+01:00",
        "modified": "2024-01-01T10:00:00+01:00",
    }
    validate(good)
    for broken in (
        {**good, "start": "2024-01-01T10:00:00"},
        {**good, "cancelled": "no"},
        {**good, "resultsProtocol": {**good, "type": "https://schema.oparl.org/1.1/File"}},
        {**good, "id": "not a url"},
    ):
        with pytest.raises((jsonschema.ValidationError, AssertionError)):
            validate(broken)


# --- the data ------------------------------------------------------------------------------


def _secret_item(meeting_dict):
    meeting_dict["agenda"].append(
        {
            "number": "8",
            "title": SECRET_ITEM,
            "public": False,
            "presenters": [{"name": "Vera Verborgen", "organisation": None, "function": None}],
            "results": [
                {
                    "kind": "decision",
                    "text": SECRET_RESULT,
                    "vote": None,
                    "responsible": None,
                    "due": None,
                }
            ],
            "children": [],
        },
    )


@pytest.fixture
def published(minutes):
    return make_published(minutes)


def make_published(minutes):
    """A published body with confirmed minutes (one non-public item), an upcoming
    meeting, a past draft, circulated minutes, a non-public meeting; and an unpublished
    body with confirmed minutes. A person with an e-mail address attends."""
    confirmed = minutes(status="confirmed", number=8, alone=True, change=_secret_item)
    body = confirmed.body
    body.published = True
    body.save()
    user_in(body, name="Erika Musterfrau", email="erika.musterfrau@example.org")
    future = timezone.localdate() + datetime.timedelta(days=10)
    upcoming = MeetingFactory(body=body, number=20, date=future, location="Rathaus Cottbus")
    AgendaItem.objects.create(meeting=upcoming, position=0, title="Haushalt 2027")
    secret = AgendaItem.objects.create(
        meeting=upcoming, position=1, title=SECRET_ITEM, public=False
    )
    secret.presenters.create(name="Vera Verborgen", position=0)
    invitation = Invitation.objects.create(
        meeting=upcoming, sent_at=timezone.now(), updated_at=timezone.now()
    )
    # The public invitation PDF, stored as when the invitation went out.
    invitations.store_public_pdf(upcoming, invitation)
    # Planned, but not invited yet: work in progress.
    preparing = MeetingFactory(body=body, number=21, title=PREPARING_TITLE, date=future)
    draft = MeetingFactory(body=body, number=9, title=DRAFT_TITLE, date=datetime.date(2024, 1, 5))
    Result.objects.create(
        agenda_item=AgendaItem.objects.create(meeting=draft, title="Entwurfspunkt"),
        text="Entwurfsergebnis",
    )
    circulated = MeetingFactory(
        body=body,
        number=10,
        title=CIRCULATED_TITLE,
        status=Meeting.Status.CIRCULATED,
        date=datetime.date(2024, 2, 5),
    )
    closed = MeetingFactory(body=body, number=11, public=False, date=datetime.date(2024, 3, 5))
    closed.status = Meeting.Status.CONFIRMED
    closed.save()
    hidden = MeetingFactory(body=BodyFactory(name=HIDDEN_BODY), number=1)
    hidden.status = Meeting.Status.CONFIRMED
    hidden.save()
    return {
        "confirmed": confirmed,
        "upcoming": upcoming,
        "hidden_ids": {draft.pk, circulated.pk, closed.pk, hidden.pk, preparing.pk},
        "body": body,
        "hidden_body": hidden.body,
    }


def _get(client, url, query=None, status=200):
    response = client.get(url, query)
    assert response.status_code == status, (url, response.content[:300])
    if status == 200:
        assert response["Content-Type"].startswith("application/json")
        assert response["Access-Control-Allow-Origin"] == "*"
    return response


def crawl(client):
    """Every object reachable from the entry point: {id: object}, and the raw texts."""
    seen, texts, lists, files = {}, [], set(), {}

    def fetch(url):
        response = _get(client, url)
        texts.append(response.content.decode("utf-8"))
        return response.json()

    def visit(obj):
        validate(obj)
        if obj["id"] in seen:
            return
        seen[obj["id"]] = obj
        # Every object answers at its own id, embedded ones too.
        assert fetch(obj["id"]) == obj
        for value in obj.values():
            if isinstance(value, dict) and "type" in value:
                visit(value)
            elif isinstance(value, list):
                for entry in value:
                    if isinstance(entry, dict) and "type" in entry:
                        visit(entry)
        if obj["type"].endswith("/Body"):
            for name in ("organization", "person", "meeting", "paper", "membership"):
                walk_list(obj[name])
        if obj["type"].endswith("/File") and not obj.get("deleted"):
            files[obj["id"]] = download(client, obj)

    def walk_list(url):
        while url:
            assert url not in lists
            lists.add(url)
            page = fetch(url)
            assert set(page) >= {"data", "pagination", "links"}
            for obj in page["data"]:
                visit(obj)
            url = page["links"].get("next")

    system = fetch("/oparl/v1/")
    validate(system)
    assert system["oparlVersion"] == "https://schema.oparl.org/1.1/"
    walk_list(system["body"])
    for data in files.values():
        texts.append(pdf_text(data))
        texts.append(pdf.embedded_document(data).decode("utf-8"))
    return seen, "\n".join(texts)


def download(client, file):
    """A File's accessUrl and downloadUrl, anonymously: the same PDF, of the size and
    SHA-512 the File names."""
    import hashlib

    client.logout()
    found = []
    for key in ("accessUrl", "downloadUrl"):
        response = client.get(file[key])
        assert response.status_code == 200, file[key]
        assert response["Content-Type"] == "application/pdf"
        data = b"".join(response.streaming_content)
        assert data.startswith(b"%PDF")
        assert len(data) == file["size"]
        assert hashlib.sha512(data).hexdigest() == file["sha512Checksum"]
        found.append(data)
    assert found[0] == found[1]
    return found[0]


def pdf_text(data):
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_crawler_validates_everything_and_finds_nothing_that_is_not_public(client, published):
    seen, text = crawl(client)
    kinds = {obj["type"].rsplit("/", 1)[-1] for obj in seen.values()}
    assert kinds >= {
        "Body",
        "Organization",
        "Person",
        "Membership",
        "Meeting",
        "AgendaItem",
        "Location",
        "File",
    }
    meetings = {obj["id"]: obj for obj in seen.values() if obj["type"].endswith("/Meeting")}
    shown = {int(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) for url in meetings}
    assert shown == {published["confirmed"].pk, published["upcoming"].pk}
    assert not shown & published["hidden_ids"]
    for secret in SECRETS:
        assert secret not in text
    assert HIDDEN_BODY not in text
    assert not EMAIL.findall(text)
    # The organization of the body, a Gremium; the person as printed.
    (organization,) = [o for o in seen.values() if o["type"].endswith("/Organization")]
    assert organization["name"] == published["body"].name
    assert organization["organizationType"] == "Gremium"
    names = {o["name"] for o in seen.values() if o["type"].endswith("/Person")}
    assert {"Sven Guntermann", "Alexander Boldt", "Katja Boll", "Dr. Elena Herzog"} <= names
    (chair,) = [o for o in seen.values() if o.get("name") == "Sven Guntermann"]
    assert chair["status"] == ["Werkstattsprecher"]
    assert set(chair) <= {
        "id",
        "type",
        "body",
        "name",
        "status",
        "membership",
        "created",
        "modified",
    }
    # The upcoming meeting: its public agenda, no results.
    upcoming = meetings[next(u for u in meetings if u.endswith(f"/{published['upcoming'].pk}/"))]
    assert [item["name"] for item in upcoming["agendaItem"]] == ["Haushalt 2027"]
    assert "resultsProtocol" not in upcoming
    # Its invitation: a File of the public version, downloaded above (no secret in it).
    invitation = upcoming["invitation"]
    assert invitation["id"].endswith(f"/file/invitation-{published['upcoming'].pk}/")
    assert invitation["mimeType"] == "application/pdf" and invitation["date"]
    assert invitation["id"] in seen
    invitation_pdf = download(client, invitation)
    text = " ".join(pdf_text(invitation_pdf).split())
    assert "Einladung" in text and "Haushalt 2027" in text and "Rathaus Cottbus" in text
    assert "Geheimsache" not in text and "Verborgen" not in text


def test_meeting_carries_location_agenda_and_the_public_pdf(client, published):
    confirmed = published["confirmed"]
    data = _get(client, f"/oparl/v1/meeting/{confirmed.pk}/").json()
    validate(data)
    assert data["start"].endswith(("+01:00", "+02:00"))
    assert data["location"]["description"] == confirmed.location
    assert data["organization"] == [f"http://testserver/oparl/v1/organization/{confirmed.body_id}/"]
    orders = [item["order"] for item in data["agendaItem"]]
    assert orders == sorted(orders) and all(item["public"] for item in data["agendaItem"])
    assert any(item.get("resolutionText") for item in data["agendaItem"])
    protocol = data["resultsProtocol"]
    copy = ArchivedPdf.objects.get(meeting=confirmed, variant=ArchivedPdf.Variant.PUBLIC)
    assert protocol["size"] == copy.size
    assert protocol["mimeType"] == "application/pdf"


def test_results_protocol_downloads_anonymously_and_holds_no_non_public_item(client, published):
    confirmed = published["confirmed"]
    protocol = _get(client, f"/oparl/v1/meeting/{confirmed.pk}/").json()["resultsProtocol"]
    for key in ("accessUrl", "downloadUrl"):
        response = client.get(protocol[key])
        assert response.status_code == 200
        data = b"".join(response.streaming_content)
        assert data.startswith(b"%PDF")
        assert len(data) == protocol["size"]
        import hashlib

        assert hashlib.sha512(data).hexdigest() == protocol["sha512Checksum"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Smart Regions" in text
    assert "Geheimsache" not in text and SECRET_RESULT not in text
    embedded = pdf.embedded_document(data).decode("utf-8")
    assert SECRET_ITEM not in embedded and SECRET_RESULT not in embedded


def test_an_unpublished_body_and_its_minutes_are_unknown(client, published):
    hidden = published["hidden_body"]
    _get(client, f"/oparl/v1/organization/{hidden.pk}/", status=404)
    for pk in published["hidden_ids"]:
        _get(client, f"/oparl/v1/meeting/{pk}/", status=404)
    secret = AgendaItem.objects.get(meeting=published["confirmed"], title=SECRET_ITEM)
    _get(client, f"/oparl/v1/agendaitem/{secret.pk}/", status=404)
    members_copy = ArchivedPdf.objects.get(
        meeting=published["confirmed"], variant=ArchivedPdf.Variant.MEMBERS
    )
    _get(client, f"/oparl/v1/file/{members_copy.pk}/", status=404)


def test_a_withdrawn_body_answers_as_deleted(client, published):
    body = published["body"]
    confirmed = published["confirmed"]
    body.published = False
    body.save()
    for url in (
        f"/oparl/v1/organization/{body.pk}/",
        f"/oparl/v1/meeting/{confirmed.pk}/",
    ):
        data = validate(_get(client, url).json())
        assert data["deleted"] is True
        assert body.name not in json.dumps(data, ensure_ascii=False)
    _get(client, f"/oparl/v1/meeting/{published['upcoming'].pk}/", status=404)
    # Listed with deleted: true, so that a client that syncs learns of it.
    listed = _get(client, "/oparl/v1/body/1/meetings/").json()["data"]
    assert [m["deleted"] for m in listed] == [True]
    people = _get(client, "/oparl/v1/body/1/people/").json()["data"]
    assert people and all(p.get("deleted") for p in people)
    assert "Musterfrau" not in json.dumps(people)


def test_bad_list_parameters_get_a_clear_400(client, published):
    for query in ("limit=0", "limit=abc", "page=0", "created_since=gestern", "limit=1000"):
        response = client.get(f"/oparl/v1/body/1/meetings/?{query}")
        assert response.status_code == 400, query
        assert response.json()["message"]
    _get(client, "/oparl/v1/body/2/", status=404)
    _get(client, "/oparl/v1/thing/1/", status=404)
    _get(client, "/oparl/v1/meeting/abc/", status=404)


# --- 250 meetings ----------------------------------------------------------------------------


@pytest.fixture
def many_meetings():
    """250 confirmed public meetings, created a day apart from 2024-01-01 on, each with
    one agenda item and one result; published before they were made."""
    body = BodyFactory(name="Große Werkstatt", published=True)
    start = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.UTC)
    meetings = Meeting.objects.bulk_create(
        Meeting(body=body, number=n + 1, date=datetime.date(2020, 1, 1), location="Saal")
        for n in range(250)
    )
    for n, meeting in enumerate(meetings):
        moment = start + datetime.timedelta(days=n)
        Meeting.objects.filter(pk=meeting.pk).update(
            created_at=moment, updated_at=moment + datetime.timedelta(hours=1)
        )
    items = AgendaItem.objects.bulk_create(
        AgendaItem(meeting=meeting, title=f"Punkt {meeting.number}") for meeting in meetings
    )
    Result.objects.bulk_create(Result(agenda_item=item, text="Kenntnis") for item in items)
    Body.objects.filter(pk=body.pk).update(published_changed_at=start - datetime.timedelta(days=1))
    Meeting.objects.filter(body=body).update(status=Meeting.Status.CONFIRMED)
    return body, start


def _ids(page):
    return [obj["id"] for obj in page["data"]]


def test_pagination_walks_all_250_meetings(client, many_meetings):
    url, ids, pages = "/oparl/v1/body/1/meetings/?limit=100", [], 0
    while url:
        page = _get(client, url).json()
        assert page["pagination"]["totalElements"] == 250
        assert page["pagination"]["totalPages"] == 3
        ids += _ids(page)
        pages += 1
        url = page["links"].get("next")
    assert pages == 3 and len(ids) == len(set(ids)) == 250
    first = _get(client, "/oparl/v1/body/1/meetings/").json()
    assert len(first["data"]) == 20 and "prev" not in first["links"]
    validate(first["data"][0])


def test_date_filters_on_250_meetings(client, many_meetings):
    _body, start = many_meetings
    since = (start + datetime.timedelta(days=200)).isoformat()
    page = _get(client, f"/oparl/v1/body/1/meetings/?created_since={since}&limit=100").json()
    assert page["pagination"]["totalElements"] == 50
    until = (start + datetime.timedelta(days=9, hours=2)).isoformat()
    page = _get(
        client, "/oparl/v1/body/1/meetings/", {"modified_until": until, "limit": 100}
    ).json()
    assert page["pagination"]["totalElements"] == 10
    both = _get(
        client,
        "/oparl/v1/body/1/meetings/",
        {
            "created_since": (start + datetime.timedelta(days=100)).isoformat(),
            "created_until": (start + datetime.timedelta(days=109)).isoformat(),
        },
    ).json()
    assert both["pagination"]["totalElements"] == 10
    # The next link keeps the filter.
    assert "created_since" in both["links"]["first"]
    assert (
        _get(client, "/oparl/v1/body/1/meetings/", {"modified_since": "2030-01-01"}).json()["data"]
        == []
    )


def test_a_page_of_meetings_costs_a_fixed_number_of_queries(client, many_meetings):
    counts = []
    for limit in (5, 100):
        with CaptureQueriesContext(connection) as queries:
            page = _get(client, f"/oparl/v1/body/1/meetings/?limit={limit}&page=2").json()
        assert len(page["data"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_people_and_organizations_cost_a_fixed_number_of_queries(client):
    """People are read from the printed minutes: the same queries for 2 and for 12."""
    counts = []
    for size in (2, 12):
        body = BodyFactory(name=f"Werkstatt {size}", published=True)
        meetings = Meeting.objects.bulk_create(
            Meeting(body=body, number=n + 1, date=datetime.date(2023, 1, 1), chair_name=f"V {n}")
            for n in range(size)
        )
        for meeting in meetings:
            item = AgendaItem.objects.create(meeting=meeting, title="Bericht")
            item.presenters.create(name=f"Referentin {meeting.pk}")
            meeting.participants.create(name=f"Teilnehmer {meeting.pk}", function="Mitglied")
        Meeting.objects.filter(body=body).update(status=Meeting.Status.CONFIRMED)
        for name in ("people", "organizations", "memberships"):
            with CaptureQueriesContext(connection) as queries:
                page = _get(client, f"/oparl/v1/body/1/{name}/?limit=100").json()
            assert page["data"]
            counts.append((name, len(queries)))
    assert counts[:3] == counts[3:]


def test_the_system_names_the_operators_contact(client, settings):
    settings.OPARL_CONTACT_EMAIL = "oparl@stadt.example"
    settings.OPARL_CONTACT_NAME = "Geschäftsstelle"
    settings.OPARL_WEBSITE = "https://stadt.example/"
    for url in ("/oparl/v1/", "/oparl/v1/body/1/"):
        data = validate(_get(client, url).json())
        assert data["contactEmail"] == "oparl@stadt.example"
        assert data["contactName"] == "Geschäftsstelle"
        assert data["website"] == "https://stadt.example/"


def test_the_admin_has_the_publishing_switch(admin_client):
    body = BodyFactory(name="Schalterwerkstatt")
    page = admin_client.get(f"/admin/protokolle/body/{body.pk}/change/").content.decode()
    assert 'name="published"' in page


def test_the_invitation_is_withheld_once_an_item_it_printed_is_no_longer_public(client, published):
    """The stored invitation printed the public items of its day: should one of them be
    made non-public later, neither OParl nor the public route serves the file."""
    upcoming = published["upcoming"]
    address = f"/oparl/v1/file/invitation-{upcoming.pk}/"
    assert validate(_get(client, address).json())["size"] > 0
    AgendaItem.objects.filter(meeting=upcoming, title="Haushalt 2027").update(public=False)
    assert "invitation" not in _get(client, f"/oparl/v1/meeting/{upcoming.pk}/").json()
    _get(client, address, status=404)
    assert client.get(f"/public/meetings/{upcoming.pk}/invitation.pdf").status_code == 404
    for key in ("invitation-x", f"invitation-{published['confirmed'].pk}", "invitation-"):
        _get(client, f"/oparl/v1/file/{key}/", status=404)
