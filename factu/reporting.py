"""What error reports (the admins' 500 mail, the debug page) may show of the settings.

Django hides settings whose *names* look secret (``SECRET_KEY``, ``...PASSWORD``). A broker,
cache or database URL carries its password inside the value (``redis://:pw@host/0``) under a
name that looks harmless, so the password part of every URL is masked as well.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", re.IGNORECASE)


class CredentialsFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        value = super().cleanse_setting(key, value)
        if isinstance(value, str):
            return URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}@", value)
        return value
