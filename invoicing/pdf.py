"""The invoice PDF: a reportlab (platypus) renderer with small overridable hooks.

The renderer knows nothing of Django models: the caller turns an issued invoice (or a draft)
into a plain, frozen :class:`InvoiceDocument` — every amount in integer cents, every
quantity in hundredths, every rate in basis points — and gets back
``(filename, mimetype, bytes)``, in the style of pretix's ``BaseInvoiceRenderer``::

    filename, mimetype, data = InvoiceRenderer().render(document)

Issued invoices carry ``qr_url`` (``verifactu.qr.qr_url``): "QR tributario:" is printed
above the QR (error correction M, a 32 mm symbol inside a white quiet zone of 2–4 mm) at the
top-left of the first page, before the invoice's content, with the "VERI*FACTU" legend
below it when ``verifactu`` is true (SPEC §2). Drafts (``qr_url=None``) have neither.

Text uses reportlab's built-in Helvetica (WinAnsi: Spanish accents, ñ, ¿¡ and € print;
characters outside WinAnsi do not). A subclass may register a TTF font and set
``font``/``font_bold``. Styles are built once per class; the QR matrix is cached per URL.
"""

from __future__ import annotations

import functools
import io
import re
from xml.sax.saxutils import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from invoicing.pdf_document import (
    InvoiceDocument,
    InvoiceLine,
    Party,
    TaxGroup,
    format_date,
    format_percent,
    format_quantity,
    invoice_filename,
)
from invoicing.pdf_document import format_euros as _format_euros

__all__ = [
    "MIMETYPE",
    "InvoiceDocument",
    "InvoiceLine",
    "InvoiceRenderer",
    "Party",
    "QRCodeFlowable",
    "TaxGroup",
    "format_date",
    "format_percent",
    "format_quantity",
    "invoice_filename",
    "qr_matrix",
    "render_invoice",
]

MIMETYPE = "application/pdf"

# Content streams as plain Flate, without the ASCII85 layer reportlab adds by default: both
# are valid PDF; this saves ~15 % of the rendering time and a quarter of the file size.
rl_config.useA85 = 0


# ---------------------------------------------------------------------------------------
# The QR symbol, drawn as vector modules
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def qr_matrix(url: str) -> tuple[int, tuple[tuple[tuple[int, int], ...], ...]]:
    """(modules per side, dark runs per row as (start, length)), error correction M.

    Without the quiet zone: the flowable draws its own. Cached per URL.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    rows = []
    for row in code.get_matrix():
        runs = []
        start = None
        for x, dark in enumerate(row):
            if dark and start is None:
                start = x
            elif not dark and start is not None:
                runs.append((start, x - start))
                start = None
        if start is not None:
            runs.append((start, len(row) - start))
        rows.append(tuple(runs))
    return len(rows), tuple(rows)


@functools.lru_cache(maxsize=512)
def _qr_path_ops(url: str) -> tuple[int, str]:
    """The dark modules as one PDF fill, in module units (y up): ``x y w 1 re … f``."""
    modules, rows = qr_matrix(url)
    ops = [
        f"{start} {modules - 1 - r} {length} 1 re"
        for r, runs in enumerate(rows)
        for start, length in runs
    ]
    ops.append("f")
    return modules, "\n".join(ops)


class QRCodeFlowable(Flowable):
    """A QR symbol of ``symbol_size`` points inside a white quiet zone.

    The quiet zone is four modules (ISO/IEC 18004), clamped to [2 mm, 4 mm]: AEAT asks for
    at least 2 mm, and the whole stays within 40 mm. ``width``/``height`` include it. The
    modules are vector rectangles filled as one path (sharp at any zoom or printer).
    """

    def __init__(self, url: str, symbol_size: float = 32 * mm):
        super().__init__()
        self.url = url
        self.modules, self._ops = _qr_path_ops(url)
        self.symbol_size = symbol_size
        self.module_size = symbol_size / self.modules
        self.quiet_zone = min(max(4 * self.module_size, 2 * mm), 4 * mm)
        self.width = self.height = symbol_size + 2 * self.quiet_zone

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.white)
        canvas.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        canvas.translate(self.quiet_zone, self.quiet_zone)
        canvas.scale(self.module_size, self.module_size)
        canvas.setFillColor(colors.black)
        canvas.addLiteral(self._ops)  # preformatted: no per-module float formatting
        canvas.restoreState()


# ---------------------------------------------------------------------------------------
# Page numbers: "Página N de M" needs the page count, known only when the story is laid out
# ---------------------------------------------------------------------------------------


class _NumberedCanvas(Canvas):
    """Keeps each page's state and stamps "Página N de M" on all of them at save time."""

    def __init__(self, *args, renderer: InvoiceRenderer, document: InvoiceDocument, **kwargs):
        super().__init__(*args, **kwargs)
        self._renderer = renderer
        self._document = document
        self._saved_pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_pages)
        for number, state in enumerate(self._saved_pages, start=1):
            self.__dict__.update(state)
            self._renderer.draw_page_footer(self, self._document, number, total)
            super().showPage()
        super().save()


# ---------------------------------------------------------------------------------------
# The renderer
# ---------------------------------------------------------------------------------------

_INK = colors.HexColor("#222222")
_MUTED = colors.HexColor("#666666")
_RULE = colors.HexColor("#BBBBBB")
_SHADE = colors.HexColor("#EEEEEE")


class InvoiceRenderer:
    """Renders an :class:`InvoiceDocument` to A4. Override a hook to change one part.

    Hooks return lists of flowables, in page order: :meth:`draw_header` (QR block and the
    issuer), :meth:`draw_parties` (invoice data and the client), :meth:`draw_lines`,
    :meth:`draw_totals`, :meth:`draw_footer` (payment and notes); :meth:`draw_qr` builds
    the QR block; :meth:`draw_page` (every page, behind the content: the "ANULADA" mark) and
    :meth:`draw_page_footer` (every page: "Página N de M") draw on the canvas.
    """

    pagesize = A4
    margin_left = margin_right = 18 * mm
    margin_top = 14 * mm
    margin_bottom = 20 * mm
    font = "Helvetica"
    font_bold = "Helvetica-Bold"
    font_size = 9  # the invoice data; the QR texts are never smaller
    qr_symbol_size = 32 * mm
    filename_prefix = "factura"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._styles_cache = None  # a subclass may change fonts: its own styles

    _styles_cache: dict[str, ParagraphStyle] | None = None

    # -- styles, built once per class -------------------------------------------------------

    @property
    def styles(self) -> dict[str, ParagraphStyle]:
        cls = type(self)
        if cls._styles_cache is None:
            cls._styles_cache = self.build_styles()
        return cls._styles_cache

    def build_styles(self) -> dict[str, ParagraphStyle]:
        size, leading = self.font_size, self.font_size * 1.3
        normal = ParagraphStyle(
            "normal", fontName=self.font, fontSize=size, leading=leading, textColor=_INK
        )
        return {
            "normal": normal,
            "small": ParagraphStyle("small", normal, fontSize=size - 1, leading=(size - 1) * 1.3),
            "muted": ParagraphStyle("muted", normal, textColor=_MUTED),
            "bold": ParagraphStyle("bold", normal, fontName=self.font_bold),
            "issuer": ParagraphStyle(
                "issuer", normal, fontName=self.font_bold, fontSize=size + 4, leading=size + 7
            ),
            "title": ParagraphStyle(
                "title", normal, fontName=self.font_bold, fontSize=size + 8, leading=size + 12
            ),
            "heading": ParagraphStyle(
                "heading", normal, fontName=self.font_bold, textColor=_MUTED, spaceAfter=1
            ),
            "right": ParagraphStyle("right", normal, alignment=TA_RIGHT),
            "qr": ParagraphStyle(
                "qr", normal, fontName=self.font_bold, fontSize=size + 1, leading=(size + 1) * 1.3
            ),
            "qr_legend": ParagraphStyle(
                "qr_legend", normal, alignment=TA_LEFT, fontSize=size, leading=size * 1.25
            ),
            "cancelled": ParagraphStyle(
                "cancelled",
                normal,
                fontName=self.font_bold,
                fontSize=size + 3,
                leading=size + 6,
                textColor=colors.HexColor("#B00020"),
            ),
        }

    @functools.cached_property
    def _table_styles(self) -> dict[str, TableStyle]:
        base = [
            ("FONTNAME", (0, 0), (-1, -1), self.font),
            ("FONTSIZE", (0, 0), (-1, -1), self.font_size),
            ("TEXTCOLOR", (0, 0), (-1, -1), _INK),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        head = [
            ("FONTNAME", (0, 0), (-1, 0), self.font_bold),
            ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, _INK),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ]
        return {
            "layout": TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ]
            ),
            "lines": TableStyle([*base, *head, ("LINEBELOW", (0, 1), (-1, -1), 0.25, _RULE)]),
            "breakdown": TableStyle([*base, *head]),
            "totals": TableStyle(
                [
                    *base,
                    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                    ("LINEABOVE", (0, -1), (-1, -1), 0.8, _INK),
                    ("FONTNAME", (0, -1), (-1, -1), self.font_bold),
                    ("FONTSIZE", (0, -1), (-1, -1), self.font_size + 2),
                    ("TOPPADDING", (0, -1), (-1, -1), 4),
                ]
            ),
        }

    # -- helpers --------------------------------------------------------------------------

    @property
    def frame_width(self) -> float:
        return self.pagesize[0] - self.margin_left - self.margin_right

    def format_euros(self, cents: int) -> str:
        return _format_euros(cents)

    def para(self, text: str, style: str = "normal") -> Paragraph:
        """A paragraph of plain text (escaped; newlines kept)."""
        return Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style])

    def party_block(self, heading: str | None, party: Party, name_style: str = "bold") -> list:
        block = [self.para(heading, "heading")] if heading else []
        block.append(self.para(party.name, name_style))
        if party.tax_id:
            label = f"{party.tax_id_label}: " if party.tax_id_label else ""
            block.append(self.para(label + party.tax_id))
        block.extend(self.para(line) for line in party.address_lines if line)
        return block

    def row(self, left, right, left_width: float) -> Table:
        """Two columns side by side (cells: flowables or lists of them)."""
        table = Table(
            [[left, right]], colWidths=[left_width, self.frame_width - left_width], hAlign="LEFT"
        )
        table.setStyle(self._table_styles["layout"])
        return table

    # -- hooks ----------------------------------------------------------------------------

    def draw_qr(self, doc: InvoiceDocument) -> list:
        """The "QR tributario:" block: label, symbol and (VERI*FACTU) legend; none on drafts."""
        if not doc.qr_url:
            return []
        block = [
            self.para("QR tributario:", "qr"),
            QRCodeFlowable(doc.qr_url, self.qr_symbol_size),
        ]
        if doc.verifactu:
            block.append(self.para("VERI*FACTU", "qr"))
            block.append(
                self.para("Factura verificable en la sede electrónica de la AEAT", "qr_legend")
            )
        return block

    def draw_header(self, doc: InvoiceDocument) -> list:
        """Top of page 1: the QR block (top-left, before the content) and the issuer."""
        issuer = self.party_block(None, doc.issuer, "issuer")
        qr = self.draw_qr(doc)
        if not qr:
            return [*issuer, Spacer(1, 5 * mm)]
        return [self.row(qr, issuer, 75 * mm), Spacer(1, 4 * mm)]

    def invoice_data(self, doc: InvoiceDocument) -> list:
        """Title, number, dates and the rectified invoice."""
        block = [self.para(doc.title, "title"), self.para(f"Número: {doc.number}", "bold")]
        block.append(self.para(f"{doc.issue_date_label}: {format_date(doc.issue_date)}"))
        if doc.valid_until:
            block.append(self.para(f"Válido hasta: {format_date(doc.valid_until)}"))
        if doc.operation_date and doc.operation_date != doc.issue_date:
            block.append(self.para(f"Fecha de operación: {format_date(doc.operation_date)}"))
        if doc.issuance:
            block.append(self.para(doc.issuance))
        if doc.replaces:
            numbers = ", ".join(doc.replaces)
            block.append(self.para(f"Sustituye a las facturas simplificadas {numbers}"))
        if doc.due_date:
            block.append(self.para(f"Fecha de vencimiento: {format_date(doc.due_date)}"))
        if doc.rectified_number:
            text = f"Rectifica la factura {doc.rectified_number}"
            if doc.rectified_date:
                text += f" de {format_date(doc.rectified_date)}"
            block.append(self.para(text))
        return block

    def draw_parties(self, doc: InvoiceDocument) -> list:
        """The invoice's identification (left) and the client (right; none on some F2)."""
        story = []
        if doc.cancelled:
            story.append(self.para("FACTURA ANULADA", "cancelled"))
            story.append(Spacer(1, 2 * mm))
        client = self.party_block("Cliente", doc.client) if doc.client else ""
        story.append(self.row(self.invoice_data(doc), client, 95 * mm))
        story.append(Spacer(1, 6 * mm))
        return story

    def draw_lines(self, doc: InvoiceDocument) -> list:
        """The lines table; its header row repeats on every page it flows onto."""
        discounts = any(line.discount_bp for line in doc.lines)
        header = ["Descripción", "Cantidad", "Precio unit."]
        widths = [16 * mm, 24 * mm]
        if discounts:
            header.append("Dto.")
            widths.append(14 * mm)
        header += ["IVA", "Importe"]
        widths += [22 * mm, 26 * mm]
        widths.insert(0, self.frame_width - sum(widths))
        style = self.styles["normal"]
        data = [header]
        for line in doc.lines:
            row = [
                Paragraph(escape(line.description).replace("\n", "<br/>"), style),
                format_quantity(line.quantity_hundredths),
                _format_euros(line.unit_price_cents),
            ]
            if discounts:
                row.append(format_percent(line.discount_bp) if line.discount_bp else "")
            row += [line.tax_label, _format_euros(line.amount_cents)]
            data.append(row)
        table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(self._table_styles["lines"])
        return [table, Spacer(1, 5 * mm)]

    def draw_totals(self, doc: InvoiceDocument) -> list:
        """The tax breakdown (per rate / exemption) and the totals, kept together."""
        recargo = any(g.recargo_rate_bp or g.recargo_cents for g in doc.tax_groups)
        header = ["Impuesto", "Base imponible", "Tipo", "Cuota"]
        if recargo:
            header += ["Recargo eq.", "Cuota RE"]
        data = [header]
        for group in doc.tax_groups:
            row = [
                group.label,
                _format_euros(group.base_cents),
                format_percent(group.rate_bp) if group.rate_bp is not None else "",
                _format_euros(group.cuota_cents),
            ]
            if recargo:
                row += [
                    format_percent(group.recargo_rate_bp) if group.recargo_rate_bp else "",
                    _format_euros(group.recargo_cents) if group.recargo_cents else "",
                ]
            data.append(row)
        widths = [30 * mm, 18 * mm, 30 * mm]
        if recargo:
            widths = [26 * mm, 14 * mm, 24 * mm, 18 * mm, 24 * mm]
        widths.insert(0, self.frame_width - sum(widths))
        breakdown = Table(data, colWidths=widths, hAlign="LEFT")
        breakdown.setStyle(self._table_styles["breakdown"])

        totals = [["Base imponible", _format_euros(doc.subtotal_cents)]]
        totals.append([doc.tax_total_label, _format_euros(doc.iva_cents)])
        if doc.recargo_cents:
            totals.append(["Recargo de equivalencia", _format_euros(doc.recargo_cents)])
        if doc.irpf_cents or doc.irpf_rate_bp:
            label = f"Retención IRPF {format_percent(doc.irpf_rate_bp)}"
            totals.append([label, _format_euros(-doc.irpf_cents)])
        totals.append(["Total", _format_euros(doc.total_cents)])
        totals_table = Table(totals, colWidths=[48 * mm, 30 * mm], hAlign="RIGHT")
        totals_table.setStyle(self._table_styles["totals"])
        flowables = [breakdown, Spacer(1, 4 * mm)] if doc.tax_groups else []
        flowables.append(totals_table)
        return [KeepTogether(flowables), Spacer(1, 6 * mm)]

    def draw_footer(self, doc: InvoiceDocument) -> list:
        """After the totals: payment details and notes."""
        story = []
        payment = []
        if doc.payment_method:
            payment.append(self.para(f"Forma de pago: {doc.payment_method}"))
        if doc.iban:
            payment.append(self.para(f"IBAN: {_format_iban(doc.iban)}"))
        if payment:
            story.append(KeepTogether([self.para("Pago", "heading"), *payment]))
            story.append(Spacer(1, 3 * mm))
        if doc.notes:
            notes = [self.para("Observaciones", "heading"), self.para(doc.notes)]
            story.append(KeepTogether(notes))
        return story

    def draw_page(self, canvas: Canvas, doc: InvoiceDocument) -> None:
        """Every page, before its content: the diagonal "ANULADA" on a cancelled invoice."""
        if not doc.cancelled:
            return
        width, height = self.pagesize
        canvas.saveState()
        canvas.setFillColor(colors.Color(0.8, 0, 0.1, alpha=0.12))
        canvas.setFont(self.font_bold, 110)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -35, "ANULADA")
        canvas.restoreState()

    def draw_page_footer(self, canvas: Canvas, doc: InvoiceDocument, page: int, pages: int):
        """Every page: the invoice's reference and "Página N de M"."""
        width = self.pagesize[0]
        y = self.margin_bottom - 10 * mm
        canvas.saveState()
        canvas.setFont(self.font, self.font_size - 1)
        canvas.setFillColor(_MUTED)
        canvas.setStrokeColor(_RULE)
        canvas.setLineWidth(0.4)
        canvas.line(self.margin_left, y + 4 * mm, width - self.margin_right, y + 4 * mm)
        reference = f"{doc.title} {doc.number} · {doc.issuer.name}"
        if doc.issuer.tax_id:
            reference += f" · {doc.issuer.tax_id_label} {doc.issuer.tax_id}".rstrip()
        canvas.drawString(self.margin_left, y, reference)
        canvas.drawRightString(width - self.margin_right, y, f"Página {page} de {pages}")
        canvas.restoreState()

    # -- assembly -------------------------------------------------------------------------

    def build_story(self, doc: InvoiceDocument) -> list:
        return [
            *self.draw_header(doc),
            *self.draw_parties(doc),
            *self.draw_lines(doc),
            *self.draw_totals(doc),
            *self.draw_footer(doc),
        ]

    def filename(self, doc: InvoiceDocument) -> str:
        return invoice_filename(doc.number, self.filename_prefix)

    def render(self, doc: InvoiceDocument) -> tuple[str, str, bytes]:
        """``(filename, "application/pdf", pdf bytes)``."""
        buffer = io.BytesIO()
        template = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=self.margin_left,
            rightMargin=self.margin_right,
            topMargin=self.margin_top,
            bottomMargin=self.margin_bottom,
            title=f"{doc.title} {doc.number}",
            author=doc.issuer.name,
            subject=doc.title,
            creator="Factu",
            invariant=True,
        )

        def on_page(canvas, _template):
            self.draw_page(canvas, doc)

        template.build(
            self.build_story(doc),
            onFirstPage=on_page,
            onLaterPages=on_page,
            canvasmaker=functools.partial(_NumberedCanvas, renderer=self, document=doc),
        )
        return self.filename(doc), MIMETYPE, buffer.getvalue()


def _format_iban(iban: str) -> str:
    compact = re.sub(r"\s+", "", iban).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@functools.lru_cache(maxsize=1)
def _default_renderer() -> InvoiceRenderer:
    return InvoiceRenderer()


def render_invoice(doc: InvoiceDocument) -> tuple[str, str, bytes]:
    """Shortcut: render with the default :class:`InvoiceRenderer`."""
    return _default_renderer().render(doc)
