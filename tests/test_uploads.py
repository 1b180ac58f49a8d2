"""The upload check reads ZIP archives (office files) at a bounded cost, whatever they claim.

A 2 MB .odt whose ``mimetype`` entry unpacked to 2 GiB once took a worker to 4.3 GB:
the check read the entry whole. These archives are built by hand, so that they can
lie in their headers the way an attacker's would.
"""

import bz2
import io
import random
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from protokolle import uploads
from protokolle.admin import AdminAttachmentForm

MB = 1024 * 1024
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
# What the check may allocate at its peak: the archive's directory and a few reads.
MEMORY_BOUND = 4 * MB


def deflated_zeros(megabytes):
    """A raw deflate stream that unpacks to ``megabytes`` MiB of zero bytes, and its CRC.

    Each MiB is compressed once and repeated: a full flush ends a block on a byte
    boundary and forgets the window, so the blocks can be strung together.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MB)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    return block * megabytes + compressor.flush(), crc


def build_zip(entries):
    """A ZIP archive of ``(name, method, data as stored, crc, declared size)`` entries.

    The declared (unpacked) size is written into the local header and the central
    directory as given, true or not.
    """
    out, directory = bytearray(), bytearray()
    for name, method, data, crc, size in entries:
        raw = name.encode()
        offset = len(out)
        # Local file header, then the data; date 1980-01-01.
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size, len(raw), 0
        )
        out += raw + data
        directory += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(raw),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        directory += raw
    count = len(entries)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(out), 0)
    return bytes(out + directory + end)


def odt_bomb(megabytes, declared=None):
    """An .odt whose ``mimetype`` entry unpacks to ``megabytes`` MiB; its headers
    declare ``declared`` bytes (the true size when None)."""
    data, crc = deflated_zeros(megabytes)
    size = megabytes * MB if declared is None else declared
    return build_zip([("mimetype", zipfile.ZIP_DEFLATED, data, crc, size)])


def checked(name, content):
    """Run the check on an upload; return the error's code (None when accepted) and the
    peak of memory it allocated."""
    upload = SimpleUploadedFile(name, content)
    tracemalloc.start()
    try:
        uploads.check(upload)
        code = None
    except ValidationError as error:
        code = error.code
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return code, peak


def valid_odt(compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # ODF writes the mimetype first and stored; some tools deflate it.
        archive.writestr("mimetype", ODT_MIMETYPE, compress_type=compression)
        archive.writestr("content.xml", "<office:document-content/>" * 200)
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
    return buffer.getvalue()


def valid_docx():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document>" + "<w:p/>" * 5000 + "</w:document>")
        archive.writestr("word/media/image1.png", bytes(range(256)) * 100)
    return buffer.getvalue()


# --- what must still pass -------------------------------------------------------------


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_small_valid_odt_is_accepted(compression):
    code, peak = checked("protokoll.odt", valid_odt(compression))
    assert code is None
    assert peak < MEMORY_BOUND


def test_a_valid_docx_is_accepted():
    assert checked("bericht.docx", valid_docx())[0] is None


def test_the_mimetype_may_end_with_a_line_break():
    content = build_zip(
        [
            (
                "mimetype",
                zipfile.ZIP_STORED,
                ODT_MIMETYPE + b"\n",
                zlib.crc32(ODT_MIMETYPE + b"\n"),
                40,
            )
        ]
    )
    assert checked("text.odt", content)[0] is None


# --- zip bombs --------------------------------------------------------------------------


def test_a_mimetype_entry_that_declares_200_mb_is_not_unpacked():
    content = odt_bomb(200)
    assert len(content) < MB  # 200 MiB of zeros packed into some 200 KB

    code, peak = checked("bombe.odt", content)

    assert code == "content"
    assert peak < MEMORY_BOUND


def test_a_mimetype_entry_that_lies_about_its_size_is_read_only_a_few_bytes():
    # The headers say 39 bytes, like a real ODT's; the entry unpacks to 200 MiB.
    content = odt_bomb(200, declared=len(ODT_MIMETYPE))

    code, peak = checked("bombe.odt", content)

    assert code == "content"
    assert peak < MEMORY_BOUND


def test_entries_packed_with_bzip2_are_refused_before_unpacking():
    # zipfile unpacks bzip2 without a bound on its output: a few hundred compressed
    # bytes that claim to be 39 come out as 20 MiB in one step, before zipfile cuts
    # them to the declared size. Office programs write stored or deflated only.
    data = bz2.compress(bytes(20 * MB))
    assert len(data) < 1000
    content = build_zip([("mimetype", zipfile.ZIP_BZIP2, data, zlib.crc32(ODT_MIMETYPE), 39)])

    code, peak = checked("bombe.odt", content)

    assert code == "content"
    assert peak < MEMORY_BOUND


def test_an_entry_that_claims_more_than_deflate_can_pack_is_refused():
    # 10 bytes stored that claim to unpack to 1 GiB: no method office files use does that.
    content = build_zip(
        [
            ("[Content_Types].xml", zipfile.ZIP_STORED, b"<Types/>", zlib.crc32(b"<Types/>"), 8),
            ("word/document.xml", zipfile.ZIP_DEFLATED, b"\x03\x00" * 5, 0, 1024 * MB),
        ]
    )
    assert checked("bericht.docx", content)[0] == "content"


def test_a_document_that_would_unpack_to_more_than_a_gigabyte_is_refused():
    # Six entries of 200 MiB each, honestly declared: 1.2 GiB from a 1.2 MB file.
    zeros, crc = deflated_zeros(200)
    entries = [("[Content_Types].xml", zipfile.ZIP_STORED, b"<Types/>", zlib.crc32(b"<Types/>"), 8)]
    entries += [
        (f"word/media/image{index}.bmp", zipfile.ZIP_DEFLATED, zeros, crc, 200 * MB)
        for index in range(6)
    ]
    entries.append(("word/document.xml", zipfile.ZIP_STORED, b"<w/>", zlib.crc32(b"<w/>"), 4))

    code, peak = checked("bericht.docx", build_zip(entries))

    assert code == "inflated"
    assert peak < MEMORY_BOUND


def test_an_archive_with_a_huge_directory_is_not_parsed():
    # zipfile parses the whole central directory into objects: 20 MB of directory
    # take over 100 MB. The check refuses to read a directory beyond its bound.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for index in range(30_000):
            archive.writestr(f"word/{index:0>80}", b"")
    content = buffer.getvalue()
    assert len(content) > 5 * MB

    code, peak = checked("bericht.docx", content)

    assert code == "content"
    assert peak < MEMORY_BOUND


# --- damaged archives ----------------------------------------------------------------------


def test_damaged_archives_are_refused_never_crash():
    """Truncated or altered office files give the form's message, not a server error."""
    rng = random.Random(12)
    originals = [("text.odt", valid_odt(zipfile.ZIP_DEFLATED)), ("bericht.docx", valid_docx())]
    for name, original in originals:
        variants = [original[:cut] for cut in range(4, len(original), 97)]
        for _ in range(150):
            damaged = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                damaged[rng.randrange(4, len(damaged))] = rng.randrange(256)
            variants.append(bytes(damaged))
        for content in variants:
            try:
                uploads.check(SimpleUploadedFile(name, content))
            except ValidationError:
                pass


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bericht\x00.pdf", "bericht\n.pdf", "fdp.\u202eexe.pdf"])
def test_a_name_with_control_characters_is_refused(name):
    upload = SimpleUploadedFile("x.pdf", b"%PDF-1.7")
    upload._name = name  # Django's parser drops them; names can reach the check otherwise
    with pytest.raises(ValidationError) as error:
        uploads.check(upload)
    assert error.value.code == "control"


@pytest.mark.django_db
def test_the_admin_checks_attachments_as_the_editor_does():
    fake = SimpleUploadedFile("bericht.pdf", b"MZ\x90\x00 not a PDF", "application/pdf")
    form = AdminAttachmentForm(data={"position": 0, "name": "Bericht"}, files={"file": fake})
    assert not form.is_valid()
    assert "file" in form.errors
    real = SimpleUploadedFile("bericht.pdf", b"%PDF-1.7\n%\xe2\xe3\n", "application/pdf")
    form = AdminAttachmentForm(data={"position": 0, "name": "Bericht"}, files={"file": real})
    form.is_valid()
    assert "file" not in form.errors
