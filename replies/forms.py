"""The notification settings form (the page; the API takes the same fields)."""

from django import forms

from accounts.models import Identity
from replies.models import NotificationSettings


class NotificationSettingsForm(forms.Form):
    method = forms.ChoiceField(choices=NotificationSettings.Method.choices, widget=forms.RadioSelect,
                               label="Tell me of new replies by")  # fmt: skip
    xmpp_jid = forms.ChoiceField(required=False, label="XMPP address")
    time_zone = forms.CharField(max_length=64, label="My time zone", help_text="e.g. Europe/Paris")
    quiet_start = forms.TimeField(required=False, label="Quiet from", widget=forms.TimeInput(attrs={"type": "time"}))
    quiet_end = forms.TimeField(required=False, label="until", widget=forms.TimeInput(attrs={"type": "time"}))
    digest_hour = forms.IntegerField(min_value=0, max_value=23, label="Daily digest at (hour)")

    def __init__(self, data=None, *, user, instance: NotificationSettings):
        initial = {name: getattr(instance, name) for name in self.declared_fields}
        super().__init__(data, initial=initial)
        jids = Identity.objects.filter(user=user, kind=Identity.Kind.XMPP, verified=True).values_list("value", flat=True)
        self.fields["xmpp_jid"].choices = [("", "the first verified one"), *((jid, jid) for jid in jids)]
