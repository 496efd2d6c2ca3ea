"""Who may use the Google Reader API: sign-in (password or app password) under the sign-in limits, sessions that
end with their credential, the write token, scoping to the person, and readable refusals of bad input."""

import pytest
from django.test import Client

from accounts.app_passwords import issue_app_password, revoke_app_password
from accounts.models import AppPassword
from aggregator.models import Subscription
from timelines.models import TimelineEntry

from tests.compat.greader_app import READ, READING_LIST, GReaderApp
from tests.compat.test_greader_sync import followed

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def test_the_email_address_works_as_the_login_and_a_wrong_password_is_a_401(alice):
    assert GReaderApp().login("alice@example.org", PASSWORD).status_code == 200
    refused = GReaderApp().login("alice", "wrong")
    assert refused.status_code == 401 and "password" in refused.json()["detail"]


def test_someone_who_signs_in_with_openid_uses_an_app_password(django_user_model):
    olivia = django_user_model.objects.create_user("olivia", "olivia@example.org")  # no usable password
    app = GReaderApp()
    assert app.login("olivia", issue_app_password(user=olivia, name="NetNewsWire")).status_code == 200
    assert app.get("user-info").json()["userName"] == "olivia"
    assert AppPassword.objects.get(user=olivia).last_used_at is not None


def test_an_app_password_does_not_open_the_sign_in_page(alice):
    secret = issue_app_password(user=alice)
    response = Client().post("/accounts/login/", {"login": "alice", "password": secret})
    assert response.status_code == 200 and "_auth_user_id" not in Client().session


def test_revoking_the_app_password_ends_the_apps_session(alice):
    app = GReaderApp()
    app.login("alice", issue_app_password(user=alice))
    assert app.get("tag/list").status_code == 200
    revoke_app_password(user=alice, app_password_id=AppPassword.objects.get(user=alice).pk)
    assert app.get("tag/list").status_code == 401


def test_changing_the_password_ends_the_apps_session(alice):
    app = GReaderApp()
    app.login("alice", PASSWORD)
    alice.set_password("a new long passphrase")
    alice.save()
    response = app.get("tag/list")
    assert response.status_code == 401 and "ClientLogin" in response.json()["detail"]


def test_a_forged_session_key_is_refused(alice):
    app = GReaderApp()
    app.login("alice", PASSWORD)
    app.auth = app.auth.rsplit("/", 1)[0] + "/" + "0" * 64
    assert app.get("user-info").status_code == 401


def test_failed_app_sign_ins_are_limited_per_address_like_the_sign_in_page(alice):
    stranger = GReaderApp(address="203.0.113.66")
    answers = [stranger.login("alice", f"guess {n}").status_code for n in range(8)]
    assert answers[0] == 401 and answers[-1] == 429
    assert stranger.login("alice", PASSWORD).status_code == 429  # not even checked from there now
    assert GReaderApp(address="198.51.100.20").login("alice", PASSWORD).status_code == 200  # alice elsewhere


def test_writes_need_the_write_token(alice):
    source = followed(alice, "carol", 1)
    app = GReaderApp()
    app.login("alice", PASSWORD)
    post_id = TimelineEntry.objects.get(user=alice).post_id
    missing = app.post("edit-tag", {"i": post_id, "a": READ}, with_token=False)
    assert missing.status_code == 401 and missing["X-Reader-Google-Bad-Token"] == "true"
    assert app.post("subscription/edit", {"s": f"feed/{source.pk}", "ac": "unsubscribe", "T": "x" * 64},
                    with_token=False).status_code == 401  # fmt: skip
    assert not TimelineEntry.objects.get(user=alice).is_read and Subscription.objects.filter(user=alice).exists()
    assert app.post("edit-tag", {"i": post_id, "a": READ}).status_code == 200


def test_bob_cannot_read_or_change_alices_items(alice, bob):
    carol = followed(alice, "carol", 1)
    post_id = TimelineEntry.objects.get(user=alice).post_id
    app = GReaderApp()
    app.login("bob", PASSWORD)
    assert app.post("stream/items/contents", {"i": post_id}).json()["items"] == []
    assert app.get("stream/items/ids", {"s": f"feed/{carol.pk}"}).json()["itemRefs"] == []
    app.post("edit-tag", {"i": post_id, "a": READ})
    assert not TimelineEntry.objects.get(user=alice).is_read
    gone = app.post("subscription/edit", {"s": f"feed/{carol.pk}", "ac": "unsubscribe"})
    assert gone.status_code == 404 and Subscription.objects.filter(user=alice).exists()


def test_anonymous_requests_and_unknown_endpoints_get_json(client, alice):
    assert client.get("/api/greader/reader/api/0/tag/list").json()["detail"]
    app = GReaderApp()
    app.login("alice", PASSWORD)
    unknown = app.get("preference/stream/list")
    assert unknown.status_code == 404 and "not part" in unknown.json()["detail"]


@pytest.mark.parametrize(("params", "complaint"), [
    ({"n": "-1"}, "n must be between"), ({"n": "lots"}, "n must be a whole number"), ({"n": "99999999"}, "n must be"),
    ({"c": "not-a-cursor"}, "bad continuation"), ({"ot": "1e99"}, "ot must be"), ({"s": "user/-/state/nope"}, "unknown stream"),
    ({"s": f"feed/{'9' * 40}"}, None),
])  # fmt: skip
def test_bad_stream_parameters_are_a_readable_4xx(alice, params, complaint):
    followed(alice, "carol", 1)
    app = GReaderApp()
    app.login("alice", PASSWORD)
    response = app.get("stream/items/ids", {"s": READING_LIST, **params})
    if complaint is None:  # a feed nobody has: nothing, not an error
        assert response.status_code == 200 and response.json()["itemRefs"] == []
    else:
        assert 400 <= response.status_code < 500 and complaint in response.json()["detail"]


@pytest.mark.parametrize("item", ["tag:google.com,2005:reader/item/zz", "-5", "0", "1" * 30, "tag:google.com,2005:reader/item/"])
def test_bad_item_ids_are_refused_with_the_id_named(alice, item):
    app = GReaderApp()
    app.login("alice", PASSWORD)
    response = app.post("stream/items/contents", {"i": item})
    assert response.status_code == 400 and "not an item id" in response.json()["detail"]


def test_a_nul_in_a_field_is_refused_before_the_view(alice):
    app = GReaderApp()
    app.login("alice", PASSWORD)
    response = app.post("subscription/quickadd", {"quickadd": "https://carol.example/\x00feed"})
    assert response.status_code == 400 and "control character" in response.json()["detail"]


def test_too_many_items_at_once_are_refused_not_cut(alice):
    app = GReaderApp()
    app.login("alice", PASSWORD)
    response = app.post("stream/items/contents", [("i", str(n)) for n in range(1, 1002)])
    assert response.status_code == 400 and "at most 1000" in response.json()["detail"]


def test_netnewswires_batch_of_a_thousand_reads_goes_through(alice):
    followed(alice, "carol", 3)
    post_ids = list(TimelineEntry.objects.filter(user=alice).values_list("post_id", flat=True))
    app = GReaderApp()
    app.login("alice", PASSWORD)
    long_ids = [f"tag:google.com,2005:reader/item/{pk:016x}" for pk in post_ids]
    long_ids += [f"tag:google.com,2005:reader/item/{pk:016x}" for pk in range(10**9, 10**9 + 997)]  # not hers
    response = app.post("edit-tag", [*(("i", i) for i in long_ids), ("a", READ)])
    assert response.status_code == 200 and not TimelineEntry.objects.filter(user=alice, is_read=False).exists()
