"""A picture (or any binary file) sent as a follow list: a clear refusal, nothing stored (it answered 500)."""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tokens import issue_token
from aggregator.models import FollowImport, Subscription

pytestmark = pytest.mark.django_db


def png() -> bytes:
    """A real 2x2 PNG: signature, IHDR, IDAT, IEND (NULs, CRs and LFs in its binary chunks)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\x00\xff" * 2)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))  # fmt: skip


def upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("avatar.png", png(), content_type="image/png")


@pytest.mark.parametrize("path", ["/api/v1/follow-lists", "/api/v1/opml"])
def test_a_picture_sent_to_the_import_api_is_a_400_and_nothing_is_stored(client, alice, path):
    response = client.post(path, {"file": upload()}, HTTP_AUTHORIZATION=f"Bearer {issue_token(user=alice)}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("not a text file (it holds binary data)")
    assert not FollowImport.objects.exists() and not Subscription.objects.exists()


def test_a_picture_sent_to_the_import_form_says_so_and_imports_nothing(client, alice):
    client.force_login(alice)
    response = client.post("/subscriptions/import-list/", {"file": upload()}, follow=True)
    assert response.status_code == 200
    assert "Nothing was imported: not a text file (it holds binary data)" in response.content.decode()
    assert not FollowImport.objects.exists() and not Subscription.objects.exists()


def test_a_csv_with_a_lone_carriage_return_in_a_field_is_refused_as_csv(client, alice):
    body = b"Account address,Show boosts\nbob@other.example\rcarol@other.example,true\n"
    response = client.post("/api/v1/follow-lists", {"file": SimpleUploadedFile("following_accounts.csv", body)},
                           HTTP_AUTHORIZATION=f"Bearer {issue_token(user=alice)}")  # fmt: skip
    assert response.status_code == 400 and response.json()["detail"].startswith("not a valid CSV file")
    assert not FollowImport.objects.exists()
