"""The status page in a real browser (Debian's chromium, headless, driven by Playwright) against
``dlbot serve`` on loopback: what a person sees after signing in, on a desktop and on a phone,
with screenshots checked; and the page in Chinese for a browser set to Chinese."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from playwright.async_api import Browser, Page, expect

from dlbot.bot.api import page_messages as text
from dlbot.bot.api.page_access import COOKIE
from tests.page import seed
from tests.page.conftest import CHART_SIZE, PAGE_TOKEN
from tests.support import LiveServer

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def check_screenshot(path: Path, width: int) -> None:
    """A real picture of the page: the expected width, many colours, not one flat fill."""
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(path) as image:
        assert image.width == width
        assert image.height >= 600
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 100, "text, tables and colours"
        most_common = max(count for count, _ in colours)
        assert most_common < 0.95 * image.width * image.height, "not a blank page"


async def sign_in(page: Page, url: str) -> None:
    answer = await page.goto(f"{url}/login?token={PAGE_TOKEN}")
    assert answer is not None and answer.status == 200
    assert page.url == f"{url}/status", "the token is gone from the address bar"


async def chart_width(page: Page) -> int:
    """The chart's natural width once loaded: 0 when the image failed."""
    chart = page.locator("img.chart")
    await expect(chart).to_be_visible()
    width: int = await chart.evaluate("img => img.complete ? img.naturalWidth : 0")
    return width


async def test_signing_in_and_reading_the_fleet_and_a_host(
    browser: Browser, live_page: LiveServer, tmp_path: Path
) -> None:
    url = live_page.url
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    answer = await page.goto(f"{url}/status")
    assert answer is not None and answer.status == 401
    await expect(page.locator("h1")).to_have_text(text.NOT_SIGNED_IN_TITLE)
    await expect(page.get_by_text(f"{url}/login?token=TOKEN")).to_be_visible()

    answer = await page.goto(f"{url}/login?token=not-the-page-token-at-all")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_text(text.WRONG_TOKEN)).to_be_visible()
    assert await context.cookies() == []

    await sign_in(page, url)
    (cookie,) = await context.cookies()
    assert cookie["name"] == COOKIE and cookie["value"] != PAGE_TOKEN
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
    assert await page.evaluate("document.cookie") == "", "scripts cannot read it"

    hosts = page.locator("table.hosts")
    await expect(hosts).to_contain_text("gpu-07")
    await expect(hosts).to_contain_text("gpu-08")
    await expect(
        page.get_by_text("4 GPUs on online hosts: 2 free, 1 busy, 1 idle-held")
    ).to_be_visible()
    exception, _tail = seed.oom_exception()
    await expect(page.get_by_text(exception)).to_be_visible()
    await expect(page.get_by_text(seed.HOSTILE_RUN, exact=True)).to_be_visible()
    await expect(page.get_by_text(seed.HOSTILE_EXCEPTION)).to_be_visible()
    await expect(page.locator("script")).to_have_count(0)
    await expect(page.locator("main img")).to_have_count(0)
    shot = tmp_path / "fleet.png"
    await page.screenshot(path=shot, full_page=True)
    check_screenshot(shot, DESKTOP["width"])

    await hosts.get_by_role("link", name="gpu-07", exact=True).click()
    await page.wait_for_load_state("load")
    assert page.url == f"{url}/status/hosts/gpu-07"
    await expect(page.locator("h1")).to_have_text("gpu-07")
    await expect(page.get_by_text(seed.HOSTILE_COMMAND)).to_be_visible()
    await expect(page.locator("table.gpus")).to_contain_text("idle-held")
    assert await chart_width(page) == CHART_SIZE[0]
    shot = tmp_path / "host.png"
    await page.screenshot(path=shot, full_page=True)
    check_screenshot(shot, DESKTOP["width"])

    await page.get_by_role("button", name=text.SIGN_OUT).click()
    await expect(page.get_by_text(text.SIGNED_OUT)).to_be_visible()
    assert await context.cookies() == []
    assert dialogs == [], "no script ran"
    await context.close()


async def test_on_a_phone_the_page_fits_and_tables_scroll_in_place(
    browser: Browser, live_page: LiveServer, tmp_path: Path
) -> None:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
    )
    page = await context.new_page()
    await sign_in(page, live_page.url)
    page_width = await page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE["width"], "the page itself does not scroll sideways"
    hosts = page.locator("table.hosts")
    await expect(hosts.get_by_role("link", name="gpu-07", exact=True)).to_be_in_viewport()
    exception, _tail = seed.oom_exception()
    crash = page.get_by_text(exception)
    await expect(crash).to_be_visible()
    box = await crash.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
        "the exception line wraps within the screen: readable without scrolling sideways"
    )
    shot = tmp_path / "phone-fleet.png"
    await page.screenshot(path=shot, full_page=True)
    check_screenshot(shot, PHONE["width"] * 2)

    await page.goto(f"{live_page.url}/status/hosts/gpu-07")
    assert await chart_width(page) == CHART_SIZE[0]
    box = await page.locator("img.chart").bounding_box()
    assert box is not None and box["width"] <= PHONE["width"], "the chart shrinks to the screen"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot = tmp_path / "phone-host.png"
    await page.screenshot(path=shot, full_page=True)
    check_screenshot(shot, PHONE["width"] * 2)
    await context.close()


async def test_a_browser_set_to_chinese_reads_the_page_in_chinese(
    browser: Browser, live_page: LiveServer
) -> None:
    context = await browser.new_context(viewport=PHONE, locale="zh-CN")
    page = await context.new_page()
    answer = await page.goto(f"{live_page.url}/status")
    assert answer is not None and answer.status == 401
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.locator("h1")).to_have_text("未登录")
    await sign_in(page, live_page.url)
    await expect(page.locator("h1")).to_have_text("GPU 集群")
    await expect(
        page.get_by_text("在线主机共 4 张 GPU：2 张空闲，1 张占用，1 张闲置占用")
    ).to_be_visible()
    await page.goto(f"{live_page.url}/status/hosts/gpu-07")
    await expect(page.locator("img.chart")).to_have_attribute(
        "alt", "gpu-07 最近 24 小时的 GPU 利用率和显存"
    )
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.locator("h1")).to_have_text("已退出登录")
    await context.close()
