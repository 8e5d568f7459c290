"""PDF documents (notice batches, pledge certificates) as bytes; no Flask here."""

import hashlib
import importlib.util
import io
import os
import threading
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

MONO_FONT = "Courier"
EMBEDDED_FONT_MARKER = b"/FontFile2"  # a TrueType font program inside the PDF


class PdfFontError(RuntimeError):
    """The CJK font for PDFs is missing or unusable: no PDF is made rather than one whose Chinese a
    reader without the font would show blank."""


def packaged_font(weight="Regular"):
    """Noto Sans SC (SIL Open Font License; TrueType outlines, which reportlab embeds), installed with
    the Python dependencies by the ``rendercv-fonts`` package: every machine has it."""
    spec = importlib.util.find_spec("rendercv_fonts")
    if spec is None or not spec.submodule_search_locations:
        raise PdfFontError("The rendercv-fonts package is not installed: run `make setup`.")
    return Path(spec.submodule_search_locations[0]) / "Noto Sans" / f"NotoSansSC-{weight}.ttf"


_fonts = {}  # resolved path -> registered font name
_fonts_lock = threading.Lock()


def register_cjk_font(path=None):
    """Register the CJK font once per process and return its name. ``path`` (a .ttf, or a .ttc whose
    first face is used) replaces the packaged Noto Sans SC; a missing or unusable font is an error."""
    path = str(path or packaged_font())
    with _fonts_lock:
        if path not in _fonts:
            _fonts[path] = _load_font(path)
        return _fonts[path]


def _load_font(path):
    if not os.path.isfile(path):
        raise PdfFontError(f"PDF font {path} not found (PDF_CJK_FONT).")
    name = "CJK-" + hashlib.sha1(path.encode()).hexdigest()[:10]
    try:
        # subfontIndex picks the first face of a .ttc and is ignored for a plain .ttf.
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except Exception as exc:  # TTFError for PostScript-outline fonts (Noto Sans CJK .otf/.ttc), anything for junk
        raise PdfFontError(f"PDF font {path} cannot be embedded ({exc}); use a TrueType CJK font.") from exc
    return name


def embeds_its_fonts(data):
    """Whether a PDF carries its font programs (readers without the font still show the Chinese)."""
    return EMBEDDED_FONT_MARKER in data and b"/STSong-Light" not in data


def _numbered_canvas(font, footer_text):
    """A canvas class that draws the footer and "第 N 页 / 共 M 页" once the page count is known."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved_pages = []

        def showPage(self):
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self._draw_footer(total)
                super().showPage()
            super().save()

        def _draw_footer(self, total):
            width, _ = self._pagesize
            self.setFont(font, 8)
            self.setFillColor(colors.HexColor("#555555"))
            self.drawString(15 * mm, 8 * mm, footer_text)
            self.drawRightString(width - 15 * mm, 8 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")

    return NumberedCanvas


def _styles(font):
    base = ParagraphStyle("cjk", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", base, fontSize=18, leading=24, alignment=TA_CENTER, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=10.5, alignment=TA_CENTER, spaceAfter=8),
        "body": base,
        "heading": ParagraphStyle("heading", base, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4),
        "cell": ParagraphStyle("cell", base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", base, fontSize=8.5, leading=10.5, textColor=colors.white),
        "label": ParagraphStyle("label", base, fontSize=9, leading=12, textColor=colors.HexColor("#555555")),
        "mono": ParagraphStyle("mono", base, fontName=MONO_FONT, fontSize=8.5, leading=11, wordWrap=None),
        "code": ParagraphStyle("code", base, fontName="Courier-Bold", fontSize=20, leading=24),
    }


def _text(value):
    return "" if value is None else str(value)


def _p(value, style):
    """A Paragraph of plain text (markup characters escaped)."""
    return Paragraph(escape(_text(value)), style)


def _text_width(text, font, size):
    return pdfmetrics.stringWidth(text, font, size)


# Line breaking for table cells. A Paragraph measured every character of every cell again each time the
# table was laid out (a 10,000-agency list: 40 s); widths are measured once per character here.
_NO_LINE_START = frozenset("，。、；：？！）》」』】”’,.;:?!)%")
_WIDTHS = {}  # (font, size, character): width


def _char_width(char, font, size):
    key = (font, size, char)
    width = _WIDTHS.get(key)
    if width is None:
        width = _WIDTHS[key] = pdfmetrics.stringWidth(char, font, size)
    return width


def _tokens(text):
    """Latin words and numbers stay whole (a credit code, a certificate number); any other character
    may end a line."""
    token = ""
    for char in text:
        if char.isascii() and (char.isalnum() or char in "-_./@"):
            token += char
            continue
        if token:
            yield token
            token = ""
        yield char
    if token:
        yield token


def _lines(text, font, size, limit):
    """``text`` broken into lines no wider than ``limit`` (a word wider than a line is broken anywhere);
    closing punctuation never starts a line."""
    lines = []
    for paragraph in text.split("\n"):
        line, width = "", 0.0
        for token in _tokens(paragraph):
            token_width = sum(_char_width(c, font, size) for c in token)
            if line and width + token_width > limit and token not in _NO_LINE_START:
                lines.append(line.rstrip())
                line, width = "", 0.0
                if token == " ":
                    continue
            if token_width > limit:  # alone wider than a line: broken anywhere
                for char in token:
                    char_width = _char_width(char, font, size)
                    if line and width + char_width > limit:
                        lines.append(line)
                        line, width = "", 0.0
                    line, width = line + char, width + char_width
                continue
            line, width = line + token, width + token_width
        lines.append(line.rstrip())
    return lines


def _column_widths(columns, rows, font, size, available):
    """Short columns get their full width (no wrapping); long ones share the rest, narrowest first."""
    pad, short = 8, available * 0.12
    natural = []
    for i, column in enumerate(columns):
        cells = max((_text_width(_text(row[i]), font, size) for row in rows[:300]), default=0)
        head = _text_width(str(column), font, size + 0.5)
        natural.append(max(cells, min(head, short), 2 * size) + pad)
    if sum(natural) <= available:
        return [w * available / sum(natural) for w in natural]
    widths = [w if w <= short else None for w in natural]
    flexible = sorted((w, i) for i, w in enumerate(natural) if widths[i] is None)
    remaining = available - sum(w for w in widths if w is not None)
    if remaining < len(flexible) * 6 * size:  # too many short columns: just scale everything down
        return [w * available / sum(natural) for w in natural]
    for k, (want, i) in enumerate(flexible):  # water-filling: nobody gets more than an equal share
        widths[i] = min(want, remaining / (len(flexible) - k))
        remaining -= widths[i]
    return widths


def _table(columns, rows, styles, font, available, progress=None):
    """A table with a header repeated on every page; only cells too wide for their column become
    Paragraphs. A long one is laid out a window of rows at a time (``_PagedRows``)."""
    cell = styles["cell"]
    widths = _column_widths(columns, rows, font, cell.fontSize, available)
    header = [_p(c, styles["head"]) for c in columns]
    limits = [w - 6.5 for w in widths]  # left + right padding, with a little slack
    body = []
    for row in rows:
        out = []
        for i, value in enumerate(row):
            text = _text(value)
            if "\n" in text or _text_width(text, font, cell.fontSize) > limits[i]:
                text = "\n".join(_lines(text, font, cell.fontSize, limits[i]))
            out.append(text)  # plain strings, broken into lines here, draw far faster than Paragraphs
        body.append(out)
    style = TableStyle(
        [
            ("FONT", (0, 1), (-1, -1), font, cell.fontSize, cell.leading),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#34495e")),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f4f7")]),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ]
    )

    def make_table(part):
        table = LongTable([header, *part], colWidths=widths, repeatRows=1)
        table.setStyle(style)
        return table

    if len(body) > PAGED_WINDOW:
        return _PagedRows(make_table, body, progress=progress, total=len(body))
    return make_table(body)


# More rows than a page can hold (a landscape page takes at most about 50 one-line rows).
PAGED_WINDOW = 60


class _PagedRows(Flowable):
    """A long table split off a page at a time from a window of its rows. reportlab splits a table by
    building a new one from every row left, so a list's cost grew with the square of its rows (10,000
    agencies: 5 times the rows of 2,000, 10 times the time); here each page costs the same."""

    def __init__(self, make_table, rows, *, progress=None, total=0, placed=0):
        super().__init__()
        self.make_table, self.rows = make_table, rows
        self.progress, self.total, self.placed = progress, total, placed  # placed: rows on earlier pages
        self._window = None

    def _table(self):
        if self._window is None:
            self._window = self.make_table(self.rows[:PAGED_WINDOW])
        return self._window

    def wrap(self, available_width, available_height):
        self.width, self.height = self._table().wrap(available_width, available_height)
        if len(self.rows) > PAGED_WINDOW:
            self.height = max(self.height, available_height + 1)  # never drawn whole: split first
        return self.width, self.height

    def split(self, available_width, available_height):
        parts = self._table().split(available_width, available_height)
        if not parts:
            return []
        placed = parts[0]._nrows - 1  # the header is each part's first row
        if self.progress:
            self.progress(self.placed + placed, self.total)
        rest = self.rows[placed:]
        if not rest:
            return [parts[0]]
        later = _PagedRows(self.make_table, rest, progress=self.progress, total=self.total, placed=self.placed + placed)
        return [parts[0], later]

    def draw(self):
        self._table().drawOn(self.canv, 0, 0)


def notice_batch_pdf(
    *,
    title,
    batch_no,
    published_at_text,
    intro_lines,
    columns,
    rows,
    sections=None,
    footer_text,
    author="",
    font_path=None,
    progress=None,
):
    """A landscape A4 notice-batch list: heading, intro, paged table, optional sections, numbered footer;
    ``progress(done, total)`` hears how many of the list's rows are laid out, page by page."""
    font = register_cjk_font(font_path)
    styles = _styles(font)
    buf = io.BytesIO()
    doc = _landscape_document(buf, title=title, author=author, subject=batch_no)
    story = [_p(title, styles["title"]), _p(f"{batch_no}　　{published_at_text}", styles["subtitle"])]
    story += [_p(line, styles["body"]) for line in intro_lines or ()]
    story.append(Spacer(1, 4 * mm))
    story.append(_table(columns, rows, styles, font, doc.width, progress))
    story += _sections(sections, styles, font, doc.width)
    doc.build(story, canvasmaker=_numbered_canvas(font, footer_text))
    if progress:
        progress(len(rows), len(rows))
    return buf.getvalue()


def _landscape_document(buf, *, title, author, subject=""):
    return SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        title=title,
        author=author,
        subject=subject,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=15 * mm,
    )


def _sections(sections, styles, font, width):
    """Headed tables, each kept with its heading (never a heading alone at the foot of a page); an
    empty one is left out."""
    story = []
    for heading, columns, rows in sections or ():
        if rows:
            story += [
                CondPageBreak(30 * mm),
                _p(heading, styles["heading"]),
                _table(columns, rows, styles, font, width),
            ]
    return story


def _qr(url, size):
    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _certificate_border(canv, doc):
    width, height = doc.pagesize
    canv.saveState()
    canv.setStrokeColor(colors.HexColor("#8b1a1a"))
    canv.setLineWidth(2)
    canv.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    canv.setLineWidth(0.5)
    canv.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canv.restoreState()


def pledge_certificate_pdf(
    *,
    title,
    provider_name,
    uscc,
    signer_name,
    signer_title,
    signed_at_text,
    version_label,
    clauses,
    text_sha256,
    verification_code,
    verify_url,
    labels,
    author="",
    font_path=None,
):
    """An A4 certificate of a signed pledge with its clauses, hash, verification code and QR code."""
    font = register_cjk_font(font_path)
    st = _styles(font)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author=author,
        subject=provider_name,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=22 * mm,
        bottomMargin=22 * mm,
    )

    def field_table(pairs, widths):
        data = [[_p(labels[key], st["label"]), _p(value, st["body"])] for key, value in pairs]
        table = Table(data, colWidths=widths, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return table

    label_w = 32 * mm
    story = [
        _p(title, st["title"]),
        Spacer(1, 6 * mm),
        field_table([("provider", provider_name), ("uscc", uscc)], [label_w, doc.width - label_w]),
        Spacer(1, 4 * mm),
    ]
    clause = ParagraphStyle(
        "clause", st["body"], fontSize=10.5, leading=16, leftIndent=14, firstLineIndent=-14, spaceAfter=3
    )
    story += [_p(f"{n}. {text}", clause) for n, text in enumerate(clauses, 1)]
    story.append(Spacer(1, 6 * mm))
    story.append(
        field_table(
            [
                ("signer", signer_name),
                ("signer_title", signer_title),
                ("signed_at", signed_at_text),
                ("version", version_label),
            ],
            [label_w, doc.width - label_w],
        )
    )
    story.append(Spacer(1, 5 * mm))

    qr_size = 36 * mm
    left = [
        _p(labels["sha256"], st["label"]),
        _p(text_sha256, st["mono"]),
        Spacer(1, 3 * mm),
        _p(labels["verification_code"], st["label"]),
        _p(verification_code, st["code"]),
        Spacer(1, 3 * mm),
        _p(labels["verify_at"], st["label"]),
        _p(verify_url, ParagraphStyle("url", st["mono"], fontSize=9)),
    ]
    box = Table([[left, _qr(verify_url, qr_size)]], colWidths=[doc.width - qr_size - 8 * mm, qr_size + 8 * mm])
    box.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#9aa5b1")),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    story.append(KeepTogether([box]))
    doc.build(story, onFirstPage=_certificate_border, onLaterPages=_certificate_border)
    return buf.getvalue()


def record_pdf(*, title, subtitle, fields, sections, signatures, footer_text, author="", font_path=None):
    """A portrait A4 record (an inspection record): a title, a two-column table of ``fields`` (label,
    value), ``sections`` of (heading, columns, rows) tables, and a signature block of (role, name, time)."""
    font = register_cjk_font(font_path)
    styles = _styles(font)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author=author,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=16 * mm,
    )
    story = [_p(title, styles["title"]), _p(subtitle, styles["subtitle"])]
    pairs = [[_p(label, styles["label"]), _p(value, styles["body"])] for label, value in fields]
    grid = Table(pairs, colWidths=[32 * mm, doc.width - 32 * mm])
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f4f7")),
            ]
        )
    )
    story.append(grid)
    for heading, columns, rows in sections:
        story.append(CondPageBreak(30 * mm))
        story.append(_p(heading, styles["heading"]))
        story.append(_table(columns, rows, styles, font, doc.width) if rows else _p("—", styles["body"]))
    if signatures:
        story.append(CondPageBreak(40 * mm))
        story.append(_p("签名", styles["heading"]))
        block = Table(
            [
                [_p(role, styles["label"]), _p(name, styles["body"]), _p(when, styles["body"])]
                for role, name, when in signatures
            ],
            colWidths=[40 * mm, doc.width - 95 * mm, 55 * mm],
            rowHeights=[14 * mm] * len(signatures),
        )
        block.setStyle(
            TableStyle(
                [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1"))]
            )
        )
        story.append(block)
    doc.build(story, canvasmaker=_numbered_canvas(font, footer_text))
    return buf.getvalue()


def report_with_chart_pdf(
    *, title, subtitle, chart, columns, rows, sections=(), footer_text, author="", font_path=None
):
    """A landscape A4 report: a grouped bar chart (``chart``: category names, [(series name, values)]),
    then the table of figures and further (heading, columns, rows) sections."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend

    font = register_cjk_font(font_path)
    styles = _styles(font)
    buf = io.BytesIO()
    doc = _landscape_document(buf, title=title, author=author)
    story = [_p(title, styles["title"]), _p(subtitle, styles["subtitle"])]
    names, series = chart
    if names and series:
        width, height = doc.width, 70 * mm
        drawing = Drawing(width, height)
        bars = VerticalBarChart()
        bars.x, bars.y, bars.width, bars.height = 30, 28, width - 190, height - 40
        bars.data = [list(values) for _name, values in series]
        bars.categoryAxis.categoryNames = list(names)
        bars.categoryAxis.labels.fontName = font
        bars.categoryAxis.labels.fontSize = 7
        bars.categoryAxis.labels.angle = 20
        bars.categoryAxis.labels.boxAnchor = "ne"
        bars.valueAxis.labels.fontName = font
        bars.valueAxis.labels.fontSize = 7
        bars.valueAxis.valueMin = 0
        bars.valueAxis.valueMax = 100
        bars.valueAxis.valueStep = 20
        palette = ["#2c7be5", "#00a36c", "#f0ad4e", "#d9534f", "#6f42c1"]
        for i in range(len(series)):
            bars.bars[i].fillColor = colors.HexColor(palette[i % len(palette)])
            bars.bars[i].strokeColor = None
        drawing.add(bars)
        legend = Legend()
        legend.x, legend.y = width - 150, height - 15
        legend.fontName, legend.fontSize = font, 8
        legend.alignment = "right"
        legend.colorNamePairs = [
            (colors.HexColor(palette[i % len(palette)]), name) for i, (name, _v) in enumerate(series)
        ]
        drawing.add(legend)
        story.append(drawing)
        story.append(Spacer(1, 3 * mm))
    story.append(_table(columns, rows, styles, font, doc.width))
    story += _sections(sections, styles, font, doc.width)
    doc.build(story, canvasmaker=_numbered_canvas(font, footer_text))
    return buf.getvalue()
