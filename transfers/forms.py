from __future__ import annotations

from django import forms

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


class QuarterCloseForm(ExportForm):
    pdfs = forms.BooleanField(
        label="Incluir las facturas en PDF",
        required=False,
        help_text="Tarda bastante más con muchos contribuyentes. Sin marcar: libros en CSV, "
        "resumen de impuestos y registros de facturación (XML).",
    )
