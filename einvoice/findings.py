"""What a validation found: each finding, and the report that judges a document by them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

FATAL = "fatal"
WARNING = "warning"

# Warnings of the official rules that a document Factu generates may still raise, each with
# why it is accepted rather than fixed. A warning not listed here is a defect of the generator
# that produced it (`ValidationReport.unexpected_warnings`), though it never makes a document
# invalid: "valid" means no schema error and no fatal assert. Empty until a generator shows a
# warning that cannot honestly be avoided.
TOLERATED_WARNINGS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Finding:
    """One problem: a rule's id (``BR-CO-15``, ``PEPPOL-EN16931-R001``, ``XSD``, ``XML``),
    its flag (``fatal`` or ``warning``), the message, where it is (an XPath from the
    Schematron, a line for the schema and the parser) and which check found it (``xml``,
    ``xsd``, ``en16931``, ``peppol``)."""

    rule: str
    flag: str
    message: str
    location: str
    source: str

    @property
    def is_fatal(self) -> bool:
        """Anything not flagged ``warning`` (an assert without a flag included) is fatal."""
        return self.flag != WARNING


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one document.

    ``document`` names what it was read as (``ubl:Invoice``, ``ubl:CreditNote``,
    ``ubl:ApplicationResponse``, ``cii``, ``facturae``), or is empty when the bytes were not
    even that. ``errors`` hold every fatal finding (the XML parser's, the schema's, the fatal
    asserts), ``warnings`` the asserts flagged ``warning``.
    """

    document: str
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """No parse or schema error and no fatal assert; warnings never invalidate."""
        return not self.errors

    @property
    def unexpected_warnings(self) -> list[Finding]:
        """The warnings not in :data:`TOLERATED_WARNINGS`."""
        return [finding for finding in self.warnings if finding.rule not in TOLERATED_WARNINGS]

    def rules(self) -> set[str]:
        """The ids of every rule that fired, errors and warnings alike."""
        return {finding.rule for finding in (*self.errors, *self.warnings)}

    @classmethod
    def of(cls, document: str, findings: list[Finding]) -> ValidationReport:
        """A report sorting ``findings`` into errors and warnings."""
        return cls(
            document=document,
            errors=[finding for finding in findings if finding.is_fatal],
            warnings=[finding for finding in findings if not finding.is_fatal],
        )
