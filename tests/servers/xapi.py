"""A local stand-in for the X API v2, speaking its documented JSON shapes, status codes and rate-limit headers.

``XApi(httpserver)`` serves ``/2/users/by/username/{name}`` and ``/2/users/{id}/tweets`` (``since_id``,
``max_results``, expansions into ``includes``), checks the bearer token, and answers 429 with
``x-rate-limit-reset`` once ``limit`` requests of a 15-minute window are spent or when told to.
"""

import json
import re
import time
from dataclasses import dataclass, field

from werkzeug import Request, Response

TOKEN = "test-bearer-token"


@dataclass
class XPost:
    id: int
    text: str
    created_at: str = "2026-11-20T10:00:00.000Z"
    reply_to: tuple[int, str] | None = None  # (post id, its author's username)
    mentions: list[str] = field(default_factory=list)


@dataclass
class XAccount:
    id: str
    username: str
    name: str
    posts: list[XPost] = field(default_factory=list)


class XApi:
    def __init__(self, httpserver, *, limit: int = 900) -> None:
        self.accounts: dict[str, XAccount] = {}
        self.limit = limit
        self.spent = 0
        self.reset_at = int(time.time()) + 900
        self.force_429 = False
        self.requests: list[Request] = []
        httpserver.expect_request(re.compile(r"^/2/.*")).respond_with_handler(self._handle)
        self.base = httpserver.url_for("/").rstrip("/")

    def add(self, username: str, *, id: str, name: str = "") -> XAccount:
        account = XAccount(id=id, username=username, name=name or username.title())
        self.accounts[username.lower()] = account
        return account

    def _headers(self) -> dict[str, str]:
        return {"x-rate-limit-limit": str(self.limit), "x-rate-limit-remaining": str(max(self.limit - self.spent, 0)),
                "x-rate-limit-reset": str(self.reset_at)}  # fmt: skip

    def _json(self, document: dict, status: int = 200) -> Response:
        return Response(json.dumps(document), status=status, headers=self._headers(), content_type="application/json")

    def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(json.dumps({"title": "Unauthorized", "type": "about:blank", "status": 401,
                                        "detail": "Unauthorized"}), status=401, content_type="application/json")  # fmt: skip
        self.spent += 1
        if self.force_429 or self.spent > self.limit:
            return self._json({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                               "status": 429}, status=429)  # fmt: skip
        if match := re.fullmatch(r"/2/users/by/username/(\w+)", request.path):
            return self._user(match.group(1))
        if request.path == "/2/users":
            return self._users_by_id(request.args.get("ids", "").split(","))
        if match := re.fullmatch(r"/2/users/(\d+)/tweets", request.path):
            return self._tweets(match.group(1), request.args)
        return self._json({"title": "Not Found", "status": 404, "type": "about:blank"}, status=404)

    def _user(self, username: str) -> Response:
        account = self.accounts.get(username.lower())
        if account is None:
            return self._json({"errors": [{
                "value": username, "detail": f"Could not find user with username: [{username}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "username",
                "resource_id": username, "type": "https://api.twitter.com/2/problems/resource-not-found",
            }]})  # fmt: skip
        return self._json({"data": {"id": account.id, "name": account.name, "username": account.username,
                                    "profile_image_url": "https://pbs.twimg.com/profile_images/1/a_normal.jpg"}})  # fmt: skip

    def _users_by_id(self, ids: list[str]) -> Response:
        by_id = {a.id: a for a in self.accounts.values()}
        found = [by_id[i] for i in ids if i in by_id]
        document: dict = {}
        if found:
            document["data"] = [{"id": a.id, "name": a.name, "username": a.username} for a in found]
        missing = [i for i in ids if i not in by_id]
        if missing:
            document["errors"] = [{
                "value": i, "detail": f"Could not find user with ids: [{i}].", "title": "Not Found Error",
                "resource_type": "user", "parameter": "ids", "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            } for i in missing]  # fmt: skip
        return self._json(document)

    def _tweets(self, user_id: str, args) -> Response:
        account = next((a for a in self.accounts.values() if a.id == user_id), None)
        if account is None:
            return self._json({"errors": [{"title": "Not Found Error", "detail": f"Could not find user with id: [{user_id}].",
                                           "type": "https://api.twitter.com/2/problems/resource-not-found"}]})  # fmt: skip
        since = int(args.get("since_id", "0") or 0)
        before = int(args.get("pagination_token", "0") or 0) or float("inf")  # the token: an id to go below
        limit = min(max(int(args.get("max_results", "10")), 5), 100)
        matching = sorted((p for p in account.posts if since < p.id < before), key=lambda p: p.id, reverse=True)
        posts = matching[:limit]
        if not posts:
            return self._json({"meta": {"result_count": 0}})
        data, users, tweets = [], {account.id: account}, []
        for post in posts:
            item = {"id": str(post.id), "text": post.text.replace("&", "&amp;").replace("<", "&lt;"),
                    "author_id": account.id, "created_at": post.created_at,
                    "edit_history_tweet_ids": [str(post.id)]}  # fmt: skip
            if post.mentions:
                item["entities"] = {"mentions": [
                    {"start": post.text.find("@" + m), "end": post.text.find("@" + m) + len(m) + 1, "username": m}
                    for m in post.mentions
                ]}  # fmt: skip
            if post.reply_to:
                target_id, target_author = post.reply_to
                item["referenced_tweets"] = [{"type": "replied_to", "id": str(target_id)}]
                item["in_reply_to_user_id"] = "9" + str(target_id)[-5:]
                tweets.append({"id": str(target_id), "author_id": item["in_reply_to_user_id"], "text": "..."})
                users[item["in_reply_to_user_id"]] = XAccount(item["in_reply_to_user_id"], target_author, target_author)
            data.append(item)
        includes = {"users": [{"id": u.id, "name": u.name, "username": u.username} for u in users.values()]}
        if tweets:
            includes["tweets"] = tweets
        meta = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        if len(matching) > limit:
            meta["next_token"] = str(posts[-1].id)
        return self._json({"data": data, "includes": includes, "meta": meta})
