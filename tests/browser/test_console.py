"""The console in a real browser: reviewer, buyer and merchant flows on the demo data, with screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Server, digest, screenshots, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_SHOTS: dict[str, list[Path]] = {}

# Every image has a text alternative, every form control a label, and the page a <main> and an <h1>.
_A11Y = """() => {
  const problems = [];
  document.querySelectorAll('img').forEach(img => { if (!img.getAttribute('alt')) problems.push('img ' + img.src); });
  document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(el => {
    const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.closest('label')
      || el.getAttribute('aria-label');
    if (!labelled) problems.push('unlabelled ' + el.name);
  });
  if (!document.querySelector('main')) problems.push('no main');
  if (!document.querySelector('h1')) problems.push('no h1');
  return problems;
}"""

# Fraction of strongly red pixels in an <img> (the outline drawn around a localized edit is red).
_RED = """async (img) => {
  await img.decode();
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let red = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 150 && d[i + 1] < 90 && d[i + 2] < 90) red++;
  return red / (c.width * c.height);
}"""


def _page(context: Any, server: Server, role: str) -> Any:
    page = context.new_page()
    sign_in(page, server, role)
    return page


def _checked(page: Any, name: str) -> None:
    assert page.evaluate(_A11Y) == [], name
    _SHOTS[name] = screenshots(page, name)


def test_reviewer_opens_queue_sees_outlined_forgery_and_decides(context: Any, server: Server) -> None:
    forged = server.demo["forged"]
    page = _page(context, server, "reviewer")
    assert page.url.endswith("/console/queue")
    _checked(page, "queue")
    rows = page.locator("tr[data-row]")
    ids = [rows.nth(i).get_attribute("data-case") for i in range(rows.count())]
    assert forged in ids, "the forged demo case is not in the review queue"
    # keyboard: j moves down to the forged case's row, Enter opens it
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(ids.index(forged) + 1):
        page.keyboard.press("j")
    assert page.locator("tr.current").get_attribute("data-case") == forged
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/cases/{forged}")
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("verdict").first.inner_text().strip() == "likely forged"
    claim = page.get_by_test_id("claim-image").first
    assert claim.get_attribute("data-view") == "outline"
    assert claim.evaluate(_RED) > 0.0005, "no red outline drawn on the claim photo"
    findings = page.get_by_test_id("finding").all_inner_texts()
    assert any("threshold" in f for f in findings), findings
    # slider reveals the aligned reference over the claim
    slider = page.get_by_test_id("slider").first
    slider.fill("60")
    assert page.locator(".stage").first.evaluate("s => s.style.getPropertyValue('--reveal')") == "60%"
    page.get_by_label("Edit mask").first.check()
    image = page.get_by_test_id("claim-image").first
    assert image.get_attribute("data-view") == "mask"
    assert page.locator("input[type=radio]:checked").count() == 1  # one view at a time per photo
    page.wait_for_function("img => img.complete && img.src.includes('/mask.jpg')", arg=image.element_handle())
    assert image.evaluate(_RED) > 0.002, "the edit mask is not drawn"
    slider.fill("0")
    page.get_by_label("Outlined").first.check()
    page.wait_for_function("img => img.complete && img.src.includes('/outline.jpg')", arg=image.element_handle())
    _checked(page, "case-forged")
    page.get_by_test_id("decide-deny-evidence_altered").click()
    page.wait_for_load_state("networkidle")
    assert "Decision recorded" in page.locator(".notice").inner_text()
    assert "evidence_altered" in page.get_by_test_id("decision").last.inner_text()
    # the evidence report downloads as PDF
    with page.expect_download() as download:
        page.get_by_role("link", name="Evidence report (PDF)").click()
    path = download.value.path()
    assert Path(path).read_bytes()[:4] == b"%PDF"


def test_buyer_files_a_claim_with_the_checklist_and_appeals(context: Any, server: Server, listings_dir: Path) -> None:
    page = _page(context, server, "buyer")
    assert page.url.endswith("/console/buyer")
    _checked(page, "buyer-orders")
    order = server.demo["claimable_order"]
    page.goto(f"{server.base}/console/buyer/orders/{order}/claim")
    first = page.get_by_test_id("checklist").inner_text()
    page.get_by_label("What is wrong?").select_option("missing_parts")
    page.wait_for_load_state("networkidle")
    second = page.get_by_test_id("checklist").inner_text()
    assert first != second and "box" in second
    _checked(page, "claim-form")
    page.get_by_label("return and refund").check()
    page.get_by_label("Describe the problem").fill("The hip belt buckle is missing.")
    page.get_by_label("Photos").set_input_files(str(listings_dir / "mb03-black-0_alt1.jpg"))
    page.get_by_role("button", name="Submit claim").click()
    page.wait_for_load_state("networkidle")
    assert "Claim received" in page.locator(".notice").inner_text()
    assert "/console/cases/" in page.url
    _checked(page, "case-buyer-new")
    appeal = server.demo["appeal"]
    page.goto(f"{server.base}/console/cases/{appeal}")
    page.get_by_label("Why should the decision change?").fill("I got a different brick; here is its label.")
    page.get_by_label("New evidence").set_input_files(str(listings_dir / "luma-yoga-brick.jpg"))
    _checked(page, "case-appeal-form")
    page.get_by_role("button", name="Send appeal").click()
    page.wait_for_load_state("networkidle")
    assert "Appeal received" in page.locator(".notice").inner_text()
    assert "appealed" in page.locator("h1 .status").inner_text()


def test_merchant_answers_with_a_packing_video(context: Any, server: Server, tmp_path: Path) -> None:
    from proofdesk.demo import packing_video
    from proofdesk.demo.images import photo

    page = _page(context, server, "merchant")
    assert page.url.endswith("/console/merchant")
    _checked(page, "merchant-inbox")
    genuine = server.demo["genuine"]
    page.goto(f"{server.base}/console/cases/{genuine}")
    assert page.get_by_test_id("verdict").first.inner_text().strip() != "likely forged"
    video = tmp_path / "packing-hoodie.mp4"
    video.write_bytes(packing_video(photo("mh02-black_main.jpg")))
    page.get_by_label("Your answer to the buyer's claim").fill("Packed and sealed on camera; see the video.")
    page.get_by_label("Counter-evidence (packing video, photos)").set_input_files(str(video))
    _checked(page, "case-merchant-answer")
    page.get_by_role("button", name="Send answer").click()
    page.wait_for_load_state("networkidle")
    assert "Answer and evidence received" in page.locator(".notice").inner_text()
    assert "packing-hoodie.mp4" in " ".join(page.get_by_test_id("other-evidence").all_inner_texts())
    assert "Packed and sealed" in page.get_by_test_id("merchant-answer").inner_text()


def test_chinese_and_phone_width(context: Any, server: Server) -> None:
    page = _page(context, server, "reviewer")
    page.get_by_test_id("lang-toggle").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "审核队列" in page.locator("h1").inner_text()
    page.goto(f"{server.base}/console/cases/{server.demo['genuine']}")
    _checked(page, "case-genuine-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    # nothing wider than the phone screen: the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_screenshots_exist_and_differ_per_page() -> None:
    assert len(_SHOTS) >= 8, sorted(_SHOTS)
    files = [p for paths in _SHOTS.values() for p in paths]
    assert all(p.parent == SCREENSHOTS and p.stat().st_size > 5_000 for p in files)
    hashes = [digest(p) for p in files]
    assert len(set(hashes)) == len(hashes), "two screenshots are identical"
