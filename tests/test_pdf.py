"""PDF module: plain functions, no app needed; assertions read the text back with pypdf."""

import io
import re

import pytest
from pypdf import PdfReader

from marketplace.common import pdf

COLUMNS = ["序号", "机构名称", "统一社会信用代码", "注册地", "服务类别", "服务区域", "承诺签署日期"]
COUNTIES = ["崇川区", "通州区", "海门区", "如皋市", "启东市", "海安市", "如东县", "南通经济技术开发区"]
LONG_CATEGORY = "安全评价（石油加工业，化学原料、化学品及医药制造业）；安全咨询；检测检验（陆地石油和天然气开采业）"
LABELS = {
    "provider": "服务机构",
    "uscc": "统一社会信用代码",
    "signer": "签署人",
    "signer_title": "职务",
    "signed_at": "签署时间",
    "version": "承诺书版本",
    "sha256": "承诺文本 SHA-256",
    "verification_code": "验证码",
    "verify_at": "在线核验",
}
SHA = "3f2a9c1e7b5d4a6f8e0c2b1a9d8f7e6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"


def rows(n):
    out = []
    for i in range(1, n + 1):
        name = "南通安泰安全技术咨询有限公司" if i == 1 else f"南通第{i}号安全技术服务有限公司"
        category = LONG_CATEGORY if i % 3 == 0 else "安全咨询"
        out.append(
            [
                str(i),
                name,
                f"91320600MA1AB{i:04d}X",
                COUNTIES[i % len(COUNTIES)],
                category,
                "、".join(COUNTIES[: i % 5 + 1]),
                "2026-11-01",
            ]
        )
    return out


def notice(n=120, sections=None, **kwargs):
    return pdf.notice_batch_pdf(
        title="南通市安全生产第三方服务机构公示名单",
        batch_no="2026年第3期",
        published_at_text="发布日期：2026年11月29日",
        intro_lines=[f"本期公示机构 {n} 家，新增 3 家，变更 2 家，撤出 1 家"],
        columns=COLUMNS,
        rows=rows(n),
        sections=sections,
        footer_text="南通市应急管理局",
        author="南通市应急管理局",
        **kwargs,
    )


def certificate(**kwargs):
    kwargs.setdefault("labels", LABELS)
    return pdf.pledge_certificate_pdf(
        title="安全生产第三方服务机构诚信承诺书",
        provider_name="南通安泰安全技术咨询有限公司",
        uscc="91320600MA1ABCDE7U",
        signer_name="张建国",
        signer_title="法定代表人",
        signed_at_text="2026年11月29日 09:15",
        version_label="2026版",
        clauses=["依法独立、客观、公正开展技术服务。", "不出具虚假或者严重失实的报告。"],
        text_sha256=SHA,
        verification_code="K7QD-93MX-4HTP",
        verify_url="https://example.test/pledges/verify/K7QD-93MX-4HTP",
        **kwargs,
    )


def page_texts(data):
    """Each page's text with whitespace removed, so wrapped cells read as one string."""
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_notice_spans_pages_with_numbering_and_repeated_header():
    pages = page_texts(notice(120))
    assert len(pages) >= 3
    for number, text in enumerate(pages, 1):
        assert f"第{number}页/共{len(pages)}页" in text
        assert "南通市应急管理局" in text
    assert pages[0].startswith("南通市安全生产第三方服务机构公示名单")
    assert "2026年第3期" in pages[0] and "发布日期：2026年11月29日" in pages[0]
    assert "本期公示机构120家，新增3家" in pages[0]
    assert "南通安泰安全技术咨询有限公司" in pages[0]
    assert pages[1].startswith("序号机构名称统一社会信用代码注册地服务类别服务区域承诺签署日期")
    everything = "".join(pages)
    assert "南通第120号安全技术服务有限公司" in everything
    assert LONG_CATEGORY in everything  # a wrapped cell keeps all its text


def test_a_long_notice_has_every_row_once_in_order_with_the_header_on_every_page():
    """A list longer than the table's window is laid out a page at a time (its cost grew with the
    square of its rows): no row may be lost or repeated where one window ends and the next begins."""
    count = 3 * pdf.PAGED_WINDOW + 7
    pages = page_texts(notice(count))
    for text in pages[1:]:
        assert text.startswith("序号机构名称统一社会信用代码注册地服务类别服务区域承诺签署日期")
    codes = [int(code) for text in pages for code in re.findall(r"91320600MA1AB(\d{4})X", text)]
    assert codes == list(range(1, count + 1))


def test_notice_metadata():
    info = PdfReader(io.BytesIO(notice(3))).metadata
    assert info.title == "南通市安全生产第三方服务机构公示名单"
    assert info.author == "南通市应急管理局"


def test_notice_sections_appear_and_empty_ones_are_skipped():
    cols = ["机构名称", "统一社会信用代码"]
    data = notice(
        10,
        sections=[
            ("本期新增机构", cols, [["南通新增安全咨询有限公司", "91320600MA1ABCDE7U"]]),
            ("本期变更机构", cols, []),
            ("本期撤出机构", cols, [["南通撤出检测技术有限公司", "91320600MA1ABCDE8U"]]),
        ],
    )
    text = "".join(page_texts(data))
    assert "本期新增机构" in text and "南通新增安全咨询有限公司" in text
    assert "本期撤出机构" in text and "南通撤出检测技术有限公司" in text
    assert "本期变更机构" not in text


def test_notice_escapes_markup():
    data = pdf.notice_batch_pdf(
        title="A & B <公示>",
        batch_no="1",
        published_at_text="",
        intro_lines=["x < y"],
        columns=["名称", "说明"],
        rows=[["<b>甲</b> & 乙", "a" * 5 + "<br/>" + "长" * 200]],
        footer_text="&",
        font_path=None,
    )
    text = "".join(page_texts(data))
    assert "A&B<公示>" in text and "<b>甲</b>&乙" in text and "<br/>" in text


def test_certificate_contains_provider_code_and_hash():
    data = certificate(author="南通市应急管理局")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert reader.metadata.title == "安全生产第三方服务机构诚信承诺书"
    text = page_texts(data)[0]
    for expected in (
        "南通安泰安全技术咨询有限公司",
        "91320600MA1ABCDE7U",
        "K7QD-93MX-4HTP",
        SHA,
        "张建国",
        "法定代表人",
        "2026版",
        "1.依法独立",
        "2.不出具虚假",
        "验证码",
        "https://example.test/pledges/verify/K7QD-93MX-4HTP",
    ):
        assert expected in text


def test_certificate_labels_in_english():
    labels = {key: key.replace("_", " ").title() for key in LABELS}
    text = page_texts(certificate(labels=labels))[0]
    assert "VerificationCode" in text and "SignedAt" in text


def embedded_fonts(data):
    """(embedded, not embedded) font names of every page: an embedded font carries its glyphs
    (``/FontFile2`` for TrueType), so any reader on any machine shows the Chinese."""
    embedded, bare = set(), set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            program = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            name = str(font["/BaseFont"])
            # Courier and Helvetica (codes, labels in latin) are among the 14 fonts every reader has.
            if program or name.lstrip("/") in {"Courier", "Courier-Bold", "Helvetica"}:
                embedded.add(name)
            else:
                bare.add(name)
    return embedded, bare


def test_every_pdf_embeds_its_chinese_font_without_any_system_font():
    for data in (notice(40), certificate()):
        embedded, bare = embedded_fonts(data)
        assert not bare, f"fonts a reader must supply: {bare}"
        assert any("NotoSansSC" in name for name in embedded), embedded
        assert pdf.embeds_its_fonts(data)
    assert "南通安泰安全技术咨询有限公司" in page_texts(certificate())[0]


def test_the_packaged_font_is_the_default_and_registered_once():
    assert pdf.packaged_font().is_file()
    name = pdf.register_cjk_font()
    assert pdf.register_cjk_font(pdf.packaged_font()) == name


def test_a_missing_font_is_an_error_not_a_silent_fallback():
    with pytest.raises(pdf.PdfFontError, match="not found"):
        pdf.register_cjk_font("/nonexistent.ttf")
    with pytest.raises(pdf.PdfFontError):
        certificate(font_path="/nonexistent.ttf")


def test_a_font_reportlab_cannot_embed_is_an_error(tmp_path):
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"\x00\x01\x00\x00 not a font" * 64)
    with pytest.raises(pdf.PdfFontError, match="cannot be embedded"):
        pdf.register_cjk_font(str(junk))


def test_another_truetype_font_can_be_configured():
    other = pdf.packaged_font("Bold")
    data = certificate(font_path=str(other))
    assert not embedded_fonts(data)[1]
    assert "南通安泰安全技术咨询有限公司" in page_texts(data)[0]


def test_a_pdf_without_its_font_is_recognised():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont("STSong-Light", 12)
    page.drawString(72, 720, "南通市安全生产第三方服务机构公示名单")
    page.save()
    assert not pdf.embeds_its_fonts(out.getvalue())
    assert embedded_fonts(out.getvalue())[1]


def test_a_cell_too_wide_for_its_column_is_broken_into_lines_that_fit_and_lose_nothing():
    """Cells are broken into lines by the app (a Paragraph per cell made a 10,000-agency list take 40 s):
    every line fits the column, no character is lost, a credit code stays whole and closing punctuation
    never starts a line."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font = pdf.register_cjk_font()
    code = "91320612Q8YYYUGGUX"
    text = f"安全评价（石油加工业，化学原料、化学品及医药制造业）；检测检验（烟花爆竹制造业，金属冶炼）{code}；安全咨询"
    for limit in (60, 100, 150):
        lines = pdf._lines(text, font, 8, limit)
        assert len(lines) > 1 and "".join(lines) == text
        if stringWidth(code, font, 8) <= limit:  # a code wider than the column is broken like any text
            assert any(code in line for line in lines)
        assert not any(line[0] in "，、；）" for line in lines)
        for line in lines:
            body = line[:-1] if line[-1] in "，、；）" else line  # a closing mark may hang past the edge
            assert stringWidth(body, font, 8) <= limit
    assert pdf._lines("第一行\n第二行", font, 8, 200) == ["第一行", "第二行"]
