"""Files people open in a spreadsheet. A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is a formula to Excel and LibreOffice: an agency that names its legal representative
``=HYPERLINK(…)`` would otherwise put a live link in every copy of a public list. Such a cell is
neutralised by a leading apostrophe, the OWASP rule for CSV injection; XLSX exports use the same cell."""

import csv
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """The text of one cell, never a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(header, rows):
    """UTF-8 with a byte-order mark (so Excel reads the Chinese), CRLF lines, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(c) for c in header])
    for row in rows:
        writer.writerow([spreadsheet_cell(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def live_formula_cells(data):
    """How many cells of a stored CSV a spreadsheet would run as formulas (files made before the rule)."""
    text = data.decode("utf-8-sig", errors="replace")
    return sum(1 for row in csv.reader(io.StringIO(text, newline="")) for cell in row if cell.startswith(FORMULA_START))
