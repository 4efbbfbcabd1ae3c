"""The gestoría-sized bench account: 300 taxpayers × 2,000 issued invoices (``--quick``: 30 × 200).

Seeded once in the bench database, in one transaction, and reused while its invoice count is
right (the counts table: one row read). What it holds, per taxpayer:

* a series A (ordinary) and R (rectificativas) with their year counters, 20 clients, 40
  expenses over the year;
* ``INVOICES`` issued invoices with one line each, numbered without gaps and dated in
  order: the busy taxpayer (the first by name) has all of them in the measured quarter, the
  others spread over the year up to yesterday. Half paid, some overdue, 2 % cancelled, the
  rest sent; one in ``RECT_EVERY`` is a rectificativa (R1, by differences) of the one before;
  a third of the taxpayers withhold IRPF;
* one RegistroAlta per invoice in the taxpayer's chain, and a RegistroAnulacion per
  cancelled invoice after them. AEAT errors on 1 % (rejected, or accepted with errors):
  the desk's work. Every other record is accepted: none is ever queued, so no flush picks
  any up.

Invoices, lines, expenses and the other taxpayers' fiscal invoices and records are written by
``INSERT … SELECT generate_series`` (the counts table follows by its triggers). The busy
taxpayer's fiscal invoices and altas are built by the engine itself (``record_facts``,
``alta_data``, ``build_alta``, chained), because the invoice detail page shows their hash
and QR; every other record is bench data, marked ``ref_externa = 'bench-sql'`` with a
placeholder XML and a made-up huella, never sent. The chain row's own trigger is switched off
while the records go in (it would update one row 2,000 times in one transaction) and the
chain rows are then set to their heads by one ``UPDATE``, as the trigger would have left them.
Rows the pages key on (invoices, fiscal invoices, records) get ids derived from
(account, taxpayer, position) by ``md5``, so SQL and Python agree on each other's ids.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import date

TAXPAYERS, INVOICES = 300, 2000
QUICK_TAXPAYERS, QUICK_INVOICES = 30, 200
CLIENTS = 20
EXPENSES = 40
RECT_EVERY = 100
PASSWORD = "bench gestoria password"
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
MARK = "bench-sql"
PLACEHOLDER_XML = "<!-- bench data: never submitted -->"


@dataclass(frozen=True)
class Gestoria:
    account_id: uuid.UUID
    taxpayer_ids: list[uuid.UUID]
    email: str
    password: str
    year: int
    quarter: int
    busy_taxpayer_id: uuid.UUID


def dni(n: int) -> str:
    number = 10_000_000 + n
    return f"{number}{DNI_LETTERS[number % 23]}"


def closed_quarter(today: date) -> tuple[int, int]:
    """The last quarter that has ended by ``today``."""
    quarter = (today.month - 1) // 3
    return (today.year, quarter) if quarter else (today.year - 1, 4)


def derived_id(kind: str, account_id: uuid.UUID, t: int, n: int) -> uuid.UUID:
    """The id SQL's ``md5(kind-account-t-n)::uuid`` gives."""
    return uuid.UUID(hashlib.md5(f"{kind}-{account_id}-{t}-{n}".encode()).hexdigest())  # noqa: S324


def _sql_id(kind: str, t: str, n: str) -> str:
    return f"md5('{kind}-' || %(account)s::text || '-' || {t} || '-' || {n})::uuid"


# The taxpayers of the seed, one row each, that every INSERT … SELECT joins.
TP_TABLE = """
CREATE TEMP TABLE bench_tp (
    t int, id uuid, nif text, name text, series_a uuid, series_r uuid, chain_id bigint,
    n int, first_day date, days int, irpf int, busy bool
) ON COMMIT DROP
"""

# g: 1..n in date order. Rectificativas: g %% RECT_EVERY = 0 (series R), others series A.
INVOICE_BASE = f"""
SELECT tp.*, g,
       tp.first_day + ((g - 1) * tp.days / tp.n)::int AS d,
       (g %% {RECT_EVERY} = 0) AS rect,
       CASE WHEN g %% {RECT_EVERY} = 0 THEN g / {RECT_EVERY}
            ELSE g - g / {RECT_EVERY} END AS seq,
       CASE WHEN g %% {RECT_EVERY} = 0 THEN -10000
            ELSE 100 * (100 + (g * 7919 + tp.t * 104729) %% 1900) END AS base,
       (g * 7919 + tp.t * 104729) %% 100 AS h,
       (g * 31 + tp.t * 17) %% 100 AS h2,
       g %% {CLIENTS} AS c
FROM bench_tp tp CROSS JOIN LATERAL generate_series(1, tp.n) AS g
"""

NUMBERED = f"""
SELECT base.*, base.base * 21 / 100 AS iva,
       %(year)s || '-' || CASE WHEN base.rect THEN 'R' ELSE 'A' END || '-'
       || lpad(base.seq::text, 5, '0') AS num
FROM ({INVOICE_BASE}) AS base
"""

INSERT_INVOICES = f"""
INSERT INTO invoicing_invoice (
    id, account_id, taxpayer_id, series_id, year, sequence, number, invoice_type, status,
    issue_date, due_date, client_id, description, irpf_bp, issued_by, third_party_nif,
    third_party_name, surcharge, notes, payment_details, issuer_name, issuer_nif,
    issuer_address, client_name, client_nif, client_country, client_id_type,
    client_foreign_id, client_address, client_email, subtotal_cents, iva_cents,
    surcharge_cents, irpf_cents, total_cents, rectified_invoice_id, rectification_type,
    fiscal_invoice_id, issued_at, paid_at, cancelled_at, search_text, cash_criterion,
    created_by_id, created_at, updated_at
)
SELECT
    {_sql_id("inv", "b.t", "b.g")}, %(account)s, b.id,
    CASE WHEN b.rect THEN b.series_r ELSE b.series_a END,
    %(year)s, b.seq, b.num, CASE WHEN b.rect THEN 'R1' ELSE 'F1' END,
    CASE WHEN b.rect THEN 'sent' WHEN b.h < 2 THEN 'cancelled' WHEN b.h < 50 THEN 'paid'
         WHEN b.h < 60 AND b.d + 30 < %(today)s THEN 'overdue' ELSE 'sent' END,
    b.d, b.d + 30, cl.id, 'Servicios de asesoría ' || (b.g %% 12 + 1), b.irpf,
    '', '', '', false, '', '', b.name, b.nif, 'Calle Mayor 1, Madrid',
    cl.name, cl.nif, 'ES', '', '', '', '',
    b.base, b.base * 21 / 100, 0, b.base * b.irpf / 10000,
    b.base + b.base * 21 / 100 - b.base * b.irpf / 10000,
    CASE WHEN b.rect THEN {_sql_id("inv", "b.t", "b.g - 1")} END,
    CASE WHEN b.rect THEN 'I' ELSE '' END,
    {_sql_id("fi", "b.t", "b.g")},
    b.d::timestamptz + interval '10 hours',
    CASE WHEN NOT b.rect AND b.h BETWEEN 2 AND 49
         THEN LEAST(b.d::timestamptz + interval '20 days', now()) END,
    CASE WHEN NOT b.rect AND b.h < 2
         THEN LEAST(b.d::timestamptz + interval '5 days', now()) END,
    lower(b.num || ' servicios de asesoria ' || (b.g %% 12 + 1) || ' ' || cl.name || ' '
          || cl.nif),
    false, %(user)s, b.d::timestamptz, b.d::timestamptz
FROM ({NUMBERED}) AS b
JOIN clients_client cl ON cl.taxpayer_id = b.id AND cl.nif = (%(client_nifs)s::text[])[b.c + 1]
ORDER BY b.t, b.g
"""

INSERT_LINES = """
INSERT INTO invoicing_invoiceline (
    invoice_id, position, description, quantity, unit_price_cents, discount_bp, iva_type,
    cause, tobacco, regime, amount_cents
)
SELECT i.id, 1, i.description, 100, i.subtotal_cents, 0, 'general', '', false, '',
       i.subtotal_cents
FROM invoicing_invoice i WHERE i.account_id = %(account)s
"""

FISCAL_COLUMNS = """
    id, account_id, taxpayer_id, computer_system_id, source, issuer_nif, issuer_name,
    invoice_number, invoice_date, invoice_type, description, issued_by, third_party_nif,
    third_party_name, regime_types, reverse_charge, recipient_nif, recipient_name,
    recipient_country, recipient_id_type, recipient_id, not_subject_cause, breakdown,
    total_amount_cents, total_tax_amount_cents, rectification_type, rectified_invoices,
    replaced_invoices, version, created_at
"""

# The other taxpayers' fiscal invoices (the busy one's come from the engine).
INSERT_FISCAL = f"""
INSERT INTO verifactu_fiscalinvoice ({FISCAL_COLUMNS})
SELECT i.fiscal_invoice_id, i.account_id, i.taxpayer_id, %(system)s, 'factu', i.issuer_nif,
       i.issuer_name, i.number, i.issue_date, i.invoice_type, i.description, '', '', '',
       '["01"]', false, i.client_nif, i.client_name, '', '', '', '',
       jsonb_build_array(jsonb_build_object(
           'tax_type', '01', 'regime_type', '01', 'operation_type', 'S1',
           'base_cents', i.subtotal_cents, 'rate_bp', 2100, 'tax_cents', i.iva_cents,
           'surcharge_rate_bp', null, 'surcharge_cents', null)),
       i.subtotal_cents + i.iva_cents, i.iva_cents, i.rectification_type,
       CASE WHEN r.id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
           'invoice_number', r.number, 'invoice_date', r.issue_date)) END,
       '[]', 1, i.issued_at
FROM invoicing_invoice i
JOIN bench_tp tp ON tp.id = i.taxpayer_id AND NOT tp.busy
LEFT JOIN invoicing_invoice r ON r.id = i.rectified_invoice_id
"""


def _money(column: str) -> str:
    return f"to_char(({column}) / 100.0, 'FM9999999990.00')"


RECORD_COLUMNS = """
    id, chain_id, position, previous_id, fiscal_invoice_id, kind, record_type, issuer_nif,
    invoice_number, invoice_date_text, invoice_type, cuota_total_text, importe_total_text,
    previous_huella, generated_at_text, huella, subsanacion, rechazo_previo,
    sin_registro_previo, ref_externa, xml, no_verifactu, status, aeat_error_code,
    aeat_error_description, csv, incidencia, attempts, created_at, updated_at
"""

ERRORS = (
    ("rejected", "1124", "El valor del campo TipoImpositivo no es correcto."),
    ("accepted_with_errors", "2011", "El NIF del destinatario no está identificado."),
)


def _records(kind: str, record_type: str, position: str, errors: bool) -> str:
    """INSERT the bench-data records of the rows ``b`` of :data:`NUMBERED` (with
    ``position``), with AEAT errors on 1 % when ``errors``."""
    huella = f"upper(md5('{kind}-h-' || b.t || '-' || b.g) || md5(%(account)s::text || b.g))"
    failed = "b.h2 = 0" if errors else "false"
    rejected = "b.g %% 2 = 0"
    (bad, bad_code, bad_text), (warn, warn_code, warn_text) = ERRORS
    return f"""
INSERT INTO verifactu_billingrecord ({RECORD_COLUMNS})
SELECT {_sql_id("br", "b.t", position)}, b.chain_id, {position},
       CASE WHEN {position} > 1 THEN {_sql_id("br", "b.t", f"{position} - 1")} END,
       {_sql_id("fi", "b.t", "b.g")}, '{kind}', '{record_type}', b.nif, b.num,
       to_char(b.d, 'DD-MM-YYYY'), CASE WHEN b.rect THEN 'R1' ELSE 'F1' END,
       {_money("b.iva")}, {_money("b.base + b.iva")}, '',
       to_char(b.d, 'YYYY-MM-DD') || 'T10:00:00+01:00', {huella}, '', '', '', '{MARK}',
       '{PLACEHOLDER_XML}', false,
       CASE WHEN {failed} THEN CASE WHEN {rejected} THEN '{bad}' ELSE '{warn}' END
            ELSE 'accepted' END,
       CASE WHEN {failed} THEN CASE WHEN {rejected} THEN '{bad_code}' ELSE '{warn_code}' END
            ELSE '' END,
       CASE WHEN {failed} THEN CASE WHEN {rejected} THEN '{bad_text}' ELSE '{warn_text}' END
            ELSE '' END,
       CASE WHEN {failed} AND {rejected} THEN '' ELSE 'BENCH' END, false, 1,
       b.d::timestamptz + interval '10 hours', b.d::timestamptz + interval '10 hours'
"""


# The other taxpayers' altas: position = g, the invoice's place in date order.
INSERT_ALTAS = (
    _records("alta", "registration", "b.g", errors=True)
    + f"FROM ({NUMBERED}) AS b WHERE NOT b.busy ORDER BY b.t, b.g"
)
# Every taxpayer's anulaciones, after its altas, in the order of the invoices cancelled.
INSERT_ANULACIONES = (
    _records("anulacion", "cancellation", "b.position", errors=False)
    + f"""FROM (
    SELECT n.*, n.n + row_number() OVER (PARTITION BY n.t ORDER BY n.g) AS position
    FROM ({NUMBERED}) AS n WHERE NOT n.rect AND n.h < 2
) AS b ORDER BY b.t, b.g"""
)

# Each chain row set to its head, as the trigger of verifactu 0008 leaves it.
FOLLOW_HEADS = """
UPDATE verifactu_chain c
SET length = r.position, head_id = r.id, last_huella = r.huella,
    head_invoice_number = r.invoice_number, head_invoice_date_text = r.invoice_date_text,
    head_generated_at_text = r.generated_at_text
FROM (
    SELECT DISTINCT ON (chain_id) chain_id, position, id, huella, invoice_number,
           invoice_date_text, generated_at_text
    FROM verifactu_billingrecord WHERE chain_id IN (SELECT chain_id FROM bench_tp)
    ORDER BY chain_id, position DESC
) AS r
WHERE c.id = r.chain_id
"""

# Each taxpayer's fiscal invoices, as the registration records' trigger of verifactu 0022
# counts them (switched off with the chain's while the records went in).
COUNT_FISCAL_INVOICES = """
INSERT INTO verifactu_fiscalinvoicecount AS c (taxpayer_id, invoices)
SELECT taxpayer_id, count(*) FROM verifactu_fiscalinvoice
WHERE taxpayer_id IN (SELECT id FROM bench_tp) GROUP BY taxpayer_id
ON CONFLICT (taxpayer_id) DO UPDATE SET invoices = excluded.invoices
"""

INSERT_EXPENSES = f"""
INSERT INTO expenses_expense (
    id, account_id, taxpayer_id, date, description, supplier_name, supplier_nif,
    amount_cents, base_cents, iva_rate_bp, iva_cents, is_deductible, deductible_bp, paid,
    receipt, receipt_content_type, receipt_name, search_text, created_at
)
SELECT gen_random_uuid(), %(account)s, tp.id, %(year_start)s::date + (e * 7) %% %(days)s,
       'Gasto ' || e, 'Proveedor ' || (e %% 5), (%(supplier_nifs)s::text[])[e %% 5 + 1],
       12100 * (1 + e %% 7), 10000 * (1 + e %% 7), 2100, 2100 * (1 + e %% 7), true, 10000,
       true, '', '', '', 'gasto ' || e, now()
FROM bench_tp tp CROSS JOIN generate_series(1, {EXPENSES}) AS e
"""

# The busy taxpayer's history: created and issued, paid with its payment, cancelled.
INSERT_EVENTS = """
INSERT INTO invoicing_invoiceevent (invoice_id, at, user_id, token_label, action, detail)
SELECT i.id, i.created_at + s.after, %(user)s, '', s.action, '{}'::jsonb
FROM invoicing_invoice i
JOIN (VALUES ('created', interval '0'), ('issued', interval '10 hours')) AS s(action, after)
     ON true
WHERE i.taxpayer_id = %(busy)s
UNION ALL
SELECT i.id, coalesce(i.paid_at, i.cancelled_at), %(user)s, '',
       CASE WHEN i.paid_at IS NOT NULL THEN 'paid' ELSE 'cancelled' END, '{}'::jsonb
FROM invoicing_invoice i
WHERE i.taxpayer_id = %(busy)s AND (i.paid_at IS NOT NULL OR i.cancelled_at IS NOT NULL)
"""

INSERT_PAYMENTS = """
INSERT INTO invoicing_payment (
    id, account_id, invoice_id, date, amount_cents, method, note, created_by_id, created_at
)
SELECT gen_random_uuid(), i.account_id, i.id, i.paid_at::date, i.total_cents, 'transfer', '',
       %(user)s, i.paid_at
FROM invoicing_invoice i WHERE i.taxpayer_id = %(busy)s AND i.paid_at IS NOT NULL
"""


def _say(started: float, what: str) -> None:
    print(f"  gestoría: {what} ({time.perf_counter() - started:.0f} s)", flush=True)


def ensure_gestoria(quick: bool) -> Gestoria:
    """The bench account at its size, seeded now when missing (Django must be set up)."""
    from factu.models import Account, Membership
    from invoicing.models import InvoiceCount

    taxpayers, invoices = (QUICK_TAXPAYERS, QUICK_INVOICES) if quick else (TAXPAYERS, INVOICES)
    slug = f"bench-gestoria-{taxpayers}x{invoices}"
    account = Account.objects.filter(slug=slug).first()
    expected = taxpayers * invoices
    if account is not None:
        counted = InvoiceCount.objects.filter(account_id=account.pk).first()
        if counted is None or counted.invoices != expected:
            raise SystemExit(
                f"{slug} holds {counted and counted.invoices} invoices, not {expected}"
            )
    else:
        account = _seed(slug, taxpayers, invoices)
    membership = Membership.objects.select_related("user").get(account=account)
    year, quarter = closed_quarter(date.today())
    ids = list(account.taxpayers.order_by("name", "id").values_list("id", flat=True))
    return Gestoria(
        account_id=account.pk,
        taxpayer_ids=ids,
        email=membership.user.email,
        password=PASSWORD,
        year=year,
        quarter=quarter,
        busy_taxpayer_id=ids[0],
    )


def _seed(slug: str, taxpayers: int, invoices: int, *, analyse: bool = True):
    """Seed the account in one transaction; ``analyse``: VACUUM ANALYZE the tables after
    (not possible inside a test's transaction)."""
    from django.db import connection, transaction

    from clients.models import Client
    from factu.models import Account, Membership, Role, Taxpayer, User
    from invoicing.models import Series, SeriesCounter
    from verifactu.installations import default_installation
    from verifactu.models import Chain

    started = time.perf_counter()
    today = date.today()
    year, quarter = closed_quarter(today)
    busy_first = date(year, 3 * quarter - 2, 1)
    busy_days = (date(year, 3 * quarter, 28) - busy_first).days + 3  # to the quarter's end
    year_start = date(year, 1, 1)
    year_days = max((min(today, date(year, 12, 31)) - year_start).days, 1)  # up to yesterday
    client_nifs = [dni(100_000 + c) for c in range(CLIENTS)]
    supplier_nifs = [dni(200_000 + s) for s in range(5)]
    print(f"seeding {slug}: {taxpayers} taxpayers × {invoices} invoices", flush=True)
    with transaction.atomic():
        with connection.cursor() as cursor:
            _switch_chain_triggers(cursor, "DISABLE")
        account = Account.objects.create(
            name=f"Bench gestoría {taxpayers}×{invoices}", slug=slug, kind=Account.Kind.GESTORIA
        )
        user = User.objects.create_user(f"{slug}@bench.example", PASSWORD, full_name="Gestora")
        system = default_installation(account.pk)
        people = Taxpayer.objects.bulk_create(
            Taxpayer(account=account, nif=dni(t), name=f"Bench {t:03d} Autónomo")
            for t in range(taxpayers)
        )
        Membership.objects.create(
            user=user, account=account, role=Role.ACCOUNTANT, current_taxpayer=people[0]
        )
        series_a = Series.objects.bulk_create(
            Series(account=account, taxpayer=p, code="A", padding=5) for p in people
        )
        series_r = Series.objects.bulk_create(
            Series(account=account, taxpayer=p, code="R", kind=Series.Kind.RECTIFYING, padding=5)
            for p in people
        )
        rects = invoices // RECT_EVERY
        SeriesCounter.objects.bulk_create(
            [SeriesCounter(series=s, year=year, next_number=invoices - rects + 1) for s in series_a]
            + [SeriesCounter(series=s, year=year, next_number=rects + 1) for s in series_r]
        )
        Client.objects.bulk_create(
            Client(
                account=account,
                taxpayer=p,
                name=f"Cliente {c:02d} SL",
                nif=nif,
                country="ES",
                search_text=f"cliente {c:02d} sl {nif.lower()}",
            )
            for p in people
            for c, nif in enumerate(client_nifs)
        )
        chains = Chain.objects.bulk_create(
            Chain(
                account=account,
                issuer_nif=p.nif,
                issuer_name=p.name,
                multiple_taxpayers=True,
                **system.installation,
            )
            for p in people
        )
        params = {
            "account": account.pk,
            "user": user.pk,
            "system": system.pk,
            "year": year,
            "today": today,
            "client_nifs": client_nifs,
            "supplier_nifs": supplier_nifs,
            "year_start": year_start,
            "days": year_days,
            "busy": people[0].pk,
        }
        with connection.cursor() as cursor:
            cursor.execute(TP_TABLE)
            cursor.executemany(
                "INSERT INTO bench_tp VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        t,
                        p.pk,
                        p.nif,
                        p.name,
                        series_a[t].pk,
                        series_r[t].pk,
                        chains[t].pk,
                        invoices,
                        busy_first if t == 0 else year_start,
                        busy_days if t == 0 else year_days,
                        1500 if t % 3 == 1 else 0,
                        t == 0,
                    )
                    for t, p in enumerate(people)
                ],
            )
            _say(started, "account, taxpayers, series, clients, chains")
            steps = (
                ("invoices", INSERT_INVOICES),
                ("invoice lines", INSERT_LINES),
                ("fiscal invoices (SQL)", INSERT_FISCAL),
            )
            for what, sql in steps:
                cursor.execute(sql, params)
                _say(started, f"{cursor.rowcount:,} {what}")
            built = _busy_records(account, people[0], chains[0], system)
            _say(started, f"{built:,} records of the busy taxpayer built by the engine")
            for what, sql in (("altas (SQL)", INSERT_ALTAS), ("anulaciones", INSERT_ANULACIONES)):
                cursor.execute(sql, params)
                _say(started, f"{cursor.rowcount:,} {what}")
            cursor.execute(FOLLOW_HEADS)
            cursor.execute(COUNT_FISCAL_INVOICES)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no ALTER with checks pending
            _switch_chain_triggers(cursor, "ENABLE")
            for what, sql in (
                ("expenses", INSERT_EXPENSES),
                ("events", INSERT_EVENTS),
                ("payments", INSERT_PAYMENTS),
            ):
                cursor.execute(sql, params)
                _say(started, f"{cursor.rowcount:,} {what}")
    with connection.cursor() as cursor:
        for table in (
            ()
            if not analyse
            else (
                "invoicing_invoice",
                "invoicing_invoiceline",
                "verifactu_fiscalinvoice",
                "verifactu_billingrecord",
                "expenses_expense",
            )
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    _say(started, "seeded and analysed")
    return account


def _switch_chain_triggers(cursor, action: str) -> None:
    """The chain's guard and the record insert trigger that moves it, off or on again (in
    the seed's transaction: an interrupted seed leaves them on)."""
    for table in ("verifactu_billingrecord", "verifactu_chain"):
        cursor.execute(f"ALTER TABLE {table} {action} TRIGGER USER")


def _busy_records(account, taxpayer, chain, system) -> int:
    """The busy taxpayer's fiscal invoices and altas, as ``issue_invoice`` makes them
    (``record_facts`` of the stored invoice and lines), chained by the engine's builder."""
    from django.utils import timezone
    from seed_records import alta_record

    from invoicing.models import Invoice
    from invoicing.registration import record_facts
    from verifactu import xml as vxml
    from verifactu.huella import format_timestamp
    from verifactu.models import BillingRecord, FiscalInvoice
    from verifactu.records import alta_data, fiscal_columns

    invoices = (
        Invoice.objects.filter(taxpayer=taxpayer)
        .select_related("rectified_invoice")
        .prefetch_related("lines")
        .order_by("issue_date", "created_at", "series__code", "sequence")
    )
    fiscal, records = [], []
    previous, head_id, head_huella = None, None, ""
    generated_at = format_timestamp(timezone.now())
    for position, invoice in enumerate(invoices, start=1):
        facts = record_facts(invoice, list(invoice.lines.all()), replaced=[])
        fiscal.append(
            FiscalInvoice(
                id=invoice.fiscal_invoice_id,
                account=account,
                taxpayer=taxpayer,
                computer_system=system,
                source=FiscalInvoice.Source.FACTU,
                **fiscal_columns(facts),
            )
        )
        ref = f"{invoice.fiscal_invoice_id.hex[:24]}-{position}"
        data = alta_data(
            facts,
            system=system,
            previous=previous,
            generated_at=generated_at,
            multiple_taxpayers=True,
            ref_externa=ref,
        )
        built = vxml.build_alta(data)
        record_id = derived_id("br", account.pk, 0, position)
        records.append(
            alta_record(
                data,
                built,
                id=record_id,
                fiscal_invoice_id=invoice.fiscal_invoice_id,
                chain=chain,
                position=position,
                previous_id=head_id,
                previous_huella=head_huella,
                generated_at_text=generated_at,
                status=_busy_status(position),
                csv="BENCH",
            )
        )
        head_id, head_huella = record_id, built.huella
        previous = vxml.PreviousRecord(data.nif, data.numserie, data.fecha_expedicion, built.huella)
    FiscalInvoice.objects.bulk_create(fiscal, batch_size=1000)
    BillingRecord.objects.bulk_create(records, batch_size=1000)
    return len(records)


def _busy_status(position: int) -> str:
    return "rejected" if position % 100 == 37 else "accepted"


if __name__ == "__main__":
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import common

    parser = argparse.ArgumentParser(description="Seed (or find) the gestoría bench account.")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    common.setup_django(common.bench_database_url())
    found = ensure_gestoria(args.quick)
    print(f"{len(found.taxpayer_ids)} taxpayers, {found.email}, {found.year} Q{found.quarter}")
