"""The WSGI application, and the process tuning every web worker gets with it.

Django, DRF and the app build some hundred thousand long-lived objects at start-up and on
the first request (URL patterns, translation catalogues, serializer and model metadata).
Left in the collector's generations, every full collection walks all of them: measured on
``POST /api/v1/invoices`` under load, collections of the oldest generation paused a worker
for up to 240 ms, and a worker paused while holding a chain's lock holds up every other
writer of that chain. So those objects are built here and frozen (``gc.freeze``): the
collector leaves them alone and only the objects of requests are collected.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factu.settings")
application = get_wsgi_application()


def freeze_start_up_objects() -> None:
    """Build what the first request would build and keep, then freeze everything alive."""
    import gc

    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    resolver = get_resolver()
    resolver.resolve("/")  # imports every app's URL patterns
    resolver.reverse_dict  # noqa: B018 - builds the reverse lookup tables
    with translation.override(settings.LANGUAGE_CODE):
        translation.gettext("Factu")  # loads the catalogues
    gc.collect()
    gc.freeze()


freeze_start_up_objects()
