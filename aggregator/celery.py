"""The Celery application.

With ``REDIS_URL`` set, tasks go through Redis to separate worker processes. Without it (the embedded
default), tasks run eagerly in the calling thread: ``python manage.py serve`` needs no broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")

app = Celery("aggregator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
