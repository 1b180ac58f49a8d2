"""A save of the editor costs the same queries whether it changes one row or all of them.

On minutes of 60 agenda items with 5 results each: changed, added and deleted rows are
written in bulk, and so is their audit trail, which stays as detailed as auditlog's own.
"""

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from protokolle import history, workflow
from protokolle.editor import save_editor
from protokolle.models import AgendaItem, Attachment, Meeting, Participant, Presenter, Result

from .factories import writer_of
from .html_forms import form_data
from .test_drafting import big_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def large(reference_document):
    meeting = workflow.import_minutes(big_document(reference_document))
    # The content types are cached per process: a running server has them.
    ContentType.objects.get_for_models(AgendaItem, Attachment, Participant, Presenter, Result)
    return meeting


@pytest.fixture
def writer(large):
    return writer_of(large.body, name="Alexander Boldt")


@pytest.fixture
def loaded(client, large, writer):
    """The editor's form of the large minutes as the browser posts it unchanged."""
    client.force_login(writer)
    response = client.get(reverse("protokolle:meeting_edit", args=[large.pk]))
    assert response.status_code == 200
    return form_data(response.content)


def rows(data, formset, field):
    """The posted names of ``field`` of the existing rows of ``formset``, in form order."""
    initial = int(data[f"{formset}-INITIAL_FORMS"])
    return [f"{formset}-{index}-{field}" for index in range(initial)]


def save_queries(meeting, data, writer):
    """Queries of one save, as the view runs it (inside the audit context)."""
    with set_actor(writer, remote_addr="198.51.100.7"):
        with CaptureQueriesContext(connection) as captured:
            editor, saved = save_editor(meeting.pk, data.copy(), {}, writer)
    assert saved, (editor.meeting_form.errors, [f.errors for f in editor.formsets])
    return len(captured)


def change_result_texts(data, count):
    for name in rows(data, "results", "text")[:count]:
        data[name] += " (geändert)"


def change_item_titles(data, count):
    for name in rows(data, "items", "title")[:count]:
        data[name] += " (neu)"


def change_presenters(data, count):
    for name in rows(data, "presenters", "function")[:count]:
        data[name] = "Referentin"


def change_participants(data, count):
    for name in rows(data, "participants", "function")[:count]:
        data[name] = "Gast"


def delete_results(data, count):
    for name in rows(data, "results", "DELETE")[:count]:
        data[name] = "on"


def add_results(data, count):
    """``count`` new results under the first item, as the editor's script adds rows."""
    total = int(data["results-TOTAL_FORMS"])
    blank = f"results-{total - 1}"
    first_item = data["items-0-id"]
    template = {
        name[len(blank) + 1 :]: value
        for name, value in data.items()
        if name.startswith(blank + "-")
    }
    for index in range(total - 1, total - 1 + count):
        for field, value in template.items():
            data[f"results-{index}-{field}"] = value
        data[f"results-{index}-item_key"] = first_item
        data[f"results-{index}-text"] = f"Neues Ergebnis {index}"
    data["results-TOTAL_FORMS"] = str(total - 1 + count)


@pytest.mark.parametrize(
    "change",
    [
        change_result_texts,
        change_item_titles,
        change_presenters,
        change_participants,
        delete_results,
        add_results,
    ],
)
def test_one_changed_row_costs_as_many_queries_as_all(large, writer, loaded, change):
    one = loaded.copy()
    change(one, 1)
    counts = [save_queries(large, one, writer)]
    # The second save starts from what is stored now: load the page again.
    every = form_data_of(large, writer)
    change(every, 40 if change is add_results else 10**6)
    counts.append(save_queries(large, every, writer))

    assert counts[0] == counts[1], counts


def form_data_of(meeting, writer):
    from django.test import Client

    client = Client()
    client.force_login(writer)
    response = client.get(reverse("protokolle:meeting_edit", args=[meeting.pk]))
    return form_data(response.content)


def test_swapping_two_items_costs_as_much_as_changing_one_title(large, writer, loaded):
    titled = loaded.copy()
    change_item_titles(titled, 1)
    title_queries = save_queries(large, titled, writer)

    swapped = form_data_of(large, writer)
    first, second = rows(swapped, "items", "order")[:2]
    swapped[first], swapped[second] = swapped[second], swapped[first]
    swap_queries = save_queries(large, swapped, writer)

    titles = list(
        AgendaItem.objects.filter(meeting=large, parent=None)
        .order_by("position")
        .values_list("title", flat=True)
    )
    assert titles[:2] == ["Punkt 1", "Punkt 0 (neu)"]
    # Moving an item rewrites the positions: one query more than a title alone.
    assert swap_queries <= title_queries + 1, (title_queries, swap_queries)


def test_everything_changed_at_once_stays_within_a_fixed_budget(large, writer, loaded):
    data = loaded.copy()
    change_result_texts(data, 10**6)
    change_item_titles(data, 10**6)
    change_presenters(data, 10**6)
    change_participants(data, 10**6)
    data["meeting-location"] = "Großer Saal"

    assert save_queries(large, data, writer) <= 40
    assert Result.objects.filter(
        agenda_item__meeting=large, text__endswith="(geändert)"
    ).count() == (300)
    assert not Presenter.objects.filter(agenda_item__meeting=large).exclude(function="Referentin")
    assert not Participant.objects.filter(meeting=large).exclude(function="Gast")
    assert Meeting.objects.get(pk=large.pk).location == "Großer Saal"


def test_bulk_saves_keep_the_audit_trail_as_auditlog_writes_it(large, writer, loaded):
    seen = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    data = loaded.copy()
    change_result_texts(data, 3)
    data[rows(data, "results", "DELETE")[4]] = "on"
    add_results(data, 2)

    save_queries(large, data, writer)

    entries = list(LogEntry.objects.filter(pk__gt=seen).select_related("content_type"))
    results = [e for e in entries if e.content_type.model == "result"]
    actions = sorted(e.action for e in results)
    assert actions == [
        LogEntry.Action.CREATE,
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    for entry in entries:
        assert entry.actor == writer
        assert entry.remote_addr == "198.51.100.7"
        assert entry.additional_data == {"meeting": large.pk}
        assert entry.object_pk == str(entry.object_id)
    updated = [e for e in results if e.action == LogEntry.Action.UPDATE]
    assert set().union(*(e.changes for e in updated)) == {"text"}
    first = Result.objects.get(pk=updated[0].object_id)
    assert updated[0].changes["text"][1] == first.text
    assert updated[0].object_repr == str(first)
    created = [e for e in results if e.action == LogEntry.Action.CREATE]
    assert {e.changes["text"][1] for e in created} == {
        r.text for r in Result.objects.filter(pk__in=[e.object_id for e in created])
    }
    deleted = next(e for e in results if e.action == LogEntry.Action.DELETE)
    assert not Result.objects.filter(pk=deleted.object_id).exists()
    assert deleted.changes["text"][1] == "None"
    with translation.override("en"):
        text = history.for_meeting(large)[0].text
    assert text.startswith("Alexander Boldt ")
    assert "added 2 results" in text
    assert "changed 3 results" in text
    assert "deleted 1 result" in text


def test_a_deleted_item_logs_its_presenters_and_results_too(large, writer, loaded):
    seen = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    data = loaded.copy()
    data[rows(data, "items", "DELETE")[0]] = "on"
    item = AgendaItem.objects.get(pk=data["items-0-id"])

    save_queries(large, data, writer)

    assert not AgendaItem.objects.filter(pk=item.pk).exists()
    deleted = LogEntry.objects.filter(pk__gt=seen, action=LogEntry.Action.DELETE)
    counts = {}
    for entry in deleted.select_related("content_type"):
        counts[entry.content_type.model] = counts.get(entry.content_type.model, 0) + 1
    assert counts == {"agendaitem": 1, "presenter": 1, "result": 5}
