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

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from invoicing.pdf_document import (
    DocumentBranding,
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
from invoicing.pdf_parts import NumberedCanvas, Rule, contrast_on_white
from invoicing.pdf_qr import QRCodeFlowable, qr_matrix

__all__ = [
    "MIMETYPE",
    "DocumentBranding",
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
# The renderer
# ---------------------------------------------------------------------------------------

_INK = colors.HexColor("#222222")
_MUTED = colors.HexColor("#666666")
_RULE = colors.HexColor("#BBBBBB")
_SHADE = colors.HexColor("#EEEEEE")


class InvoiceRenderer:
    """Renders an :class:`InvoiceDocument` to A4. Override a hook to change one part.

    Hooks return lists of flowables, in page order: :meth:`draw_header` (the QR block, the
    logo and the issuer, an accent rule), :meth:`draw_parties` (invoice data, the client and
    :meth:`draw_description`), :meth:`draw_lines`, :meth:`draw_totals`, :meth:`draw_footer`
    (:meth:`draw_payment`, whose lines are :meth:`payment_lines`, and :meth:`draw_notes`).
    :meth:`draw_qr` builds the QR block (none without ``qr_url``: drafts, and documents such
    as quotes that never carry one), :meth:`draw_logo` and :meth:`draw_issuer` the issuer's
    side. :meth:`draw_page` (every page, behind the content: the "ANULADA" mark) and
    :meth:`draw_page_footer` (every page: the branding's footer text and "Página N de M")
    draw on the canvas.
    """

    pagesize = A4
    margin_left = margin_right = 18 * mm
    margin_top = 14 * mm
    margin_bottom = 20 * mm
    font = "Helvetica"
    font_bold = "Helvetica-Bold"
    font_size = 9  # the invoice data; the QR texts are never smaller
    qr_symbol_size = 32 * mm
    qr_column = 75 * mm  # the QR block's column: the legend's width
    logo_box = (55 * mm, 22 * mm)  # the largest a logo is drawn (width, height)
    footer_space = 12 * mm  # added to the bottom margin when the issuer has a footer text
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
            "issuer_right": ParagraphStyle(
                "issuer_right",
                normal,
                fontName=self.font_bold,
                fontSize=size + 4,
                leading=size + 7,
                alignment=TA_RIGHT,
            ),
            "bold_right": ParagraphStyle(
                "bold_right", normal, fontName=self.font_bold, alignment=TA_RIGHT
            ),
            "footer": ParagraphStyle(
                "footer",
                normal,
                fontSize=size - 2,
                leading=(size - 2) * 1.25,
                textColor=_MUTED,
                alignment=TA_CENTER,
            ),
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

    def party_block(
        self, heading: str | None, party: Party, name_style: str = "bold", body: str = "normal"
    ) -> list:
        block = [self.para(heading, "heading")] if heading else []
        block.append(self.para(party.name, name_style))
        if party.tax_id:
            label = f"{party.tax_id_label}: " if party.tax_id_label else ""
            block.append(self.para(label + party.tax_id, body))
        block.extend(self.para(line, body) for line in party.address_lines if line)
        return block

    def labelled(self, label: str, text: str) -> Paragraph:
        """ "Label: text" with the label in bold (the text escaped)."""
        markup = f"<b>{escape(label)}:</b> " + escape(text).replace("\n", "<br/>")
        return Paragraph(markup, self.styles["normal"])

    def accent(self, doc: InvoiceDocument) -> colors.Color:
        """The issuer's accent colour (rules, table heads), else the ink."""
        return colors.HexColor(doc.branding.accent_color) if doc.branding else _INK

    def title_color(self, doc: InvoiceDocument) -> colors.Color:
        """The accent when it reads on white as text (4.5:1, WCAG AA), else the ink."""
        accent = self.accent(doc)
        return accent if contrast_on_white(accent) >= 4.5 else _INK

    def row(self, left, right, left_width: float, right_aligned: bool = False) -> Table:
        """Two columns side by side (cells: flowables or lists of them); ``right_aligned``
        pushes the right cell's flowables (a logo) to the right edge."""
        table = Table(
            [[left, right]], colWidths=[left_width, self.frame_width - left_width], hAlign="LEFT"
        )
        table.setStyle(self._table_styles["layout"])
        if right_aligned:
            table.setStyle(TableStyle([("ALIGN", (1, 0), (1, 0), "RIGHT")]))
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

    def draw_logo(self, doc: InvoiceDocument) -> list:
        """The issuer's logo, scaled into :attr:`logo_box` (keeping its proportions)."""
        if not (doc.branding and doc.branding.logo):
            return []
        reader = ImageReader(io.BytesIO(doc.branding.logo))
        width, height = reader.getSize()
        box_w, box_h = self.logo_box
        scale = min(box_w / width, box_h / height)
        logo = Image(io.BytesIO(doc.branding.logo), width * scale, height * scale)
        logo.hAlign = "RIGHT"
        return [logo, Spacer(1, 2 * mm)]

    def draw_issuer(self, doc: InvoiceDocument, align_right: bool) -> list:
        """The issuer's name, tax id, address and contact lines."""
        name, body = ("issuer_right", "right") if align_right else ("issuer", "normal")
        block = self.party_block(None, doc.issuer, name, body)
        if doc.branding:
            block.extend(self.para(line, body) for line in doc.branding.contact_lines)
        return block

    def draw_header(self, doc: InvoiceDocument) -> list:
        """Top of page 1. With a QR: the QR block top-left (before the content, AEAT's
        place) and, balancing it on the right, the logo over the issuer. Without one (a draft,
        a quote): the issuer on the left and the logo on the right. An accent rule under it."""
        qr = self.draw_qr(doc)
        logo = self.draw_logo(doc)
        if qr:
            issuer = [*logo, *self.draw_issuer(doc, True)]
            header = self.row(qr, issuer, self.qr_column, right_aligned=True)
        elif logo:
            issuer = self.draw_issuer(doc, False)
            header = self.row(issuer, logo, self.frame_width - 60 * mm, right_aligned=True)
        else:
            header = self.row(self.draw_issuer(doc, False), "", self.frame_width - 1)
        return [
            header,
            Spacer(1, 3 * mm),
            Rule(self.frame_width, self.accent(doc)),
            Spacer(1, 4 * mm),
        ]

    def invoice_data(self, doc: InvoiceDocument) -> list:
        """Title, number, dates and the rectified invoice."""
        title = ParagraphStyle(
            "title_accent", self.styles["title"], textColor=self.title_color(doc)
        )
        block = [Paragraph(escape(doc.title), title), self.para(f"Número: {doc.number}", "bold")]
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
        if doc.rectification_mode:
            block.append(self.para(f"Rectificación {doc.rectification_mode}"))
        return block

    def draw_description(self, doc: InvoiceDocument) -> list:
        """The invoice's description, full width; on a rectificativa, its reason."""
        if not doc.description:
            return []
        label = (
            "Motivo de la rectificación" if doc.rectified_number else "Descripción de la factura"
        )
        return [self.labelled(label, doc.description), Spacer(1, 5 * mm)]

    def draw_parties(self, doc: InvoiceDocument) -> list:
        """The invoice's identification (left) and the client (right; none on some F2)."""
        story = []
        if doc.cancelled:
            story.append(self.para("FACTURA ANULADA", "cancelled"))
            story.append(Spacer(1, 2 * mm))
        client = self.party_block("Cliente", doc.client) if doc.client else ""
        story.append(self.row(self.invoice_data(doc), client, 95 * mm))
        story.append(Spacer(1, 6 * mm))
        story.extend(self.draw_description(doc))
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
        table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 1, self.accent(doc))]))
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
        totals_table.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 1, self.accent(doc))]))
        flowables = [breakdown, Spacer(1, 4 * mm)] if doc.tax_groups else []
        flowables.append(totals_table)
        return [KeepTogether(flowables), Spacer(1, 6 * mm)]

    def payment_lines(self, doc: InvoiceDocument) -> list:
        """The lines of the "Pago" block: the method, the IBAN (one place for each line)."""
        lines = []
        if doc.payment_method:
            lines.append(self.para(f"Forma de pago: {doc.payment_method}"))
        if doc.iban:
            lines.append(self.para(f"IBAN: {_format_iban(doc.iban)}"))
        return lines

    def draw_payment(self, doc: InvoiceDocument) -> list:
        lines = self.payment_lines(doc)
        if not lines:
            return []
        return [KeepTogether([self.para("Pago", "heading"), *lines]), Spacer(1, 3 * mm)]

    def draw_notes(self, doc: InvoiceDocument) -> list:
        if not doc.notes:
            return []
        return [KeepTogether([self.para("Observaciones", "heading"), self.para(doc.notes)])]

    def draw_footer(self, doc: InvoiceDocument) -> list:
        """After the totals: payment details (:meth:`draw_payment`) and notes."""
        return [*self.draw_payment(doc), *self.draw_notes(doc)]

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
        if doc.branding and doc.branding.footer:
            footer = self.para(doc.branding.footer, "footer")
            _, height = footer.wrap(self.frame_width, self.footer_space)
            footer.drawOn(canvas, self.margin_left, y + 6 * mm)
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
            bottomMargin=self.margin_bottom
            + (self.footer_space if doc.branding and doc.branding.footer else 0),
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
            canvasmaker=functools.partial(NumberedCanvas, renderer=self, document=doc),
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
