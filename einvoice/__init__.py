"""Structured electronic invoices between businesses (Ley Crea y Crece): UBL, CII and Facturae.

The foundation the generators and the reception build on: the official artefacts, vendored
unedited under ``einvoice/artefacts/`` (each folder's README names its source, version and
SHA-256), and the validation layer over them, ``einvoice.validation`` (``validate_ubl``,
``validate_cii``, ``validate_facturae``, each returning a ``ValidationReport``); the outbound
UBL 2.1 of an issued invoice, ``einvoice.ubl.build_ubl``, and its Facturae 3.2.2,
``einvoice.facturae.build_facturae`` (unsigned) and ``einvoice.signing.signed_facturae``
(signed with the taxpayer's certificate when it has one), made once, validated and stored
(``einvoice.outbound``, model ``IssuedEInvoice``) and offered to the other apps through the
registries of ``invoicing.einvoices`` (filled in ``apps.ready``); the B2B statuses of issued
invoices (``einvoice.answers``); and the reading of received files into one typed document,
``einvoice.inbound`` (``read_received``, ``read_upload``).
docs/ARCHITECTURE.md ("Electronic invoices") says how the other apps reach this one.
"""
