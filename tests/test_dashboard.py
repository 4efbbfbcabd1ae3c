from django.urls import reverse
from django.utils import timezone

from factu.models import WorkerHeartbeat

STALE_WARNING = "no se enviarán a la AEAT"


def test_dashboard_warns_when_no_worker_has_been_seen(login, owner, account):
    client = login(owner)
    page = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    assert STALE_WARNING in page


def test_dashboard_is_quiet_while_the_worker_beats(login, owner, account):
    WorkerHeartbeat.objects.create(name="worker", seen_at=timezone.now())
    client = login(owner)
    page = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    assert STALE_WARNING not in page


def test_dashboard_warns_again_when_the_heartbeat_is_stale(login, owner, account, settings):
    seen = timezone.now() - timezone.timedelta(seconds=settings.WORKER_STALE_AFTER_SECONDS + 5)
    WorkerHeartbeat.objects.create(name="worker", seen_at=seen)
    client = login(owner)
    page = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    assert STALE_WARNING in page


def test_dashboard_shows_the_current_taxpayer(login, owner, account, taxpayer):
    client = login(owner)
    page = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    assert taxpayer.nif in page and taxpayer.name in page


def test_empty_account_tells_the_owner_what_to_do(login, db):
    from factu.models import Account, Membership, Role
    from tests.conftest import make_user

    empty = Account.objects.create(name="Vacía", slug="vacia")
    user = make_user("new@example.com")
    Membership.objects.create(user=user, account=empty, role=Role.OWNER)
    page = login(user).get(reverse("dashboard", args=["vacia"])).content.decode()
    assert "Añadir el primer contribuyente" in page
