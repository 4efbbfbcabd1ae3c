"""Every account page is scoped: outsiders get 404, viewers cannot write."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from factu.models import Membership, Role, Taxpayer


def account_pages(account, taxpayer) -> list[str]:
    slug = account.slug
    return [
        reverse("dashboard", args=[slug]),
        reverse("taxpayer_list", args=[slug]),
        reverse("taxpayer_create", args=[slug]),
        reverse("taxpayer_edit", args=[slug, taxpayer.id]),
    ]


def test_owner_sees_every_page_of_the_account(login, owner, account, taxpayer):
    client = login(owner)
    for url in account_pages(account, taxpayer):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", ["outsider", "accountant_elsewhere"])
def test_people_of_other_accounts_get_404_on_every_page(request, login, account, taxpayer, persona):
    client = login(request.getfixturevalue(persona))
    for url in account_pages(account, taxpayer):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"nif": "12345678Z", "name": "X"}).status_code == 404, url
    switch = reverse("switch_taxpayer", args=[account.slug])
    assert client.post(switch, {"taxpayer": taxpayer.id}).status_code == 404


def test_another_accounts_taxpayer_is_404_even_for_a_member(login, owner, account, other_account):
    client = login(owner)
    foreign = other_account.taxpayers.get()
    assert client.get(reverse("taxpayer_edit", args=[account.slug, foreign.id])).status_code == 404
    response = client.post(
        reverse("switch_taxpayer", args=[account.slug]), {"taxpayer": foreign.id}
    )
    assert response.status_code == 404
    assert Membership.objects.get(user=owner).current_taxpayer is None


def test_anonymous_visitors_are_sent_to_login(client, account, taxpayer):
    response = client.get(reverse("dashboard", args=[account.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_viewer_reads_but_cannot_write(login, viewer, account, taxpayer):
    client = login(viewer)
    assert client.get(reverse("taxpayer_list", args=[account.slug])).status_code == 200
    page = client.get(reverse("taxpayer_list", args=[account.slug])).content.decode()
    assert "Nuevo contribuyente" not in page
    response = client.post(
        reverse("taxpayer_create", args=[account.slug]), {"nif": "12345678Z", "name": "Nuevo"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("taxpayer_edit", args=[account.slug, taxpayer.id]),
        {"nif": taxpayer.nif, "name": "Cambiado", "country": "ES"},
    )
    assert response.status_code == 403
    assert Taxpayer.objects.get(pk=taxpayer.pk).name == "Estudio Sol SL"
    assert Taxpayer.objects.filter(account=account).count() == 1


def test_owner_creates_a_taxpayer_with_a_normalised_nif(login, owner, account, taxpayer):
    client = login(owner)
    response = client.post(
        reverse("taxpayer_create", args=[account.slug]),
        {"nif": "es 12345678-z", "name": "Ana Ruiz", "country": "es"},
    )
    assert response.status_code == 302
    created = Taxpayer.objects.get(account=account, name="Ana Ruiz")
    assert (created.nif, created.country) == ("12345678Z", "ES")


def test_taxpayer_form_shows_the_nif_error_next_to_the_field(login, owner, account, taxpayer):
    client = login(owner)
    response = client.post(
        reverse("taxpayer_create", args=[account.slug]),
        {"nif": "12345678A", "name": "Ana Ruiz", "country": "ES"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["nif"] == [
        "El carácter de control del NIF no es correcto: revise el número."
    ]
    assert "revise el número" in response.content.decode()
    assert not Taxpayer.objects.filter(name="Ana Ruiz").exists()


def test_a_nif_is_unique_within_an_account(login, owner, account, taxpayer):
    client = login(owner)
    response = client.post(
        reverse("taxpayer_create", args=[account.slug]),
        {"nif": taxpayer.nif, "name": "Duplicado", "country": "ES"},
    )
    assert response.context["form"].errors["nif"] == [
        "Ya hay un contribuyente con este NIF en la cuenta."
    ]


def test_switcher_remembers_the_choice_across_sessions(client, owner, account, taxpayer):
    second = Taxpayer.objects.create(account=account, nif="12345678Z", name="Zoe Autónoma")
    client.force_login(owner)
    dashboard = reverse("dashboard", args=[account.slug])
    assert client.get(dashboard).context["taxpayer"] == taxpayer
    response = client.post(
        reverse("switch_taxpayer", args=[account.slug]), {"taxpayer": second.id, "next": dashboard}
    )
    assert response.status_code == 302
    client.logout()
    client.force_login(owner)
    page = client.get(dashboard)
    assert page.context["taxpayer"] == second
    assert "Zoe Autónoma" in page.content.decode()


def test_switcher_refuses_an_offsite_next_url(login, owner, account, taxpayer):
    client = login(owner)
    response = client.post(
        reverse("switch_taxpayer", args=[account.slug]),
        {"taxpayer": taxpayer.id, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("dashboard", args=[account.slug])


def test_gestoria_accountant_works_across_all_its_taxpayers(login, other_account):
    from tests.conftest import make_user

    accountant = make_user("contable@gestoria.example")
    Membership.objects.create(user=accountant, account=other_account, role=Role.ACCOUNTANT)
    more = [
        Taxpayer.objects.create(account=other_account, nif=nif, name=name)
        for nif, name in [("B87654323", "Talleres SL"), ("X1234567L", "Marco Rossi")]
    ]
    client = login(accountant)
    for t in more:
        client.post(reverse("switch_taxpayer", args=[other_account.slug]), {"taxpayer": t.id})
        page = client.get(reverse("dashboard", args=[other_account.slug]))
        assert page.context["taxpayer"] == t
        assert (
            client.get(reverse("taxpayer_edit", args=[other_account.slug, t.id])).status_code == 200
        )


def test_user_in_several_accounts_picks_one(login, owner, account, other_account):
    Membership.objects.create(user=owner, account=other_account, role=Role.VIEWER)
    client = login(owner)
    page = client.get(reverse("account_list"))
    assert {a.slug for a in page.context["accounts"]} == {account.slug, other_account.slug}


@pytest.mark.parametrize(
    "gap", [timedelta(days=3, seconds=10), timedelta(minutes=6), timedelta(hours=2)]
)
def test_a_membership_last_used_long_ago_is_refreshed_on_the_next_page(
    login, owner, account, taxpayer, gap
):
    client = login(owner)
    membership = Membership.objects.get(user=owner, account=account)
    long_ago = timezone.now() - gap
    Membership.objects.filter(pk=membership.pk).update(last_used_at=long_ago)
    assert client.get(reverse("dashboard", args=[account.slug])).status_code == 200
    membership.refresh_from_db()
    assert timezone.now() - membership.last_used_at < timedelta(minutes=1)


def test_a_membership_used_a_moment_ago_is_not_written_again(login, owner, account, taxpayer):
    client = login(owner)
    membership = Membership.objects.get(user=owner, account=account)
    recent = timezone.now() - timedelta(minutes=1)
    Membership.objects.filter(pk=membership.pk).update(last_used_at=recent)
    assert client.get(reverse("dashboard", args=[account.slug])).status_code == 200
    membership.refresh_from_db()
    assert membership.last_used_at == recent
