"""The one check of a redirect target taken from a request (``next``): a relative path on this site only."""

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def is_local_path(target: str) -> bool:
    """A path of this site (``/x?y``): no scheme, no host, nothing a browser would read as another origin
    (``//evil``, ``/\\evil``, ``https:evil``); Django's check rejects those."""
    return target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None)


def redirect_back(request: HttpRequest, fallback: str, *args) -> HttpResponseRedirect:
    """To the form's ``next`` when it is a path of this site, else to the URL named ``fallback``."""
    target = request.POST.get("next", "")
    if target and is_local_path(target):
        return redirect(target)
    return redirect(fallback, *args)
