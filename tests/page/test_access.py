"""Who sees the status page, over HTTP (no browser): the token login and its cookie, the
trusted proxy header, and every way in that must not work."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from markupsafe import escape
from pydantic import SecretStr, ValidationError

from dlbot.bot import redaction
from dlbot.bot.api import page_messages as text
from dlbot.bot.api.app import create_app
from dlbot.bot.api.page_access import COOKIE, session_value
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from tests.page.conftest import PAGE_TOKEN, with_page
from tests.support import ingest, report

PAGES = ("/status", "/status/hosts/gpu-07", "/status/hosts/gpu-07/usage.png")


@asynccontextmanager
async def served(
    settings: Settings, base_url: str = "http://dlbot.test"
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    service = Service.from_settings(settings)
    await service.start()
    transport = httpx.ASGITransport(app=create_app(service, manage_lifecycle=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            await ingest(service, report(host="gpu-07"))
            yield client, service
    finally:
        await service.stop()


def cookie_header(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


async def test_the_right_token_sets_a_derived_httponly_lax_cookie_and_drops_the_token(
    page_client: httpx.AsyncClient, page_service: Service
) -> None:
    await ingest(page_service, report(host="gpu-07"))
    answer = await page_client.get("/login", params={"token": PAGE_TOKEN})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/status", "the token leaves the address bar"
    (cookie,) = set_cookies(answer)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0] == f"{COOKIE}={session_value(SecretStr(PAGE_TOKEN))}"
    assert PAGE_TOKEN not in cookie, "the cookie holds a value derived from the token"
    assert {"httponly", "samesite=lax", "path=/status"} <= set(attributes)
    assert "secure" not in attributes, "plain http: a Secure cookie would never come back"
    assert answer.headers["referrer-policy"] == "no-referrer"

    page = await page_client.get("/status")
    assert page.status_code == 200
    assert "gpu-07" in page.text


async def test_over_https_the_cookie_is_secure(settings: Settings) -> None:
    async with served(with_page(settings), "https://dlbot.test") as (client, _service):
        answer = await client.get("/login", params={"token": PAGE_TOKEN})
        (cookie,) = set_cookies(answer)
        assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_a_wrong_token_is_refused_and_sets_nothing(
    page_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "dlbot")
    wrong = PAGE_TOKEN[:-1] + "X"
    answer = await page_client.get("/login", params={"token": wrong})
    assert answer.status_code == 403
    assert text.WRONG_TOKEN in answer.text
    assert set_cookies(answer) == []
    assert "refused a wrong page token" in caplog.text and wrong not in caplog.text
    assert (await page_client.get("/status")).status_code == 401


async def test_login_without_a_token_explains_how(page_client: httpx.AsyncClient) -> None:
    answer = await page_client.get("/login")
    assert answer.status_code == 400
    assert "http://dlbot.test/login?token=TOKEN" in answer.text
    assert set_cookies(answer) == []


@pytest.mark.parametrize("path", PAGES)
async def test_without_the_cookie_every_page_explains_how_to_sign_in(
    page_client: httpx.AsyncClient, page_service: Service, path: str
) -> None:
    await ingest(page_service, report(host="gpu-07", users=("alice",)))
    answer = await page_client.get(path)
    assert answer.status_code == 401
    assert text.NOT_SIGNED_IN_TITLE in answer.text and "/login?token=TOKEN" in answer.text
    assert "alice" not in answer.text and "python train.py" not in answer.text


@pytest.mark.parametrize(
    "forged",
    [
        PAGE_TOKEN,  # the token itself is not the cookie
        session_value(SecretStr("another-token-0123456789")),
        session_value(SecretStr(PAGE_TOKEN))[:-1] + "0",
        "",
        "0" * 64,
    ],
)
async def test_a_forged_cookie_is_refused(page_client: httpx.AsyncClient, forged: str) -> None:
    answer = await page_client.get("/status", headers=cookie_header(forged))
    assert answer.status_code == 401


async def test_the_token_in_the_query_of_a_page_is_ignored(
    page_client: httpx.AsyncClient,
) -> None:
    answer = await page_client.get("/status", params={"token": PAGE_TOKEN})
    assert answer.status_code == 401
    assert set_cookies(answer) == []


async def test_a_new_page_token_signs_every_browser_out(settings: Settings) -> None:
    old_cookie = session_value(SecretStr(PAGE_TOKEN))
    rotated = with_page(settings, page_token=SecretStr("rotated-token-0123456789"))
    async with served(rotated) as (client, _service):
        assert (await client.get("/status", headers=cookie_header(old_cookie))).status_code == 401


async def test_sign_out_clears_the_cookie(page_client: httpx.AsyncClient) -> None:
    await page_client.get("/login", params={"token": PAGE_TOKEN})
    assert (await page_client.get("/status")).status_code == 200
    answer = await page_client.post("/status/logout")
    assert answer.status_code == 200 and text.SIGNED_OUT in answer.text
    (cleared,) = set_cookies(answer)
    assert cleared.startswith(f'{COOKIE}=""') and "max-age=0" in cleared.lower()
    assert (await page_client.get("/status")).status_code == 401


async def test_the_proxy_header_lets_in_only_when_configured(settings: Settings) -> None:
    async with served(with_page(settings, page_proxy_header="X-Forwarded-User")) as (client, _):
        assert (await client.get("/status", headers={"X-Forwarded-User": "alice"})).is_success
        assert (await client.get("/status", headers={"X-Forwarded-User": " "})).status_code == 401
        assert (await client.get("/status")).status_code == 401
    async with served(with_page(settings)) as (client, _):
        answer = await client.get("/status", headers={"X-Forwarded-User": "alice"})
        assert answer.status_code == 401, "no proxy configured: the header means nothing"


async def test_proxy_only_has_no_token_login(settings: Settings) -> None:
    proxy_only = with_page(settings, page_token=None, page_proxy_header="X-Forwarded-User")
    async with served(proxy_only) as (client, _):
        answer = await client.get("/login", params={"token": PAGE_TOKEN})
        assert answer.status_code == 404 and text.LOGIN_OFF in answer.text
        assert set_cookies(answer) == []
        refused = await client.get("/status")
        assert refused.status_code == 401 and str(escape(text.LOGIN_HOW_PROXY)) in refused.text
        assert "/login?token=" not in refused.text


async def test_with_neither_setting_the_page_is_off(settings: Settings) -> None:
    async with served(settings) as (client, _):
        for path in (*PAGES, "/login?token=" + PAGE_TOKEN):
            answer = await client.get(path)
            assert answer.status_code == 404, path
        assert text.PAGE_OFF in (await client.get("/status")).text
        assert text.LOGIN_OFF in (await client.get("/login?token=x")).text


def test_page_settings_refuse_a_weak_token_and_an_odd_header() -> None:
    with pytest.raises(ValidationError, match="DLBOT_PAGE_TOKEN"):
        Settings(DLBOT_PAGE_TOKEN="short")
    with pytest.raises(ValidationError, match="DLBOT_PAGE_PROXY_HEADER"):
        Settings(DLBOT_PAGE_PROXY_HEADER="X User: admin")
    blank = Settings(DLBOT_PAGE_TOKEN="", DLBOT_PAGE_PROXY_HEADER="")
    assert (blank.page_token, blank.page_proxy_header) == (None, None)


async def test_the_page_token_is_masked_in_every_log_line(page_service: Service) -> None:
    line = f'127.0.0.1 - "GET /login?token={PAGE_TOKEN} HTTP/1.1" 303'
    assert redaction.redact(line) == '127.0.0.1 - "GET /login?token=*** HTTP/1.1" 303'
