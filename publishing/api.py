"""API: write and delete one's posts; a person's public microblog in numbers."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from publishing import posting, selectors
from timelines.serializers import post_json

router = Router(tags=["publishing"])


class PostIn(Schema):
    text: str = Field(max_length=20000, description="plain text; at most CHORUS_POST_MAX_CHARS as a person counts")
    in_reply_to: int | str | None = Field(None, description="the id of a post you can see, or an http(s) URL")


class PersonOut(Schema):
    username: str
    name: str
    profile_url: str
    feed_url: str
    followers_count: int
    following_count: int
    posts_count: int


@router.post("/posts", response={201: dict}, url_name="posts")
def post_create(request: HttpRequest, payload: PostIn):
    try:
        post = posting.post_create(user=request.user, text=payload.text, in_reply_to=payload.in_reply_to)
    except posting.PostError as error:
        raise HttpError(400, str(error)) from None
    return 201, post_json(post)  # as stored, its source with it


@router.delete("/posts/{post_id}", response={204: None}, url_name="post")
def post_delete(request: HttpRequest, post_id: int):
    try:
        posting.post_delete(user=request.user, post_id=post_id)
    except posting.PostNotFound as error:
        raise HttpError(404, str(error)) from None
    return 204, None


class HandleOut(Schema):
    handle: str
    name: str


@router.get("/handles", response=list[HandleOut], url_name="handles")
def handles(request: HttpRequest, q: str = Query("", max_length=100, description="the start of a handle")):
    """Handles of the people and accounts you follow that start with ``q``: the compose box completes them."""
    return selectors.handle_completions(user=request.user, prefix=q)


@router.get("/people/{username}", response=PersonOut, auth=None, url_name="person")
def person(request: HttpRequest, username: str):
    person = selectors.person_named(username)
    if person is None:
        raise HttpError(404, "No such person here.")
    return selectors.person_json(person)
