"""AEAT's error codes the simulator answers with, and their descriptions.

The descriptions are AEAT's wording (errores.properties); a code without one (an injected
fault) is described generically.
"""

DESCRIPTIONS = {
    1100: "Valor o tipo incorrecto del campo.",
    1105: "El campo FechaExpedicionFactura no es correcto.",
    1108: "El NIF del IDEmisorFactura debe ser el mismo que el NIF del ObligadoEmision.",
    1112: "El campo FechaExpedicionFactura es superior a la fecha actual.",
    1123: "El formato del NIF es incorrecto.",
    1142: "El campo CuotaRepercutida tiene un valor incorrecto para el valor de los campos "
    "BaseImponibleOimporteNoSujeto y TipoImpositivo suministrados.",
    1150: "Cuando TipoFactura sea F2 y no este informado NumRegistroAcuerdoFacturacion o "
    "FacturaSinIdentifDestinatarioArt61d=S el sumatorio de BaseImponibleOimporteNoSujeto y "
    "CuotaRepercutida de todas las líneas de detalle no podrá ser superior a 3.000.",
    1116: "Debe informarse el campo FacturasSustituidas sólo si la factura es de tipo F3.",
    1144: "El campo CuotaRepercutida tiene un valor incorrecto para el valor de los campos "
    "BaseImponibleACoste y TipoImpositivo suministrados.",
    1147: "Si ClaveRegimen es 14, FechaOperacion es obligatoria y debe ser posterior a la "
    "FechaExpedicionFactura.",
    1148: "Si la ClaveRegimen es 14, el campo TipoFactura debe ser F1, R1, R2, R3 o R4.",
    1149: "Si ClaveRegimen es 14, el NIF de Destinatarios debe estar identificado en el censo de "
    "la AEAT y comenzar por P, Q, S o V.",
    1178: "Error en el bloque de Tercero.",
    1182: "El valor del campo OperacionExenta es incorrecto.",
    1199: "Si Impuesto es '01' (IVA), '03' (IGIC) o no se cumplimenta y ClaveRegimen es 01 no "
    "pueden marcarse las OperacionExenta E2, E3.",
    1200: "Si ClaveRegimen es 03 CalificacionOperacion sólo puede ser S1.",
    1201: "Si ClaveRegimen es 04 CalificacionOperacion sólo puede ser S2 o bien OperacionExenta.",
    1202: "Si ClaveRegimen es 06 TipoFactura no puede ser F2, F3, R5 y BaseImponibleACoste debe "
    "estar cumplimentado.",
    1203: "Si ClaveRegimen es 07 OperacionExenta no puede ser E2, E3, E4 y E5 o "
    "CalificacionOperacion no puede ser S2, N1, N2.",
    1205: "Si ClaveRegimen es 10 CalificacionOperacion tiene que ser N1, TipoFactura F1 y "
    "Destinatarios estar identificada mediante NIF.",
    1239: "Error en el bloque Destinatario.",
    1252: "Si ClaveRegimen es 08 el campo CalificacionOperacion tiene que ser N2 e ir siempre "
    "informado.",
    1257: "El campo BaseImponibleACoste solo puede estar cumplimentado si la ClaveRegimen es = "
    "'06' o Impuesto = '02' (IPSI) o Impuesto = '05' (Otros).",
    1283: "Si el NIF de la contraparte es persona fisica se debe informar tambien de su "
    "NombreRazon",
    1286: "Si el impuesto es IVA(01), IGIC(03) o vacio, si ClaveRegimen es 02 solo se podrá "
    "informar OperacionExenta.",
    1289: "Si Impuesto es IVA(01) o vacio y si el campo OperacionExenta es igual a 'E5' sólo "
    "deberá existir la agrupación IDOtro en el bloque Destinatario.",
    1153: "Valor del campo RechazoPrevio no válido, solo podrá incluirse el campo RechazoPrevio "
    "con valor X o S si se ha informado el campo Subsanacion y tiene el valor S.",
    2000: "El cálculo de la huella suministrada es incorrecta.",
    2002: "La longitud de huella del registro anterior no es correcta.",
    2003: "El contenido de la huella del registro anterior no es correcto.",
    2005: "El campo ImporteTotal tiene un valor incorrecto para el valor de los campos "
    "BaseImponibleOimporteNoSujeto, CuotaRepercutida y CuotaRecargoEquivalencia suministrados.",
    2006: "El campo CuotaTotal tiene un valor incorrecto para el valor de los campos "
    "CuotaRepercutida y CuotaRecargoEquivalencia suministrados.",
    2007: "El campo PrimerRegistro no puede valer S si ya existen registros para el obligado "
    "y sistema informático.",
    2008: "La huella del registro anterior no puede ser igual a la huella del registro actual.",
    2009: "Si el campo Impuesto tiene valor IPSI(02) el campo ClaveRegimen debe de estar "
    "cumplimentado.",
    3000: "Registro de facturación duplicado.",
    3001: "El registro de facturación ya ha sido dado de baja.",
    3002: "No existe el registro de facturación.",
}


def description(code: int) -> str:
    return DESCRIPTIONS.get(code, f"Error {code} provocado en el simulador.")
