"""AEAT error codes explained in plain Spanish, with the fix to apply (SPEC §3.1).

Data only: the desk, the APIs or a report may show these texts, but nothing here knows how.
Envelope codes (4xxx, 35xx, 20009) concern a whole submission (which of them Factu retries
by itself is :data:`verifactu.faults.FAULT_KINDS`); record codes (1xxx, 3xxx)
mean the record was rejected; 2xxx codes mean AEAT stored the record with errors, to be fixed
by a subsanación.
"""

from __future__ import annotations

CONTACTAR = "Si persiste, contacte con el soporte de Factu."

AEAT_ERRORS: dict[str, str] = {
    # Whole envelope rejected: nothing of the submission was stored.
    "4102": "El envío no cumple el formato que exige la AEAT (falta un dato obligatorio o "
    "sobra uno). Es un fallo del programa, no de la factura: reintente y, " + CONTACTAR,
    "4103": "La AEAT no pudo leer el envío (XML mal formado). Reintente; " + CONTACTAR,
    "4104": "La AEAT no reconoce el NIF del obligado a emitir. Revise el NIF del "
    "contribuyente en su ficha y reintente.",
    "4107": "El NIF del obligado no figura en el censo de la AEAT. Compruebe el NIF del "
    "contribuyente; si es correcto, debe darse de alta en el censo antes de reintentar.",
    "4109": "El NIF del obligado tiene un formato incorrecto. Corríjalo en la ficha del "
    "contribuyente y reintente.",
    "4112": "El titular del certificado no puede presentar por este contribuyente: no es el "
    "obligado, ni su apoderado, colaborador social o sucesor. Suba el certificado correcto o "
    "registre el apoderamiento en la AEAT y reintente.",
    "4113": "El envío tiene demasiados elementos en un bloque. Reintente; " + CONTACTAR,
    "4114": "El envío superaba los 1.000 registros permitidos. Reintente: se enviarán en "
    "tandas más pequeñas.",
    "4115": "El NIF del obligado a emitir no es válido. Corríjalo en la ficha del "
    "contribuyente y reintente.",
    "4116": "El NIF del obligado a emitir tiene un formato incorrecto. Corríjalo en la "
    "ficha del contribuyente y reintente.",
    "4119": "El envío contiene caracteres no admitidos (no UTF-8). Revise nombres y "
    "descripciones con símbolos extraños y reintente.",
    "4120": "La fecha de fin de VERI*FACTU debe ser el 31 de diciembre del año en curso o "
    "del anterior. Corrija la fecha de baja y reintente.",
    "4126": "Se usó un bloque de cabecera que no corresponde a este servicio. "
    "Reintente; " + CONTACTAR,
    "4127": "Se usó un bloque de cabecera que no corresponde a este servicio. "
    "Reintente; " + CONTACTAR,
    "4130": "Se usó un bloque de cabecera que no corresponde a esta modalidad. "
    "Reintente; " + CONTACTAR,
    "4134": "El servicio de la AEAT no está activo en este momento. Factu reintenta el envío "
    "por sí solo.",
    "4138": "La AEAT recibió un envío vacío o con una codificación incorrecta. "
    "Reintente; " + CONTACTAR,
    "4139": "El servicio no está habilitado todavía en el entorno de producción de la AEAT. "
    "Espere a su apertura y reintente.",
    "4141": "La AEAT ha suspendido el acceso de este presentador. Contacte con "
    "verifactu@correo.aeat.es y reintente cuando lo restablezcan.",
    "3500": "Error en la base de datos de la AEAT. No es un fallo de la factura: Factu "
    "reintenta el envío por sí solo.",
    "3501": "Error en la base de datos de la AEAT. No es un fallo de la factura: Factu "
    "reintenta el envío por sí solo.",
    "20009": "El servicio de la AEAT está caído o ha dado un error interno. La factura es "
    "correcta: Factu reintenta el envío por sí solo.",
    # Record rejected (Incorrecto): AEAT did not store it.
    "1100": "Algún dato tiene un valor o un tipo no válido. Revise la factura, corrija el "
    "dato y subsane.",
    "1104": "El número de la factura (serie y número) no es válido. El número no puede "
    "cambiarse en una subsanación: anule esta factura y emita una nueva con un número correcto.",
    "1105": "La fecha de expedición no es válida. La fecha no puede cambiarse en una "
    "subsanación: anule esta factura y emita una nueva con la fecha correcta.",
    "1108": "El NIF del emisor de la factura no coincide con el del obligado que presenta. "
    "Revise el contribuyente de la factura y subsane.",
    "1109": "Un NIF de la factura no figura en el censo de la AEAT. Compruebe el NIF y subsane.",
    "1110": "Un NIF de la factura no figura en el censo de la AEAT. Compruebe el NIF y subsane.",
    "1112": "La fecha de expedición es posterior a hoy. La fecha no puede cambiarse en una "
    "subsanación: anule esta factura y emita una nueva con la fecha correcta.",
    "1114": "El tipo de rectificativa solo se informa en facturas rectificativas (R1–R5). "
    "Corrija el tipo de factura y subsane.",
    "1115": "Falta el tipo de rectificativa (sustitución o diferencias) en una factura "
    "rectificativa. Corríjalo y subsane.",
    "1116": "Las facturas sustituidas solo se indican en facturas F3. Corrija el tipo de "
    "factura y subsane.",
    "1117": "Las facturas rectificadas solo se indican en facturas rectificativas (R1–R5). "
    "Corrija el tipo de factura y subsane.",
    "1118": "El importe de rectificación solo se informa en rectificativas por sustitución. "
    "Corríjalo y subsane.",
    "1119": "Falta el importe de rectificación en una rectificativa por sustitución. "
    "Corríjalo y subsane.",
    "1121": "El NIF del cliente no figura en el censo de la AEAT. Compruebe el NIF; si es "
    "correcto, subsane enviando al cliente como «no censado» (IDOtro tipo 07).",
    "1123": "El NIF tiene un formato incorrecto. Revise el NIF del cliente o del emisor, "
    "corríjalo y subsane.",
    "1124": "El tipo de IVA no es válido para esa fecha. Corrija el tipo y subsane.",
    "1127": "El tipo de recargo de equivalencia no es válido. Corrija el tipo y subsane.",
    "1130": "El número de la factura contiene caracteres no permitidos. El número no puede "
    "cambiarse en una subsanación: anule esta factura y emita una nueva con un número sin "
    "esos caracteres.",
    "1133": "La fecha de expedición tiene más de 20 años. La fecha no puede cambiarse en una "
    "subsanación: anule esta factura y emita una nueva con la fecha correcta.",
    "1138": "El indicador de macrodato (facturas de más de 100 millones de euros) no es "
    "coherente con el importe. Corríjalo y subsane.",
    "1139": "El indicador de macrodato (facturas de más de 100 millones de euros) no es "
    "coherente con el importe. Corríjalo y subsane.",
    "1140": "La base imponible y la cuota tienen signos distintos. Corrija los importes y subsane.",
    "1142": "La cuota de IVA no cuadra con base por tipo (diferencia de más de 10 €). "
    "Corrija la cuota o la base y subsane.",
    "1143": "La base imponible y la cuota tienen signos distintos. Corrija los importes y subsane.",
    "1144": "La cuota de IVA no cuadra con base por tipo (diferencia de más de 10 €). "
    "Corrija la cuota o la base y subsane.",
    "1146": "La fecha de operación es posterior a la de expedición, lo que solo se admite en "
    "ciertos regímenes. Corrija la fecha y subsane.",
    "1150": "Una factura simplificada (F2) no puede superar 3.000 €. Emita una factura "
    "completa o corrija el importe, y subsane.",
    "1152": "La fecha de expedición es anterior al 28-10-2024, antes de que existiera "
    "VERI*FACTU. La fecha no puede cambiarse en una subsanación: anule esta factura y emita "
    "una nueva con la fecha correcta.",
    "1153": "Se indicó «rechazo previo» sin marcar la subsanación. Vuelva a subsanar desde "
    "la mesa: Factu marcará ambos indicadores.",
    "1160": "El tipo de recargo de equivalencia no corresponde al tipo de IVA. Corrija los "
    "tipos y subsane.",
    "1161": "Se indicó «rechazo previo» sin marcar la subsanación. Vuelva a subsanar desde "
    "la mesa: Factu marcará ambos indicadores.",
    "1170": "El tipo de recargo de equivalencia no corresponde al tipo de IVA. Corrija los "
    "tipos y subsane.",
    "1173": "La fecha de operación está en el futuro, lo que solo se admite en ciertos "
    "regímenes. Corrija la fecha y subsane.",
    "1189": "Falta el destinatario: las facturas F1, F3 y R1–R4 deben identificar al "
    "cliente. Añada el cliente con su NIF y subsane.",
    "1190": "Las facturas simplificadas (F2, R5) no llevan destinatario. Quite el cliente o "
    "emita una factura completa, y subsane.",
    "1195": "Cada línea necesita o bien la calificación de la operación o bien la causa de "
    "exención, y solo una. Corrija el desglose y subsane.",
    "1196": "Cada línea necesita o bien la calificación de la operación o bien la causa de "
    "exención, y solo una. Corrija el desglose y subsane.",
    "1197": "La operación con inversión del sujeto pasivo (S2) no cumple sus reglas (sin "
    "cuota, tipo adecuado). Corrija el desglose y subsane.",
    "1198": "La operación con inversión del sujeto pasivo (S2) no cumple sus reglas (sin "
    "cuota, tipo adecuado). Corrija el desglose y subsane.",
    "1205": "El régimen especial elegido no admite estos datos. Revise la clave de régimen "
    "y subsane.",
    "1206": "El régimen especial elegido no admite estos datos. Revise la clave de régimen "
    "y subsane.",
    "1237": "Las operaciones no sujetas o exentas no llevan tipo ni cuota de IVA. Quite el "
    "tipo y la cuota de esas líneas y subsane.",
    "1238": "Las operaciones no sujetas o exentas no llevan tipo ni cuota de IVA. Quite el "
    "tipo y la cuota de esas líneas y subsane.",
    "1239": "Hay un error en los datos del destinatario. Revise el nombre y el NIF o "
    "documento del cliente y subsane.",
    "1244": "La fecha y hora de generación del registro tiene un formato incorrecto. "
    "Subsane; " + CONTACTAR,
    "1245": "Falta la clave de régimen del impuesto. Indique el régimen (general u otro) y "
    "subsane.",
    "1246": "La clave de régimen no es válida. Corríjala y subsane.",
    "1252": "El régimen especial elegido no admite estos datos. Revise la clave de régimen "
    "y subsane.",
    "1262": "La huella del registro tiene una longitud incorrecta. Subsane; " + CONTACTAR,
    "1279": "El recargo de equivalencia solo se admite con el régimen 18 y operaciones S1, "
    "informando tipo y cuota juntos. Corrija el desglose y subsane.",
    "1280": "El recargo de equivalencia solo se admite con el régimen 18 y operaciones S1, "
    "informando tipo y cuota juntos. Corrija el desglose y subsane.",
    "1281": "El recargo de equivalencia solo se admite con el régimen 18 y operaciones S1, "
    "informando tipo y cuota juntos. Corrija el desglose y subsane.",
    "1282": "Con un NIF de persona física hay que indicar también su nombre. Complete el "
    "nombre del cliente y subsane.",
    "1283": "Con un NIF de persona física hay que indicar también su nombre. Complete el "
    "nombre del cliente y subsane.",
    "1284": "El recargo de equivalencia solo se admite con el régimen 18 y operaciones S1, "
    "informando tipo y cuota juntos. Corrija el desglose y subsane.",
    "1287": "Un texto de la factura contiene caracteres no permitidos (< > \" ' =). "
    "Quítelos y subsane.",
    "1291": "La huella del registro no es alfanumérica. Subsane; " + CONTACTAR,
    "1292": "La huella del registro no es alfanumérica. Subsane; " + CONTACTAR,
    "1293": "El régimen especial elegido no admite estos datos. Revise la clave de régimen "
    "y subsane.",
    "3000": "La AEAT ya tiene un registro de esta factura (mismo emisor, número y fecha): "
    "suele ser un reenvío. Si la factura que tiene la AEAT es esta, no hace falta nada; si "
    "reutilizó el número, anule y emita con un número nuevo.",
    "3001": "La factura ya estaba anulada en la AEAT. No hace falta volver a anularla.",
    "3002": "La AEAT no tiene el registro que se intenta anular o subsanar. Registre primero "
    "la factura (subsane como alta) o anule indicando que no hubo registro previo.",
    "3003": "El presentador no tiene permiso para este registro. Revise el certificado y el "
    "apoderamiento en la AEAT.",
    # Accepted with errors (AceptadoConErrores): stored by AEAT, to be fixed by subsanación.
    "2000": "La huella (el código que encadena los registros) no coincide con la que calcula "
    "la AEAT. El registro quedó guardado con errores: subsánelo y, si se repite, "
    "contacte con el soporte de Factu.",
    "2001": "El NIF del cliente no figura en el censo de la AEAT. Compruebe el NIF; si es "
    "correcto, subsane enviando al cliente como «no censado» (IDOtro tipo 07).",
    "2002": "La huella del registro anterior tiene una longitud incorrecta. Subsane; " + CONTACTAR,
    "2003": "La huella del registro anterior no coincide con la que tiene la AEAT. Subsane; "
    + CONTACTAR,
    "2004": "La fecha y hora de generación del registro se aleja demasiado de la hora de la "
    "AEAT. Revise el reloj del equipo y subsane.",
    "2005": "El importe total no cuadra con la suma de bases, cuotas y recargos (diferencia "
    "de más de 10 €). Corrija los importes y subsane.",
    "2006": "La cuota total no cuadra con la suma de cuotas y recargos (diferencia de más de "
    "10 €). Corrija las cuotas y subsane.",
    "2007": "El registro se marcó como primero de la cadena, pero la AEAT ya tenía registros "
    "de este contribuyente. Subsane; " + CONTACTAR,
    "2008": "La huella anterior es igual a la del propio registro. Subsane; " + CONTACTAR,
    "2009": "Falta la clave de régimen en una operación con IPSI. Indique el régimen y subsane.",
}


# Rejections a subsanación cannot fix: AEAT identifies an invoice by its number and date,
# which never change in one. The invoice is cancelled and issued again.
NEEDS_NEW_INVOICE = frozenset({"1104", "1105", "1112", "1130", "1133", "1152"})

# The recipient's NIF is not in AEAT's census: fix the NIF, or send the recipient as IDOtro
# type 07 ("no censado", SPEC §6).
RECIPIENT_NOT_IN_CENSUS = frozenset({"1109", "1110", "1121", "2001"})


def describe(code: str | None, description: str = "") -> str:
    """The plain-Spanish explanation of an AEAT ``code``, or AEAT's own ``description``."""
    explanation = AEAT_ERRORS.get((code or "").strip())
    if explanation:
        return explanation
    if description:
        return description
    return f"La AEAT devolvió el código {code}." if code else ""
