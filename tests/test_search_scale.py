"""Search and tasks at scale: counts capped, pages by keyset, a fixed number of queries.

The limits are made small here (``search.LIMIT``, the page size) so that a few
generated meetings reach what 10,000 do in bench/archive.
"""

import io
import re

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils.translation import gettext

from protokolle import access, search
from protokolle.models import Body, Result
from protokolle.views import archive as archive_views

from .factories import UserFactory, user_in

pytestmark = pytest.mark.django_db

WORD = "Projekt"  # in every generated result ("... zum Projekt <Thema>.")


@pytest.fixture
def load():
    """Three generated confirmed meetings: some hundred hits of WORD, many tasks."""
    call_command("generate_load", "--meetings", "3", stdout=io.StringIO(), stderr=io.StringIO())
    return Body.objects.all()


@pytest.fixture
def reader(client, load):
    user = UserFactory(is_staff=True)  # reads every body
    client.force_login(user)
    return user


def matching(user, words=WORD):
    """The entries the user finds with ``words``, as the search matches them."""
    entries = access.visible_search_entries(user)
    if search.connection.vendor == "postgresql":
        query = search.SearchQuery(words, config=search.CONFIG, search_type="websearch")
        return search._postgresql(entries, query)
    return search._fallback(entries, words)


def all_hits(user, words=WORD):
    return list(matching(user, words))


def walk(user, size, words=WORD):
    """Every page of the search, following ``next``: the pks in the order shown."""
    entries = access.visible_search_entries(user)
    shown, after, pages = [], "", 0
    while True:
        page = search.search(entries, words, search.Filters(), after=after, size=size)
        shown += [hit.pk for hit in page]
        assert len(shown) <= len(all_hits(user, words))  # pages that repeat would never end
        pages += 1
        assert len(page) <= size
        if not page.next:
            return shown, pages
        assert len(page) == size  # only the last page is short
        after = page.next


def test_keyset_pages_show_every_hit_exactly_once_in_order(reader, monkeypatch):
    monkeypatch.setattr(search, "LIMIT", 7)
    newest_first = list(matching(reader).order_by("-date", "-pk").values_list("date", "pk"))
    assert len(newest_first) > 50

    shown, pages = walk(reader, size=5)

    assert len(shown) == len(set(shown)) == len(newest_first)  # each once, none left out
    assert pages == -(-len(newest_first) // 5)
    # The 7 newest hits come first (ranked among themselves), then the rest newest first.
    assert set(shown[:7]) == {pk for _date, pk in newest_first[:7]}
    assert shown[7:] == [pk for _date, pk in newest_first[7:]]


def test_the_candidates_are_ranked_best_first(reader, monkeypatch):
    monkeypatch.setattr(search, "LIMIT", 7)
    page = search.search(access.visible_search_entries(reader), WORD, search.Filters(), size=7)
    ranks = list(
        access.visible_search_entries(reader)
        .filter(pk__in=[hit.pk for hit in page])
        .annotate(
            rank=search.SearchRank(search._VECTOR, search.SearchQuery(WORD, config=search.CONFIG))
            if search.connection.vendor == "postgresql"
            else search.Value(0.0)
        )
        .values_list("pk", "rank", "date")
    )
    by_pk = {pk: (-rank, -date.toordinal(), -pk) for pk, rank, date in ranks}
    keys = [by_pk[hit.pk] for hit in page]
    assert keys == sorted(keys)


def test_a_page_of_hits_past_the_limit_says_more_than(client, reader, monkeypatch):
    monkeypatch.setattr(search, "LIMIT", 7)
    response = client.get(reverse("protokolle:search"), {"q": WORD})

    page = response.context["page"]
    assert page.more and page.count == 7
    html = response.content.decode()
    assert gettext("more than %(limit)s hits") % {"limit": "7"} in html
    assert 'rel="next"' in html

    monkeypatch.setattr(search, "LIMIT", 10_000)
    response = client.get(reverse("protokolle:search"), {"q": WORD})
    assert not response.context["page"].more
    assert response.context["page"].count == len(all_hits(reader))
    assert gettext("more than %(limit)s hits") % {"limit": "10000"} not in response.content.decode()


def test_next_links_of_the_page_lead_through_every_hit(client, reader, monkeypatch):
    monkeypatch.setattr(search, "LIMIT", 30)
    monkeypatch.setattr(search, "PAGE_SIZE", 20)
    url, shown = f"{reverse('protokolle:search')}?q={WORD}", []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        shown += [hit.pk for hit in response.context["page"]]
        assert len(shown) <= len(all_hits(reader))  # pages that repeat would never end
        link = re.search(r'href="([^"]*)" rel="next"', response.content.decode())
        url = reverse("protokolle:search") + link.group(1).replace("&amp;", "&") if link else ""
    assert sorted(shown) == sorted(hit.pk for hit in all_hits(reader))


def test_search_pages_cost_a_fixed_number_of_queries(
    client, reader, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(search, "LIMIT", 30)
    monkeypatch.setattr(search, "PAGE_SIZE", 20)
    url = reverse("protokolle:search")
    client.get(url, {"q": WORD})
    first = client.get(url, {"q": WORD}).context["page"]
    # first page: session, user, bodies, candidates, rows
    with django_assert_num_queries(5):
        client.get(url, {"q": WORD})
    # second page: the last ten candidates and ten older hits (one query more)
    with django_assert_num_queries(6):
        second = client.get(url, {"q": WORD, "after": first.next}).context["page"]
    # a deep page past the candidates: no candidates to read, one query less
    with django_assert_num_queries(4):
        client.get(url, {"q": WORD, "after": second.next})
    call_command("generate_load", "--meetings", "3", stdout=io.StringIO(), stderr=io.StringIO())
    with django_assert_num_queries(5):
        client.get(url, {"q": WORD})
    with django_assert_num_queries(4):
        client.get(url, {"q": WORD, "after": second.next})


@pytest.mark.parametrize(
    "after",
    ["x", "r:nan:2020-01-01:1", "d:2020-13-01:1", "d:1", "r:1:2:3:4", f"d:2020-01-01:{2**63}"],
)
def test_a_garbled_page_link_shows_the_first_page_with_a_message(client, reader, after):
    response = client.get(reverse("protokolle:search"), {"q": WORD, "after": after})
    assert response.status_code == 200
    assert len(response.context["page"]) > 0
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["warning"]


# --- tasks --------------------------------------------------------------------------------


def walk_tasks(client, **params):
    """Every page of the task list, following its "next" link: the pks in order."""
    url, shown = reverse("protokolle:tasks"), []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200
        shown += [task.pk for task in response.context["page"]]
        assert len(shown) <= Result.objects.count()  # pages that repeat would never end
        link = re.search(r'href="([^"]*)" rel="next"', response.content.decode())
        if not link:
            return shown
        response = client.get(url + link.group(1).replace("&amp;", "&"))


def undated_tasks(meeting):
    for number in range(5):  # more than a page: a page ends among them
        meeting["agenda"][1]["results"].append({"kind": "task", "text": f"Ohne Frist {number}"})


def test_the_task_list_counts_up_to_the_limit_and_pages_every_task_once(
    client, reader, monkeypatch, minutes
):
    monkeypatch.setattr(search, "LIMIT", 10)
    monkeypatch.setattr(archive_views, "PAGE_SIZE", 3)
    minutes(status="confirmed", change=undated_tasks)  # tasks without a due date come last
    tasks = Result.objects.filter(kind="task")
    assert tasks.filter(due=None).count() >= 5
    assert tasks.count() > 14
    response = client.get(reverse("protokolle:tasks"))
    page = response.context["page"]
    assert page.more and page.count == 10
    assert gettext("more than %(limit)s tasks") % {"limit": "10"} in response.content.decode()

    expected = sorted(tasks, key=lambda task: (task.due is None, task.due, task.pk))
    assert len({task.due for task in expected}) < len(expected) - 5  # ties: order of entry
    assert walk_tasks(client) == [task.pk for task in expected]


def test_few_tasks_are_counted_exactly(client, load):
    body = load.first()
    client.force_login(user_in(body))
    page = client.get(reverse("protokolle:tasks"), {"body": body.pk}).context["page"]
    assert not page.more
    assert page.count == Result.objects.filter(kind="task", agenda_item__meeting__body=body).count()


@pytest.mark.parametrize(
    "after", ["abc", "-:0", "2020-01-01:x", f"-:{2**64}", "2020-02-30:1", "1:2:3"]
)
def test_a_garbled_task_page_link_shows_the_first_page_with_a_message(client, reader, after):
    response = client.get(reverse("protokolle:tasks"), {"after": after})
    assert response.status_code == 200
    assert len(response.context["page"]) > 0
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["warning"]


def test_the_task_list_costs_a_fixed_number_of_queries(
    client, reader, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(archive_views, "PAGE_SIZE", 7)
    url = reverse("protokolle:tasks")
    page = client.get(url).context["page"]
    # session, user, bodies, writable bodies, rows, count
    with django_assert_num_queries(6):
        client.get(url)
    with django_assert_num_queries(6):
        client.get(url, {"after": page.next})
    # past the last due date: the rest of the dated tasks, then those without one
    with django_assert_num_queries(7):
        client.get(url, {"after": "2099-01-01:1"})
    with django_assert_num_queries(6):
        client.get(url, {"after": "-:1"})
    call_command("generate_load", "--meetings", "3", stdout=io.StringIO(), stderr=io.StringIO())
    with django_assert_num_queries(6):
        client.get(url, {"after": page.next})
