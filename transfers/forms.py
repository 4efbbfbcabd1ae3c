from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from factu.models import Job


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Archivo CSV",
        help_text="Separado por «;» o «,», en UTF-8 (con o sin BOM) o Windows-1252. "
        "La primera fila es la cabecera.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    mode = forms.ChoiceField(
        label="Si alguna fila tiene errores",
        choices=Job.Mode.choices,
        initial=Job.Mode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )


class ExportForm(forms.Form):
    year = forms.IntegerField(label="Año", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="Trimestre",
        coerce=int,
        choices=[
            (1, "1T (enero–marzo)"),
            (2, "2T (abril–junio)"),
            (3, "3T (julio–septiembre)"),
            (4, "4T (octubre–diciembre)"),
        ],
    )

    einvoices = forms.BooleanField(
        label="Incluir las facturas electrónicas (UBL y Facturae)",
        required=False,
        help_text="Las guardadas al emitir cada factura, en la carpeta facturas-electronicas.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        year, quarter = cleaned.get("year"), cleaned.get("quarter")
        if year and quarter and date(year, 3 * quarter - 2, 1) > timezone.localdate():
            self.add_error("quarter", "Ese trimestre aún no ha empezado: no hay nada que exportar.")
        return cleaned


class QuarterCloseForm(ExportForm):
    pdfs = forms.BooleanField(
        label="Incluir las facturas en PDF",
        required=False,
        help_text="Tarda bastante más con muchos contribuyentes. Sin marcar: libros en CSV, "
        "resumen de impuestos y registros de facturación (XML).",
    )

    field_order = ["year", "quarter", "pdfs", "einvoices"]
