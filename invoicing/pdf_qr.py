"""The QR tributario as a reportlab flowable: vector modules, error correction M.

Kept apart from the invoice renderer (:mod:`invoicing.pdf`) so that documents without a QR
(quotes) share the renderer without this, and so the symbol's rules sit in one place.
"""

from __future__ import annotations

import functools

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable


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
