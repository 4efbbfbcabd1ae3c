"""Several processes writing at once (web, worker and beat do) never lose an update and,
on SQLite, never fail with "database is locked": WAL, a busy timeout and BEGIN IMMEDIATE.
"""

import pytest

from factu.models import Account
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together

pytestmark = pytest.mark.slow

WRITER = (
    DJANGO_CHILD
    + """
from django.db import transaction
from factu.models import Account
Account.objects.get(slug="counter")  # connected
"""
    + AT_THE_STARTING_LINE
    + """
for _ in range({n}):
    with transaction.atomic():
        account = Account.objects.select_for_update().get(slug="counter")
        account.name = str(int(account.name) + 1)
        account.save(update_fields=["name"])
"""
)


def test_concurrent_read_modify_write_transactions_all_commit(transactional_db, tmp_path):
    Account.objects.create(name="0", slug="counter")
    processes, per_process = 4, 40
    go = tmp_path / "go"
    # all at once, so that their transactions overlap
    run_together(go, [WRITER.format(n=per_process, go=go)] * processes, timeout=180)
    assert Account.objects.get(slug="counter").name == str(processes * per_process)
