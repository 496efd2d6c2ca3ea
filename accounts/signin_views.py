"""Sign-in views that differ from allauth's."""

from allauth.socialaccount.providers.openid.views import OpenIDLoginView as AllauthOpenIDLoginView
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import render


class OpenIDLoginView(AllauthOpenIDLoginView):
    """The "sign in with your OpenID URL" form. allauth's view also starts a sign-in from a plain GET link
    (``?openid=URL``), which another site could use to sign a visitor in to an account of its choosing
    (login CSRF); here only the form's POST, which carries the CSRF token, starts one."""

    def get(self, request):
        form = self.form_class(initial={
            "openid": request.GET.get("openid", ""),
            "next": request.GET.get(REDIRECT_FIELD_NAME),
            "process": request.GET.get("process"),
        })  # fmt: skip
        return render(request, self.template_name, {"form": form})


openid_login = OpenIDLoginView.as_view()
