import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factu.settings")

app = Celery("factu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
