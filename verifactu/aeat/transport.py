"""How requests reach the AEAT: the vendored WSDL loaded from disk only
(:class:`LocalOnlyTransport`), stored bytes wrapped in a SOAP envelope untouched and posted
verbatim, over a TLS context that presents the client certificate."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import requests
import requests.adapters
from zeep.transports import Transport
from zeep.wsdl.utils import etree_to_string

from .outcomes import AeatError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
WSDL_PATH = SCHEMAS_DIR / "SistemaFacturacion.wsdl"
XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}

_ENVELOPE_OPEN = (
    f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Header/><soapenv:Body>"
).encode()
_ENVELOPE_CLOSE = b"</soapenv:Body></soapenv:Envelope>"
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")
_PLAIN_ENVELOPE_OPEN = (
    f'<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="{SOAP_ENV}"><Header/><Body>'
).encode()
_PLAIN_ENVELOPE_CLOSE = b"</Body></Envelope>"


def plain_soap_envelope(body: bytes) -> bytes:
    """A SOAP 1.1 envelope with a default namespace and no prefix (signed records inside).

    No namespace prefix is declared above the body, so nothing extra is in scope at the
    signed records (see :func:`verifactu.xml.build_requerimiento_envelope`).
    """
    return _PLAIN_ENVELOPE_OPEN + _XML_DECL.sub(b"", body, count=1) + _PLAIN_ENVELOPE_CLOSE


def soap_envelope(body: bytes) -> bytes:
    """Wrap a request document in a SOAP 1.1 envelope, keeping its bytes untouched."""
    return _ENVELOPE_OPEN + _XML_DECL.sub(b"", body, count=1) + _ENVELOPE_CLOSE


class ContextAdapter(requests.adapters.HTTPAdapter):
    """An HTTPS adapter whose connections use one prepared :class:`ssl.SSLContext`."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


class LocalOnlyTransport(Transport):
    """zeep transport that loads schemas only from disk and posts pre-serialised envelopes.

    ``load`` maps W3C's xmldsig schema URL to the vendored copy and refuses any other
    http(s) URL (recorded in :attr:`refused`), so building the client never touches the
    network. ``post_xml`` also accepts ``bytes``: those are posted verbatim.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused: list[str] = []

    def load(self, url: str) -> bytes:
        if url == XMLDSIG_URL:
            return (SCHEMAS_DIR / "xmldsig-core-schema.xsd").read_bytes()
        if url.lower().startswith(("http://", "https://")):
            self.refused.append(url)
            raise AeatError(f"refusing to fetch {url}: AEAT schemas are loaded from disk only")
        return super().load(url)

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> requests.Response:
        message = envelope if isinstance(envelope, bytes) else etree_to_string(envelope)
        return self.post(address, message, headers)

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        # ``verify`` is passed per request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
        # override a Session's own ``verify`` (psf/requests#3829), which would silently swap
        # the CA we were told to trust. Env proxies still apply.
        return self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=self.operation_timeout,
            verify=self.session.verify,
        )
