"""The pull-request comment: banners, the digest footer, hostile ids, and GitHub's size limit."""

from __future__ import annotations

import re
import time

import pytest
from plan_factories import bulk_doc, delete, make_doc, subject_changes, teardown_plan
from render_cases import CASES, HOSTILE_IDS, hostile_changes

from amlctl.plan import to_doc
from amlctl.render import render
from amlctl.render.markdown import COMMENT_LIMIT, cell, code, md


def html_of(markdown: str) -> str:
    """The comment as GitHub-like HTML: CommonMark, tables, raw HTML passed through."""
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(
        markdown))


def test_heading_summary_and_digest_footer() -> None:
    doc = make_doc(subject_changes())
    out = render(doc, "markdown")
    assert out.startswith("## amlctl plan: `dsr-2026-0042`\n")
    summary = "Plan: 4 to export, 3 to delete, 1 already absent, 1 unchanged, 1 manual step."
    assert f"```\n{summary}\n```" in out
    assert out.endswith(
        f"<!-- amlctl:plan digest={doc['digest']} manifest=plans/dsr-2026-0042.yaml -->\n")
    assert "<details><summary>Changes (10)</summary>" in out


def test_deletion_banners() -> None:
    assert ":warning: This plan deletes data :warning:" in render(
        make_doc([delete("run", "r1")]), "markdown")
    teardown = render(to_doc(teardown_plan()), "markdown")
    assert "### :rotating_light: This plan deletes the whole workspace `demo-ws`" in teardown
    assert "> [!CAUTION]" in teardown
    assert ":warning: This plan deletes data" not in teardown
    quiet = render(make_doc(), "markdown")
    assert ":warning:" not in quiet and "deletes" not in quiet


def test_summary_table_counts_kind_by_action() -> None:
    out = render(make_doc(subject_changes()), "markdown")
    assert "| `run` | 2 | 2 | 0 | 0 | 0 |" in out
    assert "| **total** | **3** | **4** | **1** | **1** | **1** |" in out


def test_hostile_ids_cannot_inject_html_or_break_the_table() -> None:
    out = render(CASES["hostile"](), "markdown")
    html = html_of(out)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert html.count("</details>") == 1  # only the comment's own
    assert "@team" not in html and "@octocat" in html  # shown in code, not as a mention
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        assert row.count("<td") + row.count("<th") in (2, 6), row
    diff = re.search(r'<pre><code class="language-diff">(.*?)</code></pre>', html, re.S)
    assert diff is not None
    assert len(diff.group(1).strip().splitlines()) == len(hostile_changes())


def test_every_hostile_id_shows_on_one_line_in_the_diff() -> None:
    out = render(make_doc(hostile_changes()), "markdown")
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "line1\\nline2\\r\\x1b[31mred" in out
    assert "x" * 160 + "...(+240 chars)" in out
    assert len(HOSTILE_IDS) == 8


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "`plain`"),
    ("a`b", "``a`b``"),
    ("`lead", "`` `lead ``"),
    ("two\nlines", "`two\\nlines`"),
    ("<b>", "`<b>`"),
])
def test_code_spans(value: str, expected: str) -> None:
    assert str(code(value)) == expected


def test_cells_escape_pipes_and_text_escapes_markup() -> None:
    assert str(cell("a|b")) == "`a\\|b`"
    assert str(md("<i>@me* [x](y) 1. #2")) == "\\<i>@\u200bme\\* \\[x\\](y) 1. #2"
    assert str(md("1. # - x")) == "1\\. # - x"  # only a line's start opens a list


def test_prose_has_no_entities_or_stray_escapes() -> None:
    """The comment's source reads as it renders: `workspace's`, `demo-ws`, `v2.0` stay as is."""
    text = "delete it in the workspace's storage (azureml-2019-11-01, v2.0): a & b, snake_case"
    assert str(md(text)) == text
    assert str(md("a <b> &amp; _x_")) == "a \\<b> \\&amp; \\_x\\_"
    out = render(CASES["subject"](), "markdown")
    assert "&#" not in out and "&lt;" not in out and "\\-" not in out and "\\." not in out


def test_each_item_shows_its_name_beside_its_id() -> None:
    out = render(make_doc([delete("asset", "702109220c08d4c1", name="churn-model"),
                           delete("model", "churn-model:1", name="churn-model")]), "markdown")
    assert "- delete    asset 702109220c08d4c1 (churn-model)" in out
    assert "churn-model:1  #" in out or "churn-model:1\n" in out  # no name repeated in its id


def test_a_100k_plan_names_deletes_before_exports() -> None:
    out = render(bulk_doc(100_000), "markdown")
    deletes, exports = len(re.findall(r"\n- item-", out)), out.count("\n+ export ")
    assert deletes > 4_000 and exports == 0  # 50,000 deletes cannot all fit: no export crowds one
    # ... so each is one short line, under a header that says what they are and why
    header = "# delete model: 25000 items, delete.select[0]: subject's models"
    assert f"\n{header}\n- item-000003\n" in out
    small = render(bulk_doc(1_600), "markdown")
    assert small.count("\n- delete ") == 800 and 0 < small.count("\n+ export ") < 800


def test_a_100k_change_plan_fits_in_one_comment() -> None:
    started = time.perf_counter()
    doc = bulk_doc(100_000)
    out = render(doc, "markdown")
    assert time.perf_counter() - started < 5
    assert len(out.encode("utf-8")) < COMMENT_LIMIT
    assert "```\nPlan: 50000 to export, 50000 to delete.\n```" in out
    shown = re.search(r"\*\*Showing (\d+) of 100000 changes; (\d+) are not listed\*\*", out)
    assert shown is not None and int(shown[1]) + int(shown[2]) == 100_000
    assert int(shown[1]) > 100  # the budget is used, not wasted
    assert "The full list is in the plan file" in out
    left = [int(n) for n in re.findall(r"\.\.\. (\d+) more \w+ \w+ changes not shown", out)]
    assert len(left) == 4 and sum(left) == int(shown[2])
    assert out.endswith(" -->\n")


def test_a_plan_that_fits_lists_everything() -> None:
    out = render(bulk_doc(200), "markdown")
    assert "not listed" not in out and "not shown" not in out
    assert out.count("\n- delete ") + out.count("\n+ export ") == 200


def test_a_100k_plan_comment_with_its_review_section_still_fits() -> None:
    from datetime import date

    from amlctl.render.markdown import render_markdown
    from amlctl.render.review import Review

    review = Review(date(2026, 12, 16), ("@dpo-team", "@contoso/privacy"), "sha256:" + "0" * 64,
                    "123456")
    out = render_markdown(bulk_doc(100_000), review)
    assert len(out.encode("utf-8")) < COMMENT_LIMIT
    assert "@dpo-team, @contoso/privacy must approve" in out and "is due in 4 days" in out
    assert len(re.findall(r"\n- item-", out)) > 4_000
    assert out.rstrip().endswith("run=123456 -->")


def test_compact_delete_lines_are_as_safe_as_diff_lines() -> None:
    hostile = [delete("model", f"<script>{i}</script>\n```|@x", name="<b>n</b>")
               for i in range(3000)]
    out = render(make_doc(hostile), "markdown")
    assert len(out.encode("utf-8")) < COMMENT_LIMIT
    assert "# delete model: 3000 items" in out  # the compact form
    html = html_of(out)
    assert "<script" not in html and "<b>" not in html and html.count("</details>") == 1
    diff = re.search(r'<pre><code class="language-diff">(.*?)</code></pre>', html, re.S)
    assert diff is not None and diff.group(1).count("&lt;script&gt;") > 1000
