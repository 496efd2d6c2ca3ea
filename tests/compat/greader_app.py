"""A Google Reader API app as the tests drive it: form-encoded requests, ``GoogleLogin auth=`` after sign-in,
the write token ``T`` on writes, through the whole Django stack (middleware included)."""

from urllib.parse import urlencode

from django.test import Client

FORM = "application/x-www-form-urlencoded"

BASE = "/api/greader"
API = BASE + "/reader/api/0/"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
KEPT_UNREAD = "user/-/state/com.google/kept-unread"


class GReaderApp:
    def __init__(self, *, address: str = "198.51.100.7"):
        self.client = Client(REMOTE_ADDR=address)
        self.auth = ""
        self.write_token = ""

    def login(self, email: str, password: str, **extra):
        body = urlencode({"Email": email, "Passwd": password, **extra})
        response = self.client.post(BASE + "/accounts/ClientLogin", body, content_type=FORM)
        if response.status_code == 200:
            lines = dict(line.split("=", 1) for line in response.content.decode().splitlines() if "=" in line)
            self.auth = lines.get("Auth") or response.json()["Auth"]
        return response

    def headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"GoogleLogin auth={self.auth}"}

    def get(self, path: str, params=None):
        return self.client.get(API + path, params or {}, **self.headers())

    def post(self, path: str, data=(), *, with_token: bool = True, query: str = ""):
        """``data``: (name, value) pairs, names repeated for lists (``i`` of many items), as apps send them."""
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        if with_token:
            if not self.write_token:
                self.write_token = self.get("token").content.decode().strip()
            pairs.append(("T", self.write_token))
        return self.client.post(API + path + query, urlencode(pairs), content_type=FORM, **self.headers())
