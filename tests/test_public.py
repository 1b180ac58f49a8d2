"""The public pages, without login: published bodies only, the public version only;
conditional requests, a fixed number of queries, the ICS calendar and the Atom feed."""

import datetime
import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from protokolle.models import AgendaItem, Body, Invitation, Meeting, Result
from tests.factories import BodyFactory, MeetingFactory, user_in

from .test_oparl import EMAIL, HIDDEN_BODY, SECRET_ITEM, SECRETS, make_published

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def published(minutes):
    return make_published(minutes)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links += [value for name, value in attrs if name == "href" and value]


def _links(html):
    parser = _Links()
    parser.feed(html)
    return parser.links


def _text(response):
    """What a reader gets: a page's text, or a PDF's printed text and embedded files.

    A PDF's raw bytes are compressed (a secret inside would not show) and random
    enough to look like an address now and then, so they are read, not searched."""
    data = (
        b"".join(response.streaming_content)
        if hasattr(response, "streaming_content")
        else response.content
    )
    if not response["Content-Type"].startswith("application/pdf"):
        return data.decode("utf-8")
    reader = PdfReader(io.BytesIO(data))
    embedded = [
        content.decode("utf-8", "replace")
        for contents in reader.attachments.values()
        for content in contents
    ]
    return "\n".join([*(page.extract_text() for page in reader.pages), *embedded])


def test_every_public_url_is_anonymous_and_shows_nothing_that_is_not_public(client, published):
    """A crawler over /public/ (pages, calendar, feed, PDFs): all answer without login,
    and no e-mail address, non-public item, draft or unpublished body shows."""
    todo, seen, texts = ["/public/"], set(), []
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        text = _text(response)
        texts.append(text)
        if response["Content-Type"].startswith("text/html"):
            todo += [link for link in _links(text) if link.startswith("/public/")]
    confirmed, upcoming = published["confirmed"], published["upcoming"]
    assert f"/public/meetings/{confirmed.pk}/" in seen
    assert f"/public/meetings/{upcoming.pk}/" in seen
    assert f"/public/meetings/{confirmed.pk}/minutes.pdf" in seen
    assert f"/public/{published['body'].pk}/meetings.ics" in seen
    assert "/public/minutes.atom" in seen
    everything = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in everything
    assert HIDDEN_BODY not in everything
    assert not EMAIL.findall(everything)
    for pk in published["hidden_ids"]:
        assert f"/public/meetings/{pk}/" not in seen
    # The public version as HTML: public items and their results are there.
    page = client.get(f"/public/meetings/{confirmed.pk}/").content.decode()
    assert "Smart Regions" in page and "Sonstiges" in page


def test_unpublished_bodies_drafts_and_non_public_minutes_are_404(client, published):
    assert client.get(f"/public/{published['hidden_body'].pk}/").status_code == 404
    assert client.get(f"/public/{published['hidden_body'].pk}/meetings.ics").status_code == 404
    for pk in published["hidden_ids"]:
        assert client.get(f"/public/meetings/{pk}/").status_code == 404
        assert client.get(f"/public/meetings/{pk}/minutes.pdf").status_code == 404
    body = published["body"]
    body.published = False
    body.save()
    assert client.get(f"/public/{body.pk}/").status_code == 404
    assert client.get(f"/public/meetings/{published['confirmed'].pk}/").status_code == 404
    assert f"/public/{body.pk}/" not in client.get("/public/").content.decode()
    assert "<entry>" not in client.get("/public/minutes.atom").content.decode()


def test_a_logged_in_member_sees_the_same_public_version(client, published):
    """The public pages are the public version for everyone, members too."""
    client.force_login(user_in(published["body"]))
    page = client.get(f"/public/meetings/{published['confirmed'].pk}/").content.decode()
    assert SECRET_ITEM not in page and "Smart Regions" in page


def test_the_upcoming_meeting_shows_date_place_and_public_agenda(client, published):
    upcoming = published["upcoming"]
    page = client.get(f"/public/{upcoming.body_id}/").content.decode()
    assert "Haushalt 2027" in page and "Rathaus Cottbus" in page
    assert SECRET_ITEM not in page
    page = client.get(f"/public/meetings/{upcoming.pk}/").content.decode()
    assert "Haushalt 2027" in page and SECRET_ITEM not in page
    # Once its day has passed, a meeting whose minutes are a draft is not shown.
    Meeting.objects.filter(pk=upcoming.pk).update(date=timezone.localdate() - datetime.timedelta(1))
    assert client.get(f"/public/meetings/{upcoming.pk}/").status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/public/", "/public/{body}/", "/public/meetings/{meeting}/", "/public/{body}/meetings.ics"],
)
def test_pages_answer_conditional_requests(client, published, url):
    url = url.format(body=published["body"].pk, meeting=published["confirmed"].pk)
    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"] and first["Last-Modified"]
    again = client.get(url, headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    since = client.get(url, headers={"if-modified-since": first["Last-Modified"]})
    assert since.status_code == 304


def test_the_etag_changes_when_what_the_page_shows_changes(client, published):
    url = f"/public/{published['body'].pk}/"
    before = client.get(url)["ETag"]
    invited(
        MeetingFactory(
            body=published["body"], number=30, date=timezone.localdate() + datetime.timedelta(3)
        )
    )
    after = client.get(url, headers={"if-none-match": before})
    assert after.status_code == 200 and after["ETag"] != before


def invited(meeting):
    """The meeting's invitation went out: it is a planned meeting for the public."""
    return Invitation.objects.create(
        meeting=meeting, sent_at=timezone.now(), updated_at=timezone.now()
    )


def _many(body, count, start_number, items=2):
    """``count`` confirmed public minutes of ``body``, ``items`` items with a result,
    a presenter and a participant each."""
    meetings = Meeting.objects.bulk_create(
        Meeting(body=body, number=start_number + n, date=datetime.date(2021, 1, 1 + n % 28))
        for n in range(count)
    )
    for meeting in meetings:
        for position in range(items):
            item = AgendaItem.objects.create(meeting=meeting, position=position, title="Punkt")
            Result.objects.create(agenda_item=item, text="Kenntnis")
            item.presenters.create(name=f"Referent {position}")
            meeting.participants.create(name=f"Teilnehmerin {position}", position=position)
    Meeting.objects.filter(pk__in=[m.pk for m in meetings]).update(
        status=Meeting.Status.CONFIRMED, confirmed_at=timezone.now()
    )
    return meetings


@pytest.mark.parametrize("url", ["/public/{body}/", "/public/{body}/meetings.ics", "/public/"])
def test_pages_cost_a_fixed_number_of_queries(client, url):
    counts = []
    for size in (3, 15):
        body = BodyFactory(name=f"Werkstatt {size}", published=True)
        _many(body, size, 1)
        for n in range(size):
            upcoming = MeetingFactory(
                body=body, number=1000 + n, date=timezone.localdate() + datetime.timedelta(n + 1)
            )
            AgendaItem.objects.create(meeting=upcoming, title="Geplant")
            invited(upcoming)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url.format(body=body.pk)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_meeting_page_costs_a_fixed_number_of_queries(client):
    counts = []
    for size in (1, 12):
        body = BodyFactory(name=f"Werkstatt {size}", published=True)
        (meeting,) = _many(body, 1, 1, items=size)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/public/meetings/{meeting.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_ics_calendar_parses_with_the_meetings(client, published):
    response = client.get(f"/public/{published['body'].pk}/meetings.ics")
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(event["summary"]): event for event in calendar.walk("VEVENT")}
    assert len(events) == 2
    upcoming = published["upcoming"]
    (planned,) = [e for e in events.values() if str(e["uid"]).startswith(f"meeting-{upcoming.pk}@")]
    assert planned.decoded("dtstart") == timezone.make_aware(
        datetime.datetime.combine(upcoming.date, upcoming.start)
    )
    assert "Haushalt 2027" in str(planned["description"])
    assert SECRET_ITEM not in response.content.decode()
    assert calendar.walk("VTIMEZONE")


def test_the_atom_feed_parses_and_lists_the_published_minutes(client, published):
    response = client.get("/public/minutes.atom")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    links = [entry.find(f"{ATOM}link").get("href") for entry in entries]
    assert links == [f"http://testserver/public/meetings/{published['confirmed'].pk}/"]
    assert all(entry.find(f"{ATOM}updated").text for entry in entries)


def test_the_public_pdf_is_the_archived_public_copy(client, published):
    from protokolle.models import ArchivedPdf

    confirmed = published["confirmed"]
    copy = ArchivedPdf.objects.get(meeting=confirmed, variant=ArchivedPdf.Variant.PUBLIC)
    response = client.get(f"/public/meetings/{confirmed.pk}/minutes.pdf")
    assert response["Content-Type"] == "application/pdf"
    data = b"".join(response.streaming_content)
    with copy.file.open("rb") as handle:
        assert data == handle.read()
    assert (
        "attachment"
        in client.get(f"/public/meetings/{confirmed.pk}/minutes.pdf?download=1")[
            "Content-Disposition"
        ]
    )


def test_the_publishing_switch_records_when_it_changed():
    body = BodyFactory(name="Schalter")
    assert body.published_changed_at is None
    body.published = True
    body.save()
    first = body.published_changed_at
    assert first is not None
    body.name = "Schalter 2"
    body.save()
    assert Body.objects.get(pk=body.pk).published_changed_at == first
    assert re.match(r"\d{4}", first.isoformat())


def test_an_invited_and_then_cancelled_meeting_says_so(client, published):
    upcoming = published["upcoming"]
    url = f"/public/meetings/{upcoming.pk}/"
    first = client.get(url)
    invitation = upcoming.invitation
    sent = invitation.sent_at
    data = client.get(f"/oparl/v1/meeting/{upcoming.pk}/").json()
    assert data["meetingState"] == "eingeladen" and data["cancelled"] is False
    invitation.cancelled_at = sent + datetime.timedelta(minutes=5)
    invitation.save()
    data = client.get(f"/oparl/v1/meeting/{upcoming.pk}/").json()
    assert data["cancelled"] is True and data["meetingState"] == "abgesagt"
    assert data["modified"] == timezone.localtime(invitation.cancelled_at).isoformat(
        timespec="seconds"
    )
    # The page's ETag follows the cancellation; the calendar marks it.
    again = client.get(url, headers={"if-none-match": first["ETag"]})
    assert again.status_code == 200
    calendar = icalendar.Calendar.from_ical(
        client.get(f"/public/{upcoming.body_id}/meetings.ics").content
    )
    statuses = {str(e["uid"]).split("@")[0]: str(e.get("status")) for e in calendar.walk("VEVENT")}
    assert statuses[f"meeting-{upcoming.pk}"] == "CANCELLED"


def test_the_upcoming_meeting_links_its_public_invitation_pdf(client, published):
    upcoming = published["upcoming"]
    url = f"/public/meetings/{upcoming.pk}/invitation.pdf"
    for page in (f"/public/{upcoming.body_id}/", f"/public/meetings/{upcoming.pk}/"):
        assert url in _links(client.get(page).content.decode())
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    with upcoming.invitation.public_pdf.file.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()
    assert "attachment" in client.get(url + "?download=1")["Content-Disposition"]
    # Only while the public sees the meeting: not once its body is no longer published.
    body = published["body"]
    body.published = False
    body.save()
    assert client.get(url).status_code == 404


def test_a_public_pdf_gone_from_the_storage_is_404_not_500(client, published):
    from protokolle.models import ArchivedPdf

    confirmed, upcoming = published["confirmed"], published["upcoming"]
    copy = ArchivedPdf.objects.get(meeting=confirmed, variant=ArchivedPdf.Variant.PUBLIC)
    copy.file.storage.delete(copy.file.name)
    invitation = upcoming.invitation.public_pdf.file
    invitation.storage.delete(invitation.name)

    assert client.get(f"/public/meetings/{confirmed.pk}/minutes.pdf").status_code == 404
    assert client.get(f"/public/meetings/{upcoming.pk}/invitation.pdf").status_code == 404
