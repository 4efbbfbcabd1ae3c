"""The quarter close: one ZIP of a quarter for every taxpayer of an account, as one job.

The books come from the functions the one-taxpayer ZIP uses (``transfers.books``); the PDFs
are rendered by tasks of their own. Here the tasks are called directly (their messages are
caught and run in order, or out of order); one test runs the whole job on a real worker.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import Client
from clients.services import create_client
from expenses.services import create_expense
from factu.models import Job, Taxpayer
from invoicing import documents, einvoices
from invoicing.models import Series
from invoicing.services import Actor, DraftLine, cancel_invoice, create_draft, issue_invoice
from tests.invoices import give_addresses
from transfers import books, quarter_close, services, tasks
from transfers.housekeeping import purge_files
from verifactu.models import BillingRecord

BASE = "/c/estudio-sol/datos/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sent(monkeypatch):
    """The PDF tasks the job sends, caught instead of queued: (task name, args)."""
    messages: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        quarter_close, "send_now", lambda name, *args: messages.append((name, args))
    )
    return messages


def issue(taxpayer: Taxpayer, owner, day: date, cents: int, count: int = 1) -> list:
    actor = Actor(user=owner)
    series, _ = Series.objects.get_or_create(account=taxpayer.account, taxpayer=taxpayer, code="A")
    client = Client.objects.filter(taxpayer=taxpayer, nif="A28045631").first()
    if client is None:  # the parties' addresses, which a Facturae needs
        client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631"})
        give_addresses(taxpayer, client)
    issued = []
    for _ in range(count):
        draft = create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=day,
            lines=[DraftLine("Consultoría", 100, cents)],
            actor=actor,
        )
        issued.append(issue_invoice(draft, actor=actor))
    return issued


@pytest.fixture
def second(account) -> Taxpayer:
    return Taxpayer.objects.create(account=account, nif="12345678Z", name="Ana Pérez")


@pytest.fixture
def quarter(taxpayer, second, owner, other_account):
    """1T 2025: two invoices (one cancelled later) and an expense of the first taxpayer, one
    invoice of the second; a 2T invoice that stays out; another account's invoice."""
    first_a, first_b = issue(taxpayer, owner, date(2025, 2, 10), 50000, count=2)
    cancel_invoice(first_b, actor=Actor(user=owner), reason="Error")
    issue(taxpayer, owner, date(2025, 5, 5), 70000)
    issue(second, owner, date(2025, 3, 3), 20000)
    create_expense(
        taxpayer, {"date": date(2025, 3, 1), "description": "Licencia anual", "amount_cents": 12100}
    )
    issue(Taxpayer.objects.get(account=other_account), owner, date(2025, 2, 1), 99900)
    return taxpayer


TASKS = {
    "transfers.export_quarter_books": tasks.export_quarter_books,
    "transfers.export_quarter_pdfs": tasks.export_quarter_pdfs,
}


def drain(sent: list) -> list[str]:
    """Run every task sent, in the order sent, those they send included; their results."""
    results = []
    while sent:
        name, args = sent.pop(0)
        results.append(TASKS[name](*args))
    return results


def run(account, owner, sent, *, pdfs=False, einvoices=False) -> Job:
    job = services.start_quarter_close(account, owner, 2025, 1, pdfs=pdfs, einvoices=einvoices)
    assert tasks.export_quarter(str(job.pk)) == "running"
    drain(sent)
    job.refresh_from_db()
    return job


def rows(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_one_zip_holds_every_taxpayers_books_and_records(
    account, owner, quarter, second, sent, media
):
    job = run(account, owner, sent)
    assert job.status == Job.Status.DONE, job.report
    assert job.report["parts"] == 1  # one books part; no PDFs asked for, no PDF task
    assert job.report["filename"] == "factu-estudio-sol-2025-1T.zip"
    with zipfile.ZipFile(media / job.result_path) as archive:
        names = set(archive.namelist())
        records = {
            r.invoice_number: r
            for r in BillingRecord.objects.filter(issuer_nif__in=["B87654323", "12345678Z"])
        }
        xml_names = {n for n in names if "/registros/" in n}
        assert names - xml_names == {
            "contribuyentes.csv",
            "B87654323/facturas.csv",
            "B87654323/gastos.csv",
            "B87654323/resumen-impuestos.csv",
            "12345678Z/facturas.csv",
            "12345678Z/gastos.csv",
            "12345678Z/resumen-impuestos.csv",
        }
        # Every record of the quarter's invoices, alta and anulación, its stored bytes.
        stored = BillingRecord.objects.filter(
            issuer_nif__in=["B87654323", "12345678Z"], invoice_date_text__endswith="-2025"
        ).exclude(invoice_date_text="05-05-2025")
        assert len(xml_names) == stored.count() == 4  # 2 altas + 1 anulación + 1 alta
        for record in stored:
            kind = "anulacion" if record.kind == "anulacion" else "alta"
            number = record.invoice_number
            member = f"{record.issuer_nif}/registros/registro-{kind}-{number}-{record.position}.xml"
            assert archive.read(member) == record.xml.encode("utf-8")
        assert records  # the records exist
        book = rows(archive, "B87654323/facturas.csv")
        assert [r[0] for r in book[1:]] == ["2025-A-001", "2025-A-002"]
        assert book[2][10] == "Anulada" or "nul" in book[2][10].lower()
        assert rows(archive, "12345678Z/facturas.csv")[1][0] == "2025-A-001"
        assert "Licencia anual" in archive.read("B87654323/gastos.csv").decode("utf-8-sig")
        assert "303" in archive.read("12345678Z/resumen-impuestos.csv").decode("utf-8-sig")
        index = rows(archive, "contribuyentes.csv")
        assert index[0][:4] == ["NIF", "Nombre", "Facturas emitidas", "Facturas que cuentan"]
        assert [r[:4] for r in index[1:]] == [
            ["12345678Z", "Ana Pérez", "1", "1"],
            ["B87654323", "Estudio Sol SL", "2", "1"],
        ]
        assert index[2][6] == "605,00"  # the cancelled invoice does not count
        # Another account's taxpayer is never in it.
        assert not [n for n in names if n.startswith("A28045631")]
        assert "99900" not in archive.read("contribuyentes.csv").decode()
    assert (job.report["taxpayers"], job.report["invoices"], job.report["records"]) == (2, 3, 4)
    assert job.done == job.total == 3 + 1
    assert not list((media / "exports").glob("*.part*"))


def test_the_stored_e_invoices_asked_for_are_in_each_taxpayers_folder(
    account, owner, quarter, second, sent, media
):
    job = run(account, owner, sent, einvoices=True)

    assert job.status == Job.Status.DONE, job.report
    with zipfile.ZipFile(media / job.result_path) as archive:
        members = {n for n in archive.namelist() if "/facturas-electronicas/" in n}
        assert members == {
            f"{nif}/facturas-electronicas/{number}.{format}.xml"
            for nif, number in [
                ("B87654323", "2025-A-001"),
                ("B87654323", "2025-A-002"),
                ("12345678Z", "2025-A-001"),
            ]
            for format in ("ubl", "facturae")
        }
        for invoice in books.quarter_invoices(second, 2025, 1):
            for format in ("ubl", "facturae"):
                member = f"12345678Z/facturas-electronicas/{invoice.number}.{format}.xml"
                assert archive.read(member) == einvoices.stored_file(invoice, format).content
    assert job.report["einvoices"] == 6


def test_the_books_are_the_one_taxpayer_exports_byte_for_byte(account, owner, quarter, sent, media):
    close = run(account, owner, sent, pdfs=True)
    single = services.start_export(account, quarter, owner, 2025, 1)
    tasks.export_zip(str(single.pk))
    single.refresh_from_db()
    with (
        zipfile.ZipFile(media / close.result_path) as whole,
        zipfile.ZipFile(media / single.result_path) as one,
    ):
        for name in ("facturas.csv", "gastos.csv", "resumen-impuestos.csv"):
            assert whole.read(f"B87654323/{name}") == one.read(name), name
        for name in ("facturas/2025-A-001.pdf", "facturas/2025-A-002.pdf"):
            assert whole.read(f"B87654323/{name}").startswith(b"%PDF")
        assert whole.read("12345678Z/facturas/2025-A-001.pdf").startswith(b"%PDF")


def test_parts_may_finish_in_any_order_pdfs_before_the_books(
    account, owner, quarter, second, sent, media, settings
):
    settings.TRANSFERS_PDF_CHUNK = 1
    settings.TRANSFERS_BOOKS_CHUNK = 1  # a books part per taxpayer
    job = services.start_quarter_close(account, owner, 2025, 1, pdfs=True)
    tasks.export_quarter(str(job.pk))
    assert [name for name, _ in sent] == ["transfers.export_quarter_books"] * 2
    books = list(sent)
    sent.clear()
    assert [TASKS[name](*args) for name, args in books] == ["part", "part"]
    assert len(sent) == 3  # a PDF task per invoice
    results = [TASKS[name](*args) for name, args in reversed(sent)]
    assert results == ["part", "part", "done"]
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == job.total == 3 * 2 + 1
    with zipfile.ZipFile(media / job.result_path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        pdfs = sorted(n for n in names if n.endswith(".pdf"))
        assert rows(archive, "contribuyentes.csv")[1][0] == "12345678Z"
    assert pdfs == [
        "12345678Z/facturas/2025-A-001.pdf",
        "B87654323/facturas/2025-A-001.pdf",
        "B87654323/facturas/2025-A-002.pdf",
    ]
    assert names[0] == "contribuyentes.csv" and len(names) == len(set(names))
    assert job.report["parts"] == 2 + 3
    assert list((media / "exports").iterdir()) == [media / job.result_path]


def test_a_part_delivered_twice_is_counted_once_and_the_job_still_finishes(
    account, owner, quarter, second, sent, media, settings
):
    """Parts are acknowledged late: a worker that dies after writing a part but before
    acknowledging it gets the part delivered again. The second run writes the same files
    and counts nothing twice, so the set still completes and the figures are right."""
    settings.TRANSFERS_PDF_CHUNK = 1
    settings.TRANSFERS_BOOKS_CHUNK = 1  # a books part per taxpayer, so parts are 0 and 1
    job = services.start_quarter_close(account, owner, 2025, 1, pdfs=True)
    tasks.export_quarter(str(job.pk))
    books = list(sent)
    sent.clear()
    assert [TASKS[name](*args) for name, args in books] == ["part", "part"]
    name, args = books[0]
    assert TASKS[name](*args) == "part"  # delivered again
    # Its PDF part was sent again too: the set completes once, the twin finds the job done.
    assert [TASKS[n](*a) for n, a in sent] == ["part", "part", "done", "skipped"]
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert (job.report["invoices"], job.report["parts"]) == (3, 2 + 3)
    with zipfile.ZipFile(media / job.result_path) as archive:
        assert [row[0] for row in rows(archive, "contribuyentes.csv")[1:]] == [
            "12345678Z",
            "B87654323",
        ]


def test_the_index_follows_the_parts_in_number_order(account, owner, sent, media, settings):
    """Eleven taxpayers, a books part each: part 10 sorts after part 9, not after part 1."""
    settings.TRANSFERS_BOOKS_CHUNK = 1
    nifs = ["12345678Z", "87654321X", "11111111H", "22222222J", "33333333P", "44444444A"]
    nifs += ["55555555K", "66666666Q", "77777777B", "99999999R"]
    for n, nif in enumerate(nifs):
        added = Taxpayer.objects.create(account=account, nif=nif, name=f"Contribuyente {n}")
        issue(added, owner, date(2025, 2, 10), 1000)  # a part closes at its first invoice
    issue(Taxpayer.objects.get(account=account, nif="B87654323"), owner, date(2025, 2, 10), 1000)
    job = run(account, owner, sent)
    assert job.report["parts"] == 11
    with zipfile.ZipFile(media / job.result_path) as archive:
        listed = [row[0] for row in rows(archive, "contribuyentes.csv")[1:]]
    assert len(listed) == 11 and listed == sorted(listed)


def test_a_quarter_close_no_part_moved_for_half_an_hour_is_failed_and_cleaned(
    account, owner, quarter, sent, media
):
    """A worker that died while it joined the parts (or a part's lost message) would leave
    the job running for ever: the hourly housekeeping fails it and removes its files."""
    job = services.start_quarter_close(account, owner, 2025, 1, pdfs=False)
    tasks.export_quarter(str(job.pk))
    parts = media / "exports" / f"{job.pk}.parts"
    assert parts.is_dir()
    later = timezone.now() + quarter_close.STALLED_AFTER
    assert quarter_close.fail_stalled(later - timedelta(minutes=1)) == 0
    assert purge_files(now=later)["stalled"] == 1
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "se ha detenido" in job.report["message"]
    assert not parts.exists()
    assert drain(sent) == ["skipped"]


def test_a_pdf_part_done_before_its_books_part_waits_for_it(
    account, owner, quarter, sent, media, settings, monkeypatch
):
    settings.TRANSFERS_PDF_CHUNK = 1
    real = quarter_close._part_done
    held = []

    def books_last(job_id, update):
        if not held:  # the books part's mark: run the PDF parts before it lands
            held.append(True)
            pdf_results = [TASKS[name](*args) for name, args in list(sent)]
            sent.clear()
            assert pdf_results == ["part"] * 3
        return real(job_id, update)

    monkeypatch.setattr(quarter_close, "_part_done", books_last)
    job = services.start_quarter_close(account, owner, 2025, 1, pdfs=True)
    tasks.export_quarter(str(job.pk))
    assert drain(sent) == ["done"]
    job.refresh_from_db()
    assert job.status == Job.Status.DONE


def test_a_failed_pdf_part_fails_the_job_and_offers_no_zip(
    account, owner, quarter, sent, media, monkeypatch, login, settings
):
    settings.TRANSFERS_PDF_CHUNK = 1
    settings.TRANSFERS_BOOKS_CHUNK = 1
    real = documents.render_pdf

    def broken(invoice):
        if invoice.taxpayer.nif == "12345678Z":
            raise RuntimeError("renderer crashed")
        return real(invoice)

    monkeypatch.setattr(documents, "render_pdf", broken)
    job = run(account, owner, sent, pdfs=True)
    assert job.status == Job.Status.FAILED
    assert job.report["message"].startswith("Error al preparar los PDF: RuntimeError.")
    assert "No se ha generado el ZIP" in job.report["message"] and not job.result_path
    assert list((media / "exports").iterdir()) == []  # no ZIP, no part left
    page = login(owner).get(f"{BASE}trabajos/{job.pk}/").content.decode()
    assert "No se ha generado el ZIP" in page and "descargar/" not in page
    assert login(owner).get(f"{BASE}trabajos/{job.pk}/descargar/").status_code == 404


def test_a_failed_books_part_fails_the_job_and_the_pdf_parts_stop(
    account, owner, quarter, second, sent, media, monkeypatch, settings
):
    settings.TRANSFERS_PDF_CHUNK = 1
    settings.TRANSFERS_BOOKS_CHUNK = 1
    real = books.tax_summary_csv

    def broken(taxpayer, year, quarter):
        if taxpayer.nif == "B87654323":
            raise ValueError("summary crashed")
        return real(taxpayer, year, quarter)

    monkeypatch.setattr(books, "tax_summary_csv", broken)
    job = services.start_quarter_close(account, owner, 2025, 1, pdfs=True)
    tasks.export_quarter(str(job.pk))
    # The books of 12345678Z, of B87654323 (failed), then the three PDF tasks they sent.
    assert drain(sent) == ["part", "failed", "skipped", "skipped", "skipped"]
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and not job.result_path
    assert job.report["message"].startswith("Error inesperado al preparar el ZIP: ValueError.")
    assert list((media / "exports").iterdir()) == []


def test_a_pdf_task_the_broker_refuses_fails_the_job(
    account, owner, quarter, sent, media, monkeypatch
):
    def refused(name, *args):
        if name == quarter_close.PART_TASK:
            raise ConnectionError("broker down")
        sent.append((name, args))

    monkeypatch.setattr(quarter_close, "send_now", refused)
    job = run(account, owner, sent, pdfs=True)
    assert job.status == Job.Status.FAILED
    assert job.report["message"].startswith("Error inesperado al preparar el ZIP: ConnectionError.")
    assert list((media / "exports").iterdir()) == []


def test_queries_are_per_taxpayer_and_chunk_never_per_invoice(
    account, owner, taxpayer, second, sent, monkeypatch
):
    issue(taxpayer, owner, date(2025, 1, 20), 1000, count=2)
    issue(second, owner, date(2025, 1, 20), 1000, count=2)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            job = run(account, owner, sent)
        assert job.status == Job.Status.DONE
        return len(captured)

    few = queries()
    issue(taxpayer, owner, date(2025, 1, 21), 1000, count=6)
    issue(second, owner, date(2025, 1, 21), 1000, count=6)
    assert queries() == few


def test_progress_moves_while_the_books_are_written(account, owner, taxpayer, sent, monkeypatch):
    issue(taxpayer, owner, date(2025, 1, 20), 1000, count=3)
    seen = []
    real = quarter_close._Writer._records

    def watching(self, taxpayer, nif):
        self.progress.flush()
        seen.append(Job.objects.values_list("done", "total").get())
        return real(self, taxpayer, nif)

    monkeypatch.setattr(quarter_close._Writer, "_records", watching)
    job = run(account, owner, sent)
    assert seen == [(3, 4)]
    assert (job.done, job.total) == (4, 4)


# --- the pages ----------------------------------------------------------------------------


def test_an_accountant_starts_it_from_the_page_and_members_only_download(
    login, accountant, viewer, outsider, account, quarter, sent, client, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks.export_quarter, "apply_async", lambda args, **kw: queued.extend(args))
    page = login(accountant).get(BASE + "exportar/cierre/")
    assert page.status_code == 200
    assert "Incluir las facturas en PDF" in page.content.decode()
    assert "Incluir las facturas electrónicas (UBL y Facturae)" in page.content.decode()
    response = login(accountant).post(BASE + "exportar/cierre/", {"year": "2025", "quarter": "1"})
    job = Job.objects.get(kind=Job.Kind.EXPORT_QUARTER)
    assert response.status_code == 302 and response["Location"] == f"{BASE}trabajos/{job.pk}/"
    assert job.params == {"year": 2025, "quarter": 1, "pdfs": False, "einvoices": False}
    assert job.taxpayer is None
    tasks.export_quarter(str(job.pk))
    assert login(viewer).get(f"{BASE}trabajos/{job.pk}/descargar/").status_code == 404
    drain(sent)
    url = f"{BASE}trabajos/{job.pk}/descargar/"
    response = login(viewer).get(url)
    assert response.status_code == 200
    assert "factu-estudio-sol-2025-1T.zip" in response["Content-Disposition"]
    client.logout()
    assert login(outsider).get(url).status_code == 404
    assert (
        login(viewer).post(BASE + "exportar/cierre/", {"year": "2025", "quarter": "1"}).status_code
        == 403
    )


def test_a_bad_period_is_shown_on_the_form(login, accountant):
    response = login(accountant).post(BASE + "exportar/cierre/", {"year": "1999", "quarter": "5"})
    assert response.status_code == 200
    assert not Job.objects.exists()
    assert (
        'aria-invalid="true"' in response.content.decode() or "error" in response.content.decode()
    )


def test_a_quarter_that_has_not_started_is_refused_on_its_field(login, accountant):
    next_year = timezone.localdate().year + 1
    response = login(accountant).post(
        BASE + "exportar/cierre/", {"year": str(next_year), "quarter": "1"}
    )
    assert response.status_code == 200 and not Job.objects.exists()
    assert "Ese trimestre aún no ha empezado" in response.content.decode()


def test_another_accounts_quarter_close_is_404(
    login, owner, other_account, accountant_elsewhere, sent
):
    theirs = run(other_account, accountant_elsewhere, sent)
    assert theirs.status == Job.Status.DONE
    client = login(owner)
    for suffix in ("", "progreso/", "descargar/"):
        assert client.get(f"{BASE}trabajos/{theirs.pk}/{suffix}").status_code == 404, suffix


def test_the_zip_is_purged_like_other_exports(account, owner, taxpayer, sent, media):
    from datetime import timedelta

    from django.utils import timezone

    from transfers.housekeeping import export_retention, purge_files

    job = run(account, owner, sent)
    path = media / job.result_path
    assert path.is_file()
    purge_files(now=timezone.now() + export_retention() + timedelta(minutes=1))
    job.refresh_from_db()
    assert not path.exists() and job.result_path == ""


# --- a real worker ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pdfs_are_rendered_by_a_real_worker_pool(
    account, owner, taxpayer, second, tmp_path, settings
):
    from tests.processes import start_worker, stop, wait_until

    issue(taxpayer, owner, date(2025, 2, 1), 1000, count=5)
    issue(second, owner, date(2025, 2, 1), 1000, count=4)
    media = Path(settings.MEDIA_ROOT)
    worker = start_worker(
        tmp_path / "worker.log", FACTU_MEDIA_ROOT=str(media), TRANSFERS_PDF_CHUNK="2"
    )
    try:
        job = services.start_quarter_close(account, owner, 2025, 1, pdfs=True)
        wait_until(
            lambda: Job.objects.filter(pk=job.pk, status__in=["done", "failed"]).exists(),
            timeout=120,
            what="the quarter close done by the worker",
        )
    finally:
        stop(worker)
        print((tmp_path / "worker.log").read_text(errors="replace")[-3000:])
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.report
    assert job.done == job.total == 9 * 2 + 1
    with zipfile.ZipFile(media / job.result_path) as archive:
        pdfs = [n for n in archive.namelist() if n.endswith(".pdf")]
        assert len(pdfs) == 9
        assert all(archive.read(n).startswith(b"%PDF") for n in pdfs)
    assert job.report["parts"] == 1 + 5  # the books, and the PDFs in chunks of 2 invoices
