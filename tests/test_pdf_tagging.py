"""The PDF is tagged PDF/A-3a: a structure tree a screen reader can follow.

WeasyPrint builds the tree from the HTML (protokolle/pdf/document.html), so these tests
check both ends: the archival copy's conformance and metadata, and that the template's
headings, tables and lists arrive in the tree as H1/H2/H3, Table/TH/TD and L/LI.
"""

import copy
import io
import re

import pikepdf
import pytest
from django.urls import reverse

from protokolle import pdf, workflow
from protokolle.models import ArchivedPdf, Meeting

from .factories import user_in

pytestmark = pytest.mark.django_db

TITLE = "Ergebnisprotokoll – 8. Sitzung"


def imported(document):
    meeting = workflow.import_minutes(copy.deepcopy(document))
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


@pytest.fixture
def confirmed(reference_document):
    reference_document["meeting"]["status"] = "confirmed"
    return imported(reference_document)


@pytest.fixture
def archived(confirmed):
    """The stored archival copies of the confirmed reference minutes, by variant."""
    copies = {}
    for stored in ArchivedPdf.objects.filter(meeting=confirmed):
        with stored.file.open("rb") as handle:
            copies[stored.variant] = handle.read()
    assert set(copies) == {ArchivedPdf.Variant.MEMBERS, ArchivedPdf.Variant.PUBLIC}
    return copies


@pytest.fixture
def archival_pdf(archived):
    with pikepdf.open(io.BytesIO(archived[ArchivedPdf.Variant.MEMBERS])) as document:
        yield document


def elements(document):
    """(type, element) of every structure element, in the tree's reading order."""

    def walk(element):
        yield str(element.S).removeprefix("/"), element
        kids = element.get("/K")
        if isinstance(kids, pikepdf.Dictionary):
            kids = [kids]
        if isinstance(kids, pikepdf.Array):
            for kid in kids:
                if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    yield from walk(kid)

    root = document.Root.StructTreeRoot.K
    for top in root if isinstance(root, pikepdf.Array) else [root]:
        yield from walk(top)


def types(document):
    return [kind for kind, _ in elements(document)]


def assert_pdfa_3a(document):
    meta = document.open_metadata()
    assert meta["pdfaid:part"] == "3"
    assert meta["pdfaid:conformance"] == "A"
    assert document.Root.MarkInfo.Marked is True
    assert "/StructTreeRoot" in document.Root
    assert str(document.Root.Lang) == "de"


# --- the archival copy ------------------------------------------------------------------


@pytest.mark.parametrize("variant", [ArchivedPdf.Variant.MEMBERS, ArchivedPdf.Variant.PUBLIC])
def test_the_archival_copies_are_tagged_pdfa_3a(archived, variant):
    with pikepdf.open(io.BytesIO(archived[variant])) as document:
        assert_pdfa_3a(document)


def test_viewers_show_the_document_title(archival_pdf):
    assert archival_pdf.Root.ViewerPreferences.DisplayDocTitle is True
    assert str(archival_pdf.docinfo.Title) == TITLE
    assert archival_pdf.open_metadata()["dc:title"] == TITLE


def test_every_font_is_embedded_with_its_unicode_mapping(archival_pdf):
    fonts = 0
    for page in archival_pdf.pages:
        for font in page.Resources.Font.values():
            fonts += 1
            descriptor = (
                font.DescendantFonts[0].FontDescriptor
                if "/DescendantFonts" in font
                else font.FontDescriptor
            )
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            # Level A: every glyph maps to Unicode, so the text can be read out.
            assert "/ToUnicode" in font
    assert fonts > 0


def test_headings_come_in_order_one_h1_then_h2_then_h3(archival_pdf, confirmed):
    headings = [kind for kind in types(archival_pdf) if re.fullmatch(r"H[1-6]", kind)]
    levels = [int(kind[1]) for kind in headings]

    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    # Allgemeines, Tagesordnung, Ergebnisse (no attendance taken in the reference).
    assert levels.count(2) == 3
    # One H3 per agenda item in the results, sub-items included.
    items = len(pdf.context(confirmed)["items"])
    assert levels.count(3) == items > 5


def test_a_sub_item_is_a_heading_one_level_below_its_item(reference_document):
    agenda = reference_document["meeting"]["agenda"]
    sub_item = copy.deepcopy(agenda[1])
    sub_item.update(number=None, title="Rückfragen zum Projekt")
    agenda[1]["children"] = [sub_item]
    meeting = imported(reference_document)

    html = pdf.render_html(meeting, for_pdf=True)
    with pikepdf.open(io.BytesIO(pdf.render_pdf(meeting))) as document:
        levels = [int(kind[1]) for kind in types(document) if re.fullmatch(r"H[1-6]", kind)]
        with document.open_outline() as outline:
            results = [entry for entry in outline.root[0].children if entry.title == "Ergebnisse"]
            bookmarks = [
                (item.title, [sub.title for sub in item.children]) for item in results[0].children
            ]

    assert re.search(
        r'<h4 class="item-title" data-number="[^"]+">Rückfragen zum Projekt</h4>', html
    )
    assert levels.count(4) == 1
    assert levels[levels.index(4) - 1] == 3
    # The PDF's bookmarks name each item by its number, the sub-item below its item.
    assert bookmarks[1][0] == "TOP 2 " + agenda[1]["title"]
    assert bookmarks[1][1][0].endswith(" Rückfragen zum Projekt")
    assert bookmarks[0][0].startswith("TOP 1 Begrüßung")


def test_tables_have_header_cells_every_data_cell_refers_to(archival_pdf):
    found = list(elements(archival_pdf))
    header_ids = {str(element.ID) for kind, element in found if kind == "TH"}
    cells = [element for kind, element in found if kind == "TD"]

    assert [kind for kind, _ in found].count("Table") >= 3  # general, agenda, results
    assert len(header_ids) == len([kind for kind, _ in found if kind == "TH"]) >= 6
    assert len(cells) >= 20
    for cell in cells:
        headers = {str(header) for header in cell.A.Headers}
        assert headers, "a data cell without a header cell"
        assert headers <= header_ids


def test_lists_are_lists_with_items(archival_pdf, reference_document):
    found = list(elements(archival_pdf))
    kinds = [kind for kind, _ in found]
    results = sum(len(item["results"]) for item in reference_document["meeting"]["agenda"])

    assert kinds.count("L") >= 1
    assert kinds.count("LI") >= results
    for kind, element in found:
        if kind == "L":
            assert {str(kid.S) for kid in element.K} == {"/LI"}
        if kind == "LI":
            assert "/LBody" in {str(kid.S) for kid in element.K}


def test_the_template_gives_the_tree_its_structure(confirmed, reference_document):
    html = pdf.render_html(confirmed, for_pdf=True)
    first = reference_document["meeting"]["agenda"][0]["title"]

    assert '<html lang="de">' in html
    assert f"<title>{TITLE}</title>" in html
    assert html.count("<h1") == 1
    assert re.findall(r"<h2 [^>]*>([^<]*)</h2>", html) == [
        "Allgemeines",
        "Tagesordnung",
        "Ergebnisse",
    ]
    assert f'<h3 class="item-title" data-number="1">{first}</h3>' in html
    assert html.count('<th scope="row">') >= 5
    assert html.count('<th scope="col"') == 4
    assert "<th>" not in html  # every header cell says what it heads


# --- drafts are tagged too --------------------------------------------------------------


def test_the_downloaded_draft_is_tagged_pdfa_3a(client, reference_document):
    draft = imported(reference_document)
    client.force_login(user_in(draft.body))

    response = client.get(reverse("protokolle:minutes_pdf", args=[draft.pk]))

    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(b"".join(response.streaming_content))) as document:
        assert_pdfa_3a(document)
        assert document.Root.ViewerPreferences.DisplayDocTitle is True


def test_a_render_can_ask_for_another_variant(reference_document):
    """The benchmark compares with PDF/A-3b through the same typesetting child."""
    draft = imported(reference_document)

    with pikepdf.open(io.BytesIO(pdf.render_pdf(draft, variant="pdf/a-3b"))) as document:
        assert document.open_metadata()["pdfaid:conformance"] == "B"
        assert "/StructTreeRoot" not in document.Root
