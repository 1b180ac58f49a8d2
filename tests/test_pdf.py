import copy
import datetime
import io
import json
import re

import pikepdf
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from pypdf import PdfReader

from protokolle import exchange, pdf, workflow
from protokolle.models import ArchivedPdf, Meeting, Membership

from .factories import MembershipFactory, PersonFactory, UserFactory, user_in

pytestmark = pytest.mark.django_db


def pages_text(data):
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def squeeze(text):
    """Text without whitespace, soft hyphens or the hyphens hyphenation adds."""
    return re.sub(r"[\s\u00ad\u2010]+", "", text)


def assert_in_order(haystack, needles):
    position = 0
    for needle in needles:
        found = haystack.find(squeeze(needle), position)
        assert found >= 0, f"{needle!r} missing after position {position}"
        position = found + len(squeeze(needle))


def imported(document):
    meeting = workflow.import_minutes(copy.deepcopy(document))
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


@pytest.fixture
def draft(reference_document):
    return imported(reference_document)


@pytest.fixture
def draft_pdf(draft):
    return pdf.render_pdf(draft)


def test_the_pdf_holds_every_part_of_the_minutes_in_order(draft_pdf, reference_document):
    text = squeeze("".join(pages_text(draft_pdf)))
    agenda = reference_document["meeting"]["agenda"]

    assert_in_order(
        text,
        [
            "ERGEBNISPROTOKOLL",
            "Werkstatt",
            "8. Sitzung",
            "Allgemeines",
            "21.03.2022, 10:00 – 12:00 Uhr",
            "Online",
            "Sven Guntermann, Werkstattsprecher",
            "Alexander Boldt, Projektmanager",
            "Anlagen",
            "Keine",
            "Tagesordnung",
        ],
    )
    results_part = text[text.index("Ergebnisse") :]
    expected = []
    for item in agenda:
        expected += [item["number"], item["title"]]
        expected += [
            ", ".join(v for v in (p["name"], p["organisation"], p["function"]) if v)
            for p in item["presenters"]
        ]
        expected += [result["text"] for result in item["results"]]
    assert_in_order(results_part, [*expected, "Cottbus, 21.03.2022"])


def test_the_agenda_table_lists_numbers_titles_and_presenters(draft_pdf, reference_document):
    text = squeeze("".join(pages_text(draft_pdf)))
    agenda_part = text[text.index("Tagesordnung") : text.index("Ergebnisse")]
    expected = []
    for item in reference_document["meeting"]["agenda"]:
        expected += [item["number"], item["title"]]
    assert_in_order(agenda_part, expected)
    assert squeeze(
        "Katja Boll, ver.di, Gewerkschaftssekretärin Landesverwaltungen Brandenburg"
    ) in (agenda_part)


def test_every_page_is_numbered_and_marked_as_draft(draft_pdf):
    pages = pages_text(draft_pdf)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Seite {number} von {len(pages)}" in text
        assert "ENTWURF" in text


def test_pages_after_the_first_carry_a_running_header(draft_pdf):
    pages = pages_text(draft_pdf)
    header = "Werkstatt · 8. Sitzung · 21.03.2022"
    assert header not in pages[0]
    assert all(header in text for text in pages[1:])


def test_votes_and_tasks_are_printed_with_the_result(reference_document):
    results = reference_document["meeting"]["agenda"][0]["results"]
    results[1]["vote"] = {"yes": 16, "no": 0, "abstain": 1, "text": None}
    results[2]["vote"] = {"yes": None, "no": None, "abstain": None, "text": "einstimmig"}
    results.append(
        {"kind": "task", "text": "Protokoll versenden", "responsible": "WRL", "due": "2022-03-31"}
    )

    text = squeeze("".join(pages_text(pdf.render_pdf(imported(reference_document)))))

    assert squeeze("Abstimmung: Ja 16 · Nein 0 · Enthaltung 1") in text
    assert squeeze("Abstimmung: einstimmig") in text
    assert squeeze("Aufgabe: Protokoll versenden Verantwortlich: WRL · bis 31.03.2022") in text


def test_attendance_is_grouped_by_status(reference_document):
    reference_document["meeting"]["participants"] = [
        {"name": "Anna Anwesend", "status": "present", "substitute_for": "Paul Vertreten"},
        {"name": "Erik Entschuldigt", "status": "excused"},
        {"name": "Gisela Gast", "organisation": "DABB", "status": "guest"},
    ]

    text = squeeze(pages_text(pdf.render_pdf(imported(reference_document)))[0])

    assert_in_order(
        text,
        [
            "Teilnehmende",
            "Anwesend",
            "Anna Anwesend (in Vertretung für Paul Vertreten)",
            "Entschuldigt",
            "Erik Entschuldigt",
            "Gäste",
            "Gisela Gast, DABB",
        ],
    )


def confirm(meeting):
    Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.CONFIRMED)
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


def test_confirmed_minutes_say_where_they_were_confirmed(draft, reference_document):
    later = copy.deepcopy(reference_document)
    later["meeting"].update(number=9, date="2022-05-23", next_meeting=None)
    later["meeting"]["approves_minutes_of"] = [{"number": 8, "date": "2022-03-21"}]
    workflow.import_minutes(later)

    pages = pages_text(pdf.render_pdf(confirm(draft)))

    assert "Bestätigt in der 9. Sitzung am 23.05.2022" in pages[0]
    assert not any("ENTWURF" in text for text in pages)


def test_the_public_version_leaves_out_non_public_items(reference_document):
    reference_document["meeting"]["agenda"][4]["public"] = False
    meeting = imported(reference_document)

    members = squeeze("".join(pages_text(pdf.render_pdf(meeting))))
    public = squeeze("".join(pages_text(pdf.render_pdf(meeting, public_only=True))))

    assert squeeze("Kita-Projekten") in members
    assert squeeze("Kita-Projekten") not in public
    assert squeeze("Trinkwasserverbundsystem") in public
    assert json.loads(pdf.embedded_document(pdf.render_pdf(meeting, public_only=True)))["meeting"][
        "agenda"
    ][4]["title"] == ("Information zu weiteren Projekten in der Bearbeitung")


def laid_out_tables(meeting):
    """(table width, width of the page's content area) of every table box on every page,
    laid out in this process as the typesetting child does it."""
    weasyprint, fonts, fetcher, stylesheet = pdf._weasyprint()
    document = weasyprint.HTML(
        string=pdf.render_html(meeting, for_pdf=True), base_url=pdf.BASE_URL, url_fetcher=fetcher
    ).render(stylesheets=[stylesheet], font_config=fonts)
    found = []
    for page in document.pages:
        root = page._page_box.children[0]
        found += [
            (box.border_width(), root.width)
            for box in root.descendants()
            if type(box).__name__ == "TableBox"
        ]
    return found


def test_a_long_unbreakable_title_keeps_every_table_within_the_page(reference_document):
    """Fixed table layout (minutes.css): the columns come from the first row, not from
    measuring every cell's text (which is also what made the layout slow), so a word
    that cannot break overflows its cell instead of pushing the table past the margin."""
    reference_document["meeting"]["agenda"][1]["title"] = "1234567890" * 30
    tables = laid_out_tables(imported(reference_document))

    for width, page_width in tables:
        assert width == pytest.approx(page_width)
    assert len(tables) >= 3  # general, agenda, results


def test_the_pdf_is_tagged_pdfa_3a_with_metadata_and_embedded_fonts(draft_pdf):
    with pikepdf.open(io.BytesIO(draft_pdf)) as document:
        meta = document.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "A"  # level A: tagged (test_pdf_tagging.py)
        assert len(document.Root.OutputIntents) >= 1
        assert str(document.Root.Lang) == "de"
        info = document.docinfo
        assert str(info.Title) == "Ergebnisprotokoll – 8. Sitzung"
        assert str(info.Author) == "Werkstatt"
        assert "21.03.2022" in str(info.Subject)
        assert re.fullmatch(r"D:\d{14}[+-]\d\d'\d\d'?", str(info.CreationDate))
        fonts = 0
        for page in document.pages:
            for font in page.Resources.Font.values():
                fonts += 1
                descriptor = (
                    font.DescendantFonts[0].FontDescriptor
                    if "/DescendantFonts" in font
                    else font.FontDescriptor
                )
                assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        assert fonts > 0


def test_the_pdf_carries_the_exchange_document(draft, draft_pdf, tmp_path):
    target = tmp_path / "minutes.json"
    call_command("export_minutes", str(draft.pk), "--format", "json", "-o", str(target))

    with pikepdf.open(io.BytesIO(draft_pdf)) as document:
        attached = document.attachments["minutes.json"]
        assert str(attached.obj.AFRelationship) == "/Data"
        embedded = attached.get_file().read_bytes()

    assert json.loads(embedded) == json.loads(target.read_text(encoding="utf-8"))


INJECTIONS = [
    "<script>alert('x')</script>",
    '<img src="http://127.0.0.1:9/tracker.png">',
    '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">',
    "file:///etc/passwd",
]


def test_typed_markup_comes_out_as_text_and_nothing_is_fetched(
    reference_document, monkeypatch, fresh_typesetter, tmp_path
):
    meeting = reference_document["meeting"]
    meeting["location"] = INJECTIONS[0]
    meeting["chair"]["name"] = INJECTIONS[1]
    meeting["agenda"][0]["title"] = INJECTIONS[2]
    meeting["agenda"][1]["presenters"][0]["name"] = INJECTIONS[3]
    meeting["agenda"][1]["results"][0]["text"] = " ".join(INJECTIONS)
    meeting["attachments"] = [{"name": INJECTIONS[1]}]
    loaded = imported(reference_document)
    # The typesetting child fetches; it writes what it is asked for into a file.
    log = tmp_path / "fetched.txt"
    _weasyprint, _fonts, fetcher, _css = pdf._weasyprint()
    original = type(fetcher).fetch

    def recording_fetch(self, url, headers=None):
        with open(log, "a") as handle:
            handle.write(url + "\n")
        return original(self, url, headers)

    monkeypatch.setattr(type(fetcher), "fetch", recording_fetch)

    html = pdf.render_html(loaded, for_pdf=True)
    text = "".join(pages_text(pdf.render_pdf(loaded)))

    assert "<script>" not in html and "<img" not in html and "<link" not in html
    assert "&lt;script&gt;" in html
    for injection in INJECTIONS:
        assert squeeze(injection) in squeeze(text)
    assert not log.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.css",
        "https://example.org/x.png",
        "file:///etc/passwd",
        "http://werkstatt-static.invalid/etc/passwd",
        "http://werkstatt-static.invalid/static/../../settings.py",
    ],
)
def test_the_url_fetcher_refuses_everything_but_static_files(url):
    _weasyprint, _fonts, fetcher, _css = pdf._weasyprint()
    with pytest.raises(ValueError):
        fetcher.fetch(url)


def test_the_url_fetcher_serves_static_files():
    _weasyprint, _fonts, fetcher, _css = pdf._weasyprint()
    response = fetcher.fetch(pdf.BASE_URL + "static/css/minutes.css")
    assert b"@page" in response.read()


# --- the archival copy ------------------------------------------------------------------


@pytest.fixture
def confirmed(reference_document):
    reference_document["meeting"]["status"] = "confirmed"
    return imported(reference_document)


def test_importing_confirmed_minutes_stores_their_pdf_with_its_hash(confirmed):
    copies = {c.variant: c for c in ArchivedPdf.objects.filter(meeting=confirmed)}

    assert set(copies) == {ArchivedPdf.Variant.MEMBERS, ArchivedPdf.Variant.PUBLIC}
    for stored in copies.values():
        assert pdf.verify(stored) is None
        with stored.file.open("rb") as handle:
            assert handle.read(5) == b"%PDF-"


def test_archive_does_not_render_twice(confirmed, monkeypatch):
    before = list(ArchivedPdf.objects.values_list("pk", "sha256"))
    monkeypatch.setattr(pdf, "render_archival", lambda *a, **k: pytest.fail("rendered again"))

    pdf.archive(confirmed)

    assert list(ArchivedPdf.objects.values_list("pk", "sha256")) == before


def test_a_draft_is_never_archived(draft):
    with pytest.raises(ValueError):
        pdf.archive(draft)


def test_verify_archive_passes_on_an_intact_archive(confirmed, capsys):
    call_command("verify_archive")
    assert "all 2 archived PDF(s) are present and unchanged" in capsys.readouterr().out


def test_verify_archive_catches_a_changed_file(confirmed, capsys):
    stored = ArchivedPdf.objects.get(meeting=confirmed, variant="members")
    with open(stored.file.path, "r+b") as handle:
        handle.seek(200)
        handle.write(b"X")

    with pytest.raises(CommandError, match="1 of 2"):
        call_command("verify_archive")
    assert f"changed: {stored.file.name}" in capsys.readouterr().err


def test_verify_archive_catches_a_missing_file(confirmed, capsys):
    stored = ArchivedPdf.objects.get(meeting=confirmed, variant="public")
    stored.file.storage.delete(stored.file.name)

    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert f"missing: {stored.file.name}" in capsys.readouterr().err


# --- commands ---------------------------------------------------------------------------


def test_export_minutes_writes_pdf_and_html(draft, tmp_path):
    call_command("export_minutes", str(draft.pk), "--format", "pdf", "-o", str(tmp_path / "m.pdf"))
    call_command(
        "export_minutes", str(draft.pk), "--format", "html", "-o", str(tmp_path / "m.html")
    )

    assert "ENTWURF" in pages_text((tmp_path / "m.pdf").read_bytes())[0]
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Vorstellung des DGB-Projektes „Revierwende“" in html


def test_export_minutes_gives_the_stored_pdf_of_confirmed_minutes(confirmed, tmp_path):
    target = tmp_path / "m.pdf"
    call_command("export_minutes", str(confirmed.pk), "--format", "pdf", "-o", str(target))
    stored = ArchivedPdf.objects.get(meeting=confirmed, variant="members")
    with stored.file.open("rb") as handle:
        assert target.read_bytes() == handle.read()


def test_import_minutes_reads_the_document_inside_a_pdf(draft, tmp_path, capsys):
    target = tmp_path / "m.pdf"
    call_command("export_minutes", str(draft.pk), "--format", "pdf", "-o", str(target))
    before = exchange.export_document(draft)
    Meeting.objects.filter(pk=draft.pk).delete()

    call_command("import_minutes", str(target))

    new_id = int(capsys.readouterr().out.split()[-1])
    assert exchange.export_document(Meeting.objects.for_export().get(pk=new_id)) == before


def test_a_pdf_without_our_document_is_refused(tmp_path, unchanged_database):
    weasyprint, *_ = pdf._weasyprint()
    target = tmp_path / "other.pdf"
    target.write_bytes(weasyprint.HTML(string="<p>Hallo</p>").write_pdf())

    with pytest.raises(CommandError):
        call_command("import_minutes", str(target))


def test_a_broken_pdf_is_refused(tmp_path, unchanged_database):
    target = tmp_path / "broken.pdf"
    target.write_bytes(b"%PDF-1.7\n garbage")
    with pytest.raises(CommandError):
        call_command("import_minutes", str(target))


# --- downloads --------------------------------------------------------------------------


@pytest.fixture
def member(draft):
    return user_in(draft.body)


def test_anonymous_users_are_sent_to_log_in(client, draft):
    response = client.get(reverse("protokolle:minutes_pdf", args=[draft.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_members_of_another_body_get_404(client, draft):
    outsider = UserFactory()
    MembershipFactory(person=PersonFactory(user=outsider))
    client.force_login(outsider)
    assert client.get(reverse("protokolle:minutes_pdf", args=[draft.pk])).status_code == 404


def test_members_download_the_draft_pdf(client, draft, member):
    client.force_login(member)
    response = client.get(reverse("protokolle:minutes_pdf", args=[draft.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "entwurf.pdf" in response["Content-Disposition"]
    assert "ENTWURF" in pages_text(b"".join(response.streaming_content))[0]


def test_the_download_of_confirmed_minutes_is_the_stored_file(client, confirmed, monkeypatch):
    user = UserFactory()
    MembershipFactory(
        body=confirmed.body, person=PersonFactory(user=user), role=Membership.Role.MEMBER
    )
    client.force_login(user)
    for renderer in ("render_pdf", "render_archival"):
        monkeypatch.setattr(pdf, renderer, lambda *a, **k: pytest.fail("rendered again"))

    response = client.get(reverse("protokolle:minutes_pdf", args=[confirmed.pk]))

    stored = ArchivedPdf.objects.get(meeting=confirmed, variant="members")
    with stored.file.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()


def test_the_pdf_download_costs_a_fixed_number_of_queries(
    client, member, reference_document, django_assert_num_queries
):
    big = copy.deepcopy(reference_document)
    big["meeting"]["number"] = 20
    big["meeting"]["agenda"] = [
        {"title": f"Punkt {n}", "results": [{"text": f"Ergebnis {r}"} for r in range(5)]}
        for n in range(60)
    ]
    small = Meeting.objects.get(number=8)
    large = workflow.import_minutes(big)
    client.force_login(member)

    for meeting in (small, large):
        with django_assert_num_queries(11):
            response = client.get(reverse("protokolle:minutes_preview", args=[meeting.pk]))
        assert response.status_code == 200


def test_the_preview_shows_the_minutes_as_the_pdf_has_them(client, draft, member):
    client.force_login(member)
    response = client.get(reverse("protokolle:minutes_preview", args=[draft.pk]))
    assert "protokolle/pdf/document.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert '<article class="minutes-doc is-draft" lang="de"' in html

    def sections(text):
        return re.findall(r'<section aria-labelledby="h-.*?</section>', text, flags=re.S)

    loaded = Meeting.objects.for_minutes().get(pk=draft.pk)
    printed = sections(pdf.render_html(loaded, for_pdf=True))
    assert len(printed) >= 3  # general, agenda, results (and attendance, when taken)
    # The same markup; the PDF's drops the template's indentation (without_layout_whitespace).
    assert [pdf.without_layout_whitespace(section) for section in sections(html)] == printed


def test_the_pdf_document_stands_alone(draft):
    html = pdf.render_html(Meeting.objects.for_minutes().get(pk=draft.pk), for_pdf=True)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="de">' in html
    assert '<div class="draft-mark" aria-hidden="true">ENTWURF</div>' in html
    assert "<nav" not in html and "<link" not in html and "<form" not in html


def test_rendered_at_is_timezone_aware(draft):
    assert pdf.context(draft)["rendered_at"].tzinfo is not None
    assert isinstance(pdf.context(draft)["rendered_at"], datetime.datetime)


# --- the closing block ------------------------------------------------------------------

SIGNATURES = [
    "Cottbus, 21.03.2022",
    "Sitzungsleitung",
    "Sven Guntermann",
    "Werkstattsprecher",
    "Protokoll",
    "Alexander Boldt",
    "Projektmanager",
]


def closing_block(html):
    """The closing block of the minutes' HTML, from its opening tag to the end."""
    return html[html.index('<div class="closing">') :]


def test_the_pdf_ends_with_place_date_and_the_signature_block(draft_pdf):
    last = squeeze(pages_text(draft_pdf)[-1])
    assert_in_order(last, SIGNATURES)
    assert "gez." not in last  # that comes with the electronic seal


def test_the_preview_shows_the_signature_block(client, draft, member):
    client.force_login(member)
    response = client.get(reverse("protokolle:minutes_preview", args=[draft.pk]))
    block = closing_block(response.content.decode())

    assert '<p class="closing-line">Cottbus, 21.03.2022</p>' in block
    chair, taker = block.split('<div class="signature signature-minutes">')
    assert '<p class="signature-role">Sitzungsleitung</p>' in chair
    assert '<p class="signature-name">Sven Guntermann</p>' in chair
    assert '<p class="signature-function">Werkstattsprecher</p>' in chair
    assert '<p class="signature-role">Protokoll</p>' in taker
    assert '<p class="signature-name">Alexander Boldt</p>' in taker
    assert '<p class="signature-function">Projektmanager</p>' in taker


def test_a_name_not_recorded_leaves_its_column_to_be_signed(reference_document):
    reference_document["meeting"]["chair"] = None
    reference_document["meeting"]["minute_taker"]["function"] = None
    meeting = imported(reference_document)

    chair, taker = closing_block(pdf.render_html(meeting, for_pdf=True)).split(
        '<div class="signature signature-minutes">'
    )
    last = squeeze(pages_text(pdf.render_pdf(meeting))[-1])

    assert '<p class="signature-role">Sitzungsleitung</p>' in chair
    assert "signature-name" not in chair and "signature-function" not in chair
    assert '<p class="signature-name">Alexander Boldt</p>' in taker
    assert "signature-function" not in taker
    assert_in_order(
        last, ["Cottbus, 21.03.2022", "Sitzungsleitung", "Protokoll", "Alexander Boldt"]
    )
    assert squeeze("SitzungsleitungProtokoll") in last


def test_without_a_closing_line_the_signature_block_stays(reference_document):
    reference_document["meeting"]["closing"] = None
    html = pdf.render_html(imported(reference_document), for_pdf=True)

    assert "closing-line" not in html
    assert '<p class="signature-name">Sven Guntermann</p>' in closing_block(html)


def test_the_signature_block_is_never_split_from_the_closing_line(reference_document):
    """Push the block down a page 1 mm at a time: where it first leaves page 1, all of it
    goes to page 2, the place and date line included."""
    first_item = reference_document["meeting"]["agenda"][0]
    first_item.update(title="Begrüßung", results=first_item["results"][:1])
    reference_document["meeting"]["agenda"] = [first_item]
    html = pdf.render_html(imported(reference_document), for_pdf=True)

    def pages(spacer_mm):
        spaced = html.replace(
            '<div class="closing">',
            f'<div style="height: {spacer_mm}mm"></div><div class="closing">',
            1,
        )
        return [squeeze(text) for text in pages_text(pdf.write_pdf(spaced, b"{}"))]

    fits, moves = 0, 200
    assert len(pages(fits)) == 1 and len(pages(moves)) >= 2
    while moves - fits > 1:
        middle = (fits + moves) // 2
        if len(pages(middle)) == 1:
            fits = middle
        else:
            moves = middle

    first, second = pages(moves)
    assert_in_order(second, SIGNATURES)
    assert squeeze(SIGNATURES[0]) not in first  # the chair's name is in the table above
    assert_in_order(pages(fits)[0], SIGNATURES)


def test_layout_whitespace_goes_but_word_spaces_stay():
    html = (
        '<li class="result">\n  <span class="kind">Beschluss:</span> <span class="result-text">'
        "a <em>b</em> <strong>c</strong></span>\n  <p>v</p>\n</li>\n"
        '<li> <span class="kind">X:</span> <div class="result-text"><p>1</p>\n<p>2</p></div>\n</li>'
    )
    assert pdf.without_layout_whitespace(html) == (
        '<li class="result"><span class="kind">Beschluss:</span> <span class="result-text">'
        "a <em>b</em> <strong>c</strong></span>\n  <p>v</p></li>"
        '<li><span class="kind">X:</span> <div class="result-text"><p>1</p><p>2</p></div></li>'
    )


def test_a_one_paragraph_result_is_a_span_and_more_keep_their_blocks():
    from protokolle.templatetags.minutes import result_text

    assert result_text("Die *Werkstatt* nimmt\nden Bericht zur Kenntnis.") == (
        '<span class="result-text">Die <em>Werkstatt</em> nimmt\nden Bericht zur Kenntnis.</span>'
    )
    two = result_text("Erster Absatz.\n\nZweiter Absatz.")
    assert two.startswith('<div class="result-text"><p>Erster Absatz.</p>')
    assert "<p>Zweiter Absatz.</p>" in two
    listed = result_text("- eins\n- zwei")
    assert listed.startswith('<div class="result-text"><ul>')
    assert result_text("<script>x</script>") == (
        '<span class="result-text">&lt;script&gt;x&lt;/script&gt;</span>'
    )
