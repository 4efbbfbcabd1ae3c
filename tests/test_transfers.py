"""CSV imports (clients, historical invoices) and the gestoría's ZIP, run as background jobs.

The tasks are called directly (no worker); one test checks that the view enqueues the task
only once the transaction commits.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clients.models import Client
from clients.services import create_client
from expenses import summaries
from expenses.receipts import attach_receipt
from expenses.services import create_expense
from factu import jobs
from factu.models import Job, Taxpayer
from invoicing import einvoices, imported
from invoicing.models import Invoice, InvoiceEvent, InvoiceStatus, Series
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice
from tests.invoices import give_addresses
from transfers import services, tasks
from transfers.csvfile import decode, detect_delimiter, normalize_header
from verifactu.models import BillingRecord, FiscalInvoice

BASE = "/c/estudio-sol/datos/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ALL = Job.Mode.ALL_OR_NOTHING
VALID = Job.Mode.VALID_ONLY


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_file(rows: list, sep: str = ";", encoding: str = "utf-8", bom: bool = False):
    """Rows as lists are written by the csv module (quoting as needed); strings as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    for row in rows:
        if isinstance(row, str):
            buffer.write(row + "\r\n")
        else:
            writer.writerow(row)
    text = buffer.getvalue()
    data = text.encode(encoding)
    if bom:
        data = codecs.BOM_UTF8 + data
    return data


def start(taxpayer, owner, kind, data: bytes, mode=ALL, name="datos.csv") -> Job:
    return services.start_import(
        taxpayer.account, taxpayer, owner, kind, SimpleUploadedFile(name, data), mode
    )


def run_clients(taxpayer, owner, data, mode=ALL) -> Job:
    job = start(taxpayer, owner, Job.Kind.IMPORT_CLIENTS, data, mode)
    tasks.import_clients(str(job.pk))
    job.refresh_from_db()
    return job


def run_invoices(taxpayer, owner, data, mode=ALL) -> Job:
    job = start(taxpayer, owner, Job.Kind.IMPORT_INVOICES, data, mode)
    tasks.import_invoices(str(job.pk))
    job.refresh_from_db()
    return job


def rejected(job: Job) -> set[tuple[int, str]]:
    return {(e["row"], e["field"]) for e in job.errors}


CLIENT_HEADER = "nombre;nif;email;cp;ciudad;pais;tipo_id;id_extranjero;recargo"
CLIENT_ROWS = [
    CLIENT_HEADER,
    "Acme SL;A28045631;admin@acme.es;28013;Madrid;ES;;;no",  # 2 ok
    "Mal NIF SL;B12345678;;28001;Madrid;ES;;;no",  # 3 bad checksum
    "Código Malo SL;B65410011;;99999;Madrid;;;;",  # 4 bad postal code
    "Lisboa Lda;;;1100-053;Lisboa;PT;02;PT501964843;no",  # 5 ok, foreign
    "Repetida SL;A28045631;;;;ES;;;",  # 6 NIF repeated in the file
    "Recargo Raro;B65410011;;;;ES;;;quizá",  # 7 bad recargo
    ";;;;;;;;",  # 8 blank: skipped
    "Sin Nombre;;;;;ES;;;",  # 9 no NIF for a Spanish client
]


# --- reading CSV ---------------------------------------------------------------------------


def test_headers_normalise_accents_case_and_spaces():
    assert normalize_header(" Código Postal* ") == "codigo_postal"
    assert normalize_header("País") == "pais"
    assert normalize_header("E-mail") == "e_mail"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + "Año;ñ".encode(), "UTF-8 con BOM"),
        ("Año;ñ".encode(), "UTF-8"),
        ("Año;ñ".encode("cp1252"), "Windows-1252"),
        ("Año;ñ".encode("utf-16"), "UTF-16"),
    ],
)
def test_encoding_detection(data, encoding):
    assert decode(data) == ("Año;ñ", encoding)


@pytest.mark.parametrize(
    ("line", "sep"),
    [("a;b;c", ";"), ("a,b,c", ","), ("a\tb\tc", "\t"), ('"x,y";b;c', ";"), ("a", ",")],
)
def test_delimiter_detection(line, sep):
    assert detect_delimiter(line + "\r\n1;2,3") == sep


@pytest.mark.parametrize(
    ("sep", "encoding", "bom", "label"),
    [
        (";", "utf-8", True, "UTF-8 con BOM"),
        (",", "utf-8", False, "UTF-8"),
        (";", "cp1252", False, "Windows-1252"),
        ("\t", "utf-16", False, "UTF-16"),
    ],
)
def test_client_import_reads_any_encoding_and_delimiter(taxpayer, owner, sep, encoding, bom, label):
    rows = [
        ["Nombre", "NIF", "Dirección", "Ciudad"],
        ["Peñíscola Núñez SL", "A28045631", "Calle Ñandú, 3", "Cádiz"],
    ]
    job = run_clients(taxpayer, owner, csv_file(rows, sep, encoding, bom))
    assert job.status == Job.Status.DONE, job.report
    client = Client.objects.get()
    assert (client.name, client.address, client.city) == (
        "Peñíscola Núñez SL",
        "Calle Ñandú, 3",
        "Cádiz",
    )
    assert job.report["encoding"] == label
    assert job.report["delimiter"] == {";": "punto y coma", ",": "coma", "\t": "tabulador"}[sep]


def test_english_headers_and_ignored_columns(taxpayer, owner):
    data = csv_file(
        [
            "name,nif,email,address,city,postal_code,country,notes",
            "Acme SL,A28045631,a@acme.es,Main St 1,Madrid,28013,ES,vip",
        ],
        sep=",",
    )
    job = run_clients(taxpayer, owner, data)
    assert job.status == Job.Status.DONE
    assert Client.objects.get().postal_code == "28013"
    assert job.report["ignored_columns"] == ["notes"]


def test_missing_required_column_fails_the_job_with_a_message(taxpayer, owner):
    job = run_clients(taxpayer, owner, csv_file(["nif;email", "A28045631;a@b.es"]))
    assert job.status == Job.Status.FAILED
    assert "nombre" in job.report["message"]
    assert not Client.objects.exists()


def test_a_row_with_too_many_columns_is_reported(taxpayer, owner):
    data = csv_file(["nombre;nif", "Acme SL;A28045631", "Otra; SL;B65410011"])
    job = run_clients(taxpayer, owner, data, VALID)
    assert rejected(job) == {(3, "")}
    assert Client.objects.count() == 1


def test_a_row_with_control_characters_is_reported_and_not_imported(taxpayer, owner):
    data = csv_file(["nombre;nif", "Acme\x00 SL;A28045631", "Otra SL;B65410011"])
    job = run_clients(taxpayer, owner, data, VALID)
    assert rejected(job) == {(2, "")}
    assert "nombre: El texto lleva caracteres de control" in job.errors[0]["message"]
    assert list(Client.objects.values_list("name", flat=True)) == ["Otra SL"]


# --- clients ------------------------------------------------------------------------------


def test_bad_client_rows_are_each_reported_and_all_or_nothing_imports_nothing(taxpayer, owner):
    job = run_clients(taxpayer, owner, csv_file(CLIENT_ROWS))
    assert job.status == Job.Status.FAILED
    assert rejected(job) == {(3, "nif"), (4, "cp"), (6, "nif"), (7, "recargo"), (9, "nif")}
    assert job.report["rejected"] == 5 and job.report["imported"] == 0
    assert "No se ha importado nada" in job.report["message"]
    messages = {(e["row"], e["field"]): e["message"] for e in job.errors}
    assert "fila 2" in messages[(6, "nif")]
    assert "5 cifras" in messages[(4, "cp")]
    assert not Client.objects.exists()


def test_valid_only_imports_the_good_rows(taxpayer, owner):
    job = run_clients(taxpayer, owner, csv_file(CLIENT_ROWS), VALID)
    assert job.status == Job.Status.DONE
    assert sorted(Client.objects.values_list("name", flat=True)) == ["Acme SL", "Lisboa Lda"]
    lisboa = Client.objects.get(country="PT")
    assert (lisboa.id_type, lisboa.foreign_id) == ("02", "PT501964843")
    assert lisboa.search_text  # the search index is filled, as Client.save does
    assert Client.objects.filter(account=taxpayer.account, taxpayer=taxpayer).count() == 2
    assert job.report["imported"] == 2 and job.report["rejected"] == 5
    assert len(rejected(job)) == 5
    assert job.report["message"].startswith("2 clientes importados. 5 filas rechazadas.")


def test_a_nif_already_in_factu_is_rejected(taxpayer, owner):
    create_client(taxpayer, {"name": "Acme de siempre", "nif": "A28045631"})
    job = run_clients(taxpayer, owner, csv_file(["nombre;nif", "Acme SL;A28045631"]))
    assert rejected(job) == {(2, "nif")}
    assert "Acme de siempre" in job.errors[0]["message"]


def test_progress_fields_advance_to_the_total(taxpayer, owner):
    rows = ["nombre;pais;tipo_id;id_extranjero"] + [
        f"Cliente {i};FR;02;FR{i:09d}" for i in range(300)
    ]
    job = run_clients(taxpayer, owner, csv_file(rows))
    assert job.status == Job.Status.DONE
    assert (job.total, job.done, job.percent) == (300, 300, 100)
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at


def test_progress_writes_in_batches_not_per_row(taxpayer, owner):
    job = Job.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, kind=Job.Kind.IMPORT_CLIENTS
    )
    now = [0.0]
    progress = jobs.Progress(job, 10_000, clock=lambda: now[0])
    seen = []
    for i in range(10_000):
        progress.advance()
        if i % 1000 == 999:
            seen.append(Job.objects.get(pk=job.pk).done)
    assert progress.writes <= 52  # 1 for the total, then one per 200 rows
    assert seen == sorted(seen) and seen[-1] == 10_000 and seen[0] >= 800
    job.refresh_from_db()
    assert (job.done, job.total) == (10_000, 10_000)
    # A slow job still reports at least once a second.
    slow = jobs.Progress(job, 10_000, clock=lambda: now[0])
    slow.advance()
    now[0] += 1.5
    slow.advance()
    assert Job.objects.get(pk=job.pk).done == 2


def test_a_job_runs_once_even_if_its_task_is_delivered_twice(taxpayer, owner):
    job = start(taxpayer, owner, Job.Kind.IMPORT_CLIENTS, csv_file(["nombre;nif", "A;A28045631"]))
    assert tasks.import_clients(str(job.pk)) == Job.Status.DONE
    assert tasks.import_clients(str(job.pk)) == "skipped"
    assert Client.objects.count() == 1


def test_the_downloadable_templates_import_cleanly(login, owner, taxpayer):
    client = login(owner)
    clients_csv = client.get(BASE + "plantillas/clientes.csv").content
    job = run_clients(taxpayer, owner, clients_csv)
    assert job.status == Job.Status.DONE, job.report
    invoices_csv = client.get(BASE + "plantillas/facturas.csv").content
    job = run_invoices(taxpayer, owner, invoices_csv)
    assert job.status == Job.Status.DONE, job.report
    assert job.report["imported"] == 2


# --- historical invoices ------------------------------------------------------------------

INVOICE_HEADER = "numero;fecha;nif_cliente;cliente;base;tipo_iva;cuota_iva;irpf;total;estado"


def test_historical_invoices_keep_their_numbers_without_verifactu_records(taxpayer, owner):
    data = csv_file(
        [
            INVOICE_HEADER + ";fecha_cobro;concepto",
            "2025/0007;15/01/2025;A28045631;Acme SL;1.000,00;21;210,00;150,00;1.060,00;pagada;"
            "31/01/2025;Consultoría",
            "2025/0008;20/01/2025;A28045631;Acme SL;500,00;21%;105,00;0;605,00;emitida;;",
            "T-3;03/02/2025;;Juan en mostrador;10,00;10;1,00;;11,00;pagada;;Café",
            "2025/0009;10/02/2025;B65410011;Tienda Pepa;200;4;8;;208;emitida;;Libros",
        ]
    )
    job = run_invoices(taxpayer, owner, data)
    assert job.status == Job.Status.DONE, job.errors
    assert job.report["imported"] == 4
    invoices = {i.number: i for i in Invoice.objects.all()}
    assert set(invoices) == {"2025/0007", "2025/0008", "T-3", "2025/0009"}
    first = invoices["2025/0007"]
    assert (first.subtotal_cents, first.iva_cents, first.irpf_cents, first.total_cents) == (
        100000,
        21000,
        15000,
        106000,
    )
    assert first.irpf_bp == 1500 and first.status == InvoiceStatus.PAID
    assert first.paid_at.date() == date(2025, 1, 31)
    assert first.is_issued and first.fiscal_invoice_id is None
    assert first.issuer_nif == taxpayer.nif and first.client_nif == "A28045631"
    assert first.series.code == "IMPORTADA-F1" and first.series.archived
    assert first.lines.get().amount_cents == 100000
    ticket = invoices["T-3"]
    assert (ticket.invoice_type, ticket.client, ticket.client_name) == (
        "F2",
        None,
        "Juan en mostrador",
    )
    assert ticket.series.code == "IMPORTADA-F2"
    # Sequences: one per invoice, in date order, from the series' counter.
    assert [invoices[n].sequence for n in ("2025/0007", "2025/0008", "2025/0009")] == [1, 2, 3]
    # The clients were created once each, from their NIF.
    assert sorted(Client.objects.values_list("nif", flat=True)) == ["A28045631", "B65410011"]
    # No VERI*FACTU record: another program issued them.
    assert not FiscalInvoice.objects.exists() and not BillingRecord.objects.exists()
    event = InvoiceEvent.objects.get(invoice=first)
    assert event.action == "imported" and event.user == owner
    assert event.detail["row"] == 2 and event.detail["job"] == str(job.pk)
    # They count in the quarter's summaries like any issued invoice.
    m303 = summaries.modelo_303(taxpayer, 2025, 1).values
    assert (m303["devengado_2100_base"], m303["devengado_2100_cuota"]) == (150000, 31500)
    assert (m303["devengado_1000_base"], m303["devengado_400_base"]) == (1000, 20000)
    assert imported.imported_invoices(taxpayer, date(2025, 1, 1), date(2025, 1, 31)).count() == 2


def draft_today(series: Series, client: Client, actor: Actor) -> Invoice:
    """A draft in ``series`` dated today: one line of 10 €."""
    return create_draft(
        series.taxpayer,
        series=series,
        client=client,
        issue_date=timezone.localdate(),
        lines=[DraftLine("x", 100, 1000)],
        actor=actor,
    )


def test_imported_invoices_count_in_the_303(taxpayer, owner):
    data = csv_file([INVOICE_HEADER, "H-1;15/01/2025;A28045631;Acme SL;100;21;21;;121;emitida"])
    run_invoices(taxpayer, owner, data)
    invoices = list(summaries.declared_invoices(taxpayer, date(2025, 1, 1), date(2025, 3, 31)))
    assert [i.number for i in invoices] == ["H-1"]
    vat = summaries.vat_303(invoices, [])
    assert (vat["devengado_2100_base"], vat["devengado_2100_cuota"]) == (10000, 2100)
    m130 = summaries.modelo_130(taxpayer, 2025, 1)
    assert 10000 in m130.values.values()


def test_bad_invoice_rows_are_reported_and_all_or_nothing_imports_nothing(taxpayer, owner):
    series = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="A")
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631"})
    actor = Actor(user=owner)
    draft = draft_today(series, acme, actor)
    future = (timezone.localdate() + timedelta(days=3)).strftime("%d/%m/%Y")
    data = csv_file(
        [
            INVOICE_HEADER,
            "H-1;15/01/2025;A28045631;Acme SL;100;21;21;;121;emitida",  # 2 ok
            "H-2;16/01/2025;A28045631;Acme SL;100;21;20;;120;emitida",  # 3 cuota wrong
            f"{draft.number};17/01/2025;A28045631;Acme SL;100;21;21;;121;emitida",  # 4 taken
            f"H-4;{future};A28045631;Acme SL;100;21;21;;121;emitida",  # 5 future
            "H-5;18/01/2025;A28045631;Acme SL;100;7;7;;107;emitida",  # 6 rate
            "H-1;19/01/2025;A28045631;Acme SL;100;21;21;;121;emitida",  # 7 repeated
            "H-7;20/01/2025;B12345678;Nueva SL;100;21;21;;121;emitida",  # 8 bad NIF
            "H-8;21/01/2025;B65410011;Nueva SL;100;21;21;;121;quizá",  # 9 status
            "H-9;22/01/2025;;Desconocido SL;100;21;21;;121;emitida",  # 10 ok: a ticket (F2)
            "H-10;23/01/2025;A28045631;Acme SL;100;21;21;15,55;105,45;emitida",  # 11 IRPF
            "H-11;32/01/2025;A28045631;Acme SL;abc;21;21;;121;emitida",  # 12 date, base
        ]
    )
    job = run_invoices(taxpayer, owner, data)
    assert job.status == Job.Status.FAILED
    assert rejected(job) == {
        (3, "cuota_iva"),
        (3, "total"),
        (4, "numero"),
        (5, "fecha"),
        (6, "tipo_iva"),
        (7, "numero"),
        (8, "nif_cliente"),
        (9, "estado"),
        (11, "irpf"),
        (12, "fecha"),
        (12, "base"),
    }
    assert "debería ser 21,00 €" in next(e["message"] for e in job.errors if e["row"] == 3)
    assert Invoice.objects.count() == 1  # only the draft made before
    assert Client.objects.count() == 1  # not even Tienda Pepa's client (row 9)


def test_a_complete_invoice_needs_a_known_client(taxpayer, owner):
    create_client(
        taxpayer,
        {"name": "Lisboa Lda", "country": "PT", "id_type": "02", "foreign_id": "PT501964843"},
    )
    data = csv_file(
        [
            INVOICE_HEADER + ";tipo",
            "H-1;15/01/2025;;Nadie Conocido SL;100;21;21;;121;emitida;F1",
            "H-2;15/01/2025;;lisboa lda;100;21;21;;121;emitida;F1",
            "H-3;15/01/2025;PT501964843;;100;21;21;;121;emitida;",
            "H-4;15/01/2025;;;100;21;21;;121;emitida;completa",
        ]
    )
    job = run_invoices(taxpayer, owner, data, VALID)
    assert rejected(job) == {(2, "nif_cliente"), (5, "nif_cliente")}
    foreign = Invoice.objects.filter(client__country="PT")
    assert sorted(foreign.values_list("number", flat=True)) == ["H-2", "H-3"]
    assert foreign.first().client_foreign_id == "PT501964843"


def test_valid_only_imports_the_good_invoices(taxpayer, owner):
    data = csv_file(
        [
            INVOICE_HEADER,
            "H-1;15/01/2025;A28045631;Acme SL;100;21;21;;121;emitida",
            "H-2;16/01/2025;A28045631;Acme SL;100;21;20;;120;emitida",
            "H-3;17/01/2025;B65410011;Tienda;50,5;10;5,05;;55,55;cobrada",
        ]
    )
    job = run_invoices(taxpayer, owner, data, VALID)
    assert job.status == Job.Status.DONE
    assert sorted(Invoice.objects.values_list("number", flat=True)) == ["H-1", "H-3"]
    assert rejected(job) == {(3, "cuota_iva"), (3, "total")}
    assert Invoice.objects.get(number="H-3").status == InvoiceStatus.PAID
    assert job.report["message"].startswith("2 facturas importadas. 1 fila rechazada.")


def test_new_invoices_still_issue_after_an_import(taxpayer, owner):
    run_invoices(
        taxpayer,
        owner,
        csv_file([INVOICE_HEADER, "2025-A-001;15/01/2025;A28045631;Acme SL;100;21;21;;121;"]),
    )
    imported = Series.objects.get(code="IMPORTADA-F1")
    acme = Client.objects.get()
    actor = Actor(user=owner)
    with pytest.raises(Exception, match="archivada"):
        draft_today(imported, acme, actor)
    series = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="A")
    draft = draft_today(series, acme, actor)
    issued = issue_invoice(draft, actor=actor)
    assert issued.fiscal_invoice_id is not None


# --- the ZIP for the gestoría -------------------------------------------------------------


@pytest.fixture
def quarter_data(taxpayer, owner):
    """An invoice issued in Factu, an imported one and an expense with its receipt in 1T 2025,
    plus an invoice and an expense of 2T that must stay out."""
    actor = Actor(user=owner)
    series = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="A")
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631"})
    give_addresses(taxpayer, acme)  # which a Facturae needs
    for day in (date(2025, 2, 10), date(2025, 5, 5)):
        draft = create_draft(
            taxpayer,
            series=series,
            client=acme,
            issue_date=day,
            lines=[DraftLine("Consultoría", 100, 50000)],
            actor=actor,
        )
        issue_invoice(draft, actor=actor)
    run_invoices(
        taxpayer,
        owner,
        csv_file([INVOICE_HEADER, "OLD/1;15/01/2025;A28045631;Acme;100;21;21;;121;"]),
    )
    expense = create_expense(
        taxpayer,
        {"date": date(2025, 3, 1), "description": "Licencia anual", "amount_cents": 12100},
    )
    attach_receipt(expense, SimpleUploadedFile("factura proveedor.png", PNG))
    create_expense(
        taxpayer, {"date": date(2025, 4, 2), "description": "Fuera", "amount_cents": 100}
    )
    return series


def run_export(taxpayer, owner, year=2025, quarter=1, einvoices=False) -> Job:
    job = services.start_export(
        taxpayer.account, taxpayer, owner, year, quarter, einvoices=einvoices
    )
    tasks.export_zip(str(job.pk))
    job.refresh_from_db()
    return job


def test_zip_contains_the_quarters_invoices_expenses_and_receipts(
    taxpayer, owner, quarter_data, media
):
    job = run_export(taxpayer, owner)
    assert job.status == Job.Status.DONE, job.report
    assert job.result_path.startswith("exports/")
    assert (media / job.result_path).is_file()
    assert (job.done, job.total) == (job.total, 2 + 1 + 2)  # 2 PDFs, 1 receipt, CSVs, summary
    with zipfile.ZipFile(media / job.result_path) as archive:
        names = set(archive.namelist())
        assert names == {
            "facturas/2025-A-001.pdf",
            "facturas/OLD-1.pdf",
            "facturas.csv",
            "gastos.csv",
            "justificantes/2025-03-01-Licencia-anual-factura-proveedor.png",
            "resumen-impuestos.csv",
        }
        assert archive.read("facturas/2025-A-001.pdf").startswith(b"%PDF")
        assert archive.read("justificantes/2025-03-01-Licencia-anual-factura-proveedor.png") == PNG
        invoices_csv = archive.read("facturas.csv").decode("utf-8-sig")
        assert "OLD/1;15/01/2025" in invoices_csv and "Importada" in invoices_csv
        assert "2025-A-002" not in invoices_csv
        expenses_csv = archive.read("gastos.csv").decode("utf-8-sig")
        assert "Licencia anual" in expenses_csv and "Fuera" not in expenses_csv
        assert "303" in archive.read("resumen-impuestos.csv").decode("utf-8-sig")
    assert job.report["invoices"] == 2 and job.report["receipts"] == 1


def test_the_zip_holds_the_stored_e_invoices_when_asked(taxpayer, owner, quarter_data, media):
    job = run_export(taxpayer, owner, einvoices=True)

    assert job.status == Job.Status.DONE, job.report
    invoice = Invoice.objects.get(taxpayer=taxpayer, number="2025-A-001")
    with zipfile.ZipFile(media / job.result_path) as archive:
        members = {n for n in archive.namelist() if n.startswith("facturas-electronicas/")}
        assert {"facturas-electronicas/2025-A-001.ubl.xml"} <= members
        for format in ("ubl", "facturae"):
            member = f"facturas-electronicas/2025-A-001.{format}.xml"
            assert archive.read(member) == einvoices.stored_file(invoice, format).content
    assert job.report["einvoices"] == len(members)


def test_download_is_served_to_members_only(
    login, owner, viewer, outsider, taxpayer, quarter_data, client
):
    job = run_export(taxpayer, owner)
    url = f"{BASE}trabajos/{job.pk}/descargar/"
    response = login(viewer).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "factu-B87654323-2025-1T.zip" in response["Content-Disposition"]
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    client.logout()
    assert login(outsider).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_another_accounts_job_and_download_are_404(login, owner, other_account, taxpayer):
    theirs = Job.objects.create(
        account=other_account,
        taxpayer=Taxpayer.objects.get(account=other_account),
        kind=Job.Kind.EXPORT_ZIP,
        params={"year": 2025, "quarter": 1},
    )
    tasks.export_zip(str(theirs.pk))
    theirs.refresh_from_db()
    assert theirs.status == Job.Status.DONE
    client = login(owner)
    for suffix in ("", "progreso/", "descargar/", "errores.csv"):
        assert client.get(f"{BASE}trabajos/{theirs.pk}/{suffix}").status_code == 404, suffix
    assert client.get(f"/c/gestoria-ajena/datos/trabajos/{theirs.pk}/").status_code == 404
    assert str(theirs.pk) not in client.get(BASE).content.decode()


def test_an_unfinished_export_has_no_download(login, owner, taxpayer):
    job = services.start_export(taxpayer.account, taxpayer, owner, 2025, 1)
    assert login(owner).get(f"{BASE}trabajos/{job.pk}/descargar/").status_code == 404


# --- views --------------------------------------------------------------------------------


def test_the_view_enqueues_the_import_on_commit(
    login, owner, taxpayer, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.import_clients, "apply_async", lambda args, **kw: sent.extend(args))
    upload = SimpleUploadedFile("clientes.csv", csv_file(["nombre;nif", "Acme;A28045631"]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = login(owner).post(BASE + "importar/clientes/", {"file": upload, "mode": "valid"})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}trabajos/{job.pk}/"
    assert (job.status, job.mode, job.kind, job.user) == (
        "queued",
        "valid",
        "import_clients",
        owner,
    )
    assert job.params["filename"] == "clientes.csv"
    assert sent == [] and len(callbacks) == 1  # nothing is sent before the commit
    callbacks[0]()
    assert sent == [str(job.pk)]
    # What the worker would then do:
    tasks.import_clients(sent[0])
    assert Client.objects.get().name == "Acme"


def test_the_export_view_enqueues_on_commit(
    login, owner, taxpayer, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.export_zip, "apply_async", lambda args, **kw: sent.extend(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = login(owner).post(
            BASE + "exportar/", {"year": "2025", "quarter": "2", "einvoices": "on"}
        )
    job = Job.objects.get()
    assert response.status_code == 302
    assert sent == [str(job.pk)] and job.params == {"year": 2025, "quarter": 2, "einvoices": True}


def test_viewer_may_look_but_not_post(login, viewer, taxpayer):
    client = login(viewer)
    assert client.get(BASE).status_code == 200
    upload = SimpleUploadedFile("c.csv", b"nombre;nif\nAcme;A28045631\n")
    assert (
        client.post(BASE + "importar/clientes/", {"file": upload, "mode": "all"}).status_code == 403
    )
    assert client.post(BASE + "importar/facturas/", {"mode": "all"}).status_code == 403
    assert client.post(BASE + "exportar/", {"year": "2025", "quarter": "1"}).status_code == 403
    assert not Job.objects.exists()


def test_outsider_gets_404(login, outsider, account):
    assert login(outsider).get(BASE).status_code == 404


def test_job_page_polls_while_running_and_shows_the_report(login, owner, taxpayer):
    job = start(taxpayer, owner, Job.Kind.IMPORT_CLIENTS, csv_file(CLIENT_ROWS), VALID)
    client = login(owner)
    page = client.get(f"{BASE}trabajos/{job.pk}/").content.decode()
    assert "hx-get" in page and "every 2s" in page and "En cola" in page
    tasks.import_clients(str(job.pk))
    fragment = client.get(f"{BASE}trabajos/{job.pk}/progreso/", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true" and "hx-get" not in fragment.content.decode()
    page = client.get(f"{BASE}trabajos/{job.pk}/").content.decode()
    assert "hx-get" not in page
    assert 'data-row="3"' in page and "Filas rechazadas" in page
    errors_csv = client.get(f"{BASE}trabajos/{job.pk}/errores.csv").content.decode("utf-8-sig")
    assert errors_csv.splitlines()[0] == "Fila;Columna;Error" and "\r\n3;nif;" in errors_csv
    assert "Importar clientes" in client.get(BASE).content.decode()


def test_forms_and_lists_render(login, owner, taxpayer):
    client = login(owner)
    for path in ("importar/clientes/", "importar/facturas/", "exportar/", "facturas-importadas/"):
        response = client.get(BASE + path)
        assert response.status_code == 200, path
        assert "Importar/Exportar" in response.content.decode()
    assert client.get(BASE + "plantillas/otra.csv").status_code == 404


def test_an_upload_error_is_shown_on_the_form(login, owner, taxpayer):
    response = login(owner).post(BASE + "importar/clientes/", {"mode": "all"})
    assert response.status_code == 200 and not Job.objects.exists()
    assert "error" in response.content.decode()


def test_an_imported_invoice_shows_and_prints_like_any_issued_one(login, owner, taxpayer):
    run_invoices(
        taxpayer,
        owner,
        csv_file([INVOICE_HEADER, "OLD/7;15/01/2025;A28045631;Acme;100;21;21;;121;"]),
    )
    invoice = Invoice.objects.get()
    client = login(owner)
    page = client.get(f"/c/estudio-sol/facturas/{invoice.pk}/")
    assert page.status_code == 200 and "OLD/7" in page.content.decode()
    pdf = client.get(f"/c/estudio-sol/facturas/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    listing = client.get(BASE + "facturas-importadas/").content.decode()
    assert "OLD/7" in listing and "121,00" in listing


def test_a_10000_row_import_reports_its_progress_while_it_runs(taxpayer, owner, monkeypatch):
    rows = ["nombre;pais;tipo_id;id_extranjero"] + [
        f"Cliente {i};FR;02;FR{i:09d}" for i in range(10_000)
    ]
    seen: list[int] = []
    original = jobs.Progress.flush

    def watching_flush(self):
        original(self)
        seen.append(Job.objects.get(pk=self.job.pk).done)

    monkeypatch.setattr(jobs.Progress, "flush", watching_flush)
    job = run_clients(taxpayer, owner, csv_file(rows))
    assert job.status == Job.Status.DONE
    assert (job.total, job.done) == (10_000, 10_000)
    assert Client.objects.filter(taxpayer=taxpayer).count() == 10_000
    progress = [n for n in seen if 0 < n < 10_000]
    assert len(progress) >= 10 and progress == sorted(progress)
