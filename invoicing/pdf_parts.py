"""Small reportlab pieces of the document renderers: the canvas that numbers pages, an
accent rule, and the contrast of a colour on white."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

# ---------------------------------------------------------------------------------------
# Page numbers: "Página N de M" needs the page count, known only when the story is laid out
# ---------------------------------------------------------------------------------------


class NumberedCanvas(Canvas):
    """Keeps each page's state and stamps "Página N de M" on all of them at save time."""

    def __init__(self, *args, renderer, document, **kwargs):
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


class Rule(Flowable):
    """A full-width horizontal rule in the accent colour."""

    def __init__(self, width: float, color: colors.Color, thickness: float = 1.5):
        super().__init__()
        self.width, self.height, self.color, self.thickness = width, thickness, color, thickness

    def draw(self) -> None:
        self.canv.setStrokeColor(self.color)
        self.canv.setLineWidth(self.thickness)
        self.canv.line(0, self.thickness / 2, self.width, self.thickness / 2)


def contrast_on_white(color: colors.Color) -> float:
    """WCAG 2.1's contrast ratio of ``color`` on white."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * channel(color.red) + 0.7152 * channel(color.green) + 0.0722 * channel(color.blue)
    return 1.05 / (lum + 0.05)
