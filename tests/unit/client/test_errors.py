"""Error mapping: status classes, every error-body shape, messages without secrets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.client import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FireplayError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)
from app.client._exceptions import redact
from tests.fake_server import NEVER, FakeServer, Scripted

from .helpers import API_KEY, async_test, make_client

MESSAGES = [{"role": "user", "content": "Hi"}]

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)
CLOUDFLARE_502 = (
    "<!DOCTYPE html><html><head><title>api.example.com | 502: Bad gateway</title>"
    "<style>body{font:14px sans-serif}</style><script>var x = 1;</script></head>"
    "<body><div><h1>Bad gateway</h1><p>The web server reported a bad gateway error.</p>"
    "<p>Ray ID: 8f7b &amp; more</p></div></body></html>"
)


def test_hierarchy() -> None:
    assert issubclass(APIError, FireplayError)
    assert issubclass(APITimeoutError, APIConnectionError) and issubclass(
        APIConnectionError, APIError
    )
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)
    assert issubclass(APIStatusError, APIError) and issubclass(StreamError, APIError)
    assert issubclass(APIResponseValidationError, APIError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, APIStatusError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (520, InternalServerError),
    ],
)
@async_test
async def test_status_maps_to_class(
    fake_server: FakeServer, status: int, cls: type[APIStatusError]
) -> None:
    fake_server.script.append(
        Scripted(status=status, headers={"x-request-id": "req-7", "x-should-retry": "false"})
    )
    async with make_client(fake_server) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status and error.request_id == "req-7"
    assert error.response.status_code == status and error.request is not None
    assert str(error).startswith(str(status))


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            {
                "error": {
                    "message": "Invalid model",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
            None,
            "404 Not Found: Invalid model",
        ),
        (
            {
                "error": {
                    "object": "error",
                    "type": "invalid_request_error",
                    "message": "Model gone",
                    "code": "NOT_FOUND",
                }
            },
            None,
            "404 Not Found: Model gone",
        ),
        (
            {"error": "Model not found, inaccessible, and/or not deployed"},
            None,
            "404 Not Found: Model not found, inaccessible, and/or not deployed",
        ),
        (
            {
                "object": "error",
                "message": "vLLM says no",
                "type": "BadRequestError",
                "param": None,
                "code": 404,
            },
            None,
            "404 Not Found: vLLM says no",
        ),
        ({"detail": "Not Found"}, None, "404 Not Found"),
        ({"detail": "No such model"}, None, "404 Not Found: No such model"),
        ({"detail": "Not Foundations"}, None, "404 Not Found: Not Foundations"),
        (
            {"detail": [{"loc": ["body", "model"], "msg": "field required"}, {"msg": "bad n"}]},
            None,
            "404 Not Found: field required; bad n",
        ),
        ("just some words", "text/plain", "404 Not Found: just some words"),
        ('"a JSON string"', "application/json", "404 Not Found: a JSON string"),
        ({"error": {"code": 5}}, None, '404 Not Found: {"code": 5}'),
        ("", "text/plain", "404 Not Found"),
        ("x" * 1000, "text/plain", "404 Not Found: " + "x" * 299 + "…"),
    ],
    ids=[
        "openai",
        "fireworks",
        "bare-string",
        "vllm-top-level",
        "detail-equal-to-status",
        "detail",
        "detail-starting-like-the-reason",
        "fastapi-422-list",
        "plain-text",
        "json-string",
        "error-without-message",
        "empty",
        "long-text-truncated",
    ],
)
@async_test
async def test_error_body_shapes(
    fake_server: FakeServer, body: Any, content_type: str | None, expected: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    fake_server.script.append(Scripted(status=404, body=body, headers=headers))
    async with make_client(fake_server) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert str(caught.value) == expected
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (NGINX_502, "502 Bad Gateway: nginx/1.25.3"),
        (
            CLOUDFLARE_502,
            "502 Bad Gateway: The web server reported a bad gateway error. Ray ID: 8f7b & more",
        ),
    ],
    ids=["nginx", "cloudflare"],
)
@async_test
async def test_html_gateway_pages_become_short_text(
    fake_server: FakeServer, page: str, expected: str
) -> None:
    fake_server.script.append(
        Scripted(status=502, body=page, headers={"content-type": "text/html"})
    )
    async with make_client(fake_server, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.embeddings.create(model="e", input="x")
    assert str(caught.value) == expected
    assert "<" not in str(caught.value)


@async_test
async def test_authentication_error_never_contains_the_key(fake_server: FakeServer) -> None:
    message = f"Incorrect API key provided: {API_KEY}. Find your key in the dashboard."
    fake_server.script.append(
        Scripted(status=401, body={"error": {"message": message, "type": "invalid_request_error"}})
    )
    async with make_client(fake_server) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    error = caught.value
    assert (
        str(error)
        == "401 Unauthorized: Incorrect API key provided: ***. Find your key in the dashboard."
    )
    for text in (str(error), repr(error), repr(error.body), error.message, repr(error.request)):
        assert API_KEY not in text
    assert error.type == "invalid_request_error" and error.code is None


@async_test
async def test_connection_refused_is_a_connection_error(
    retry_delays: list[tuple[int, float]],
) -> None:
    server = FakeServer().start()
    url = server.url
    server.stop()  # nothing listens on that port any more
    timeout = httpx.Timeout(5.0, connect=1.0)
    async with AsyncClient(base_url=url, api_key=API_KEY, timeout=timeout) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert not isinstance(caught.value, APITimeoutError)
    assert str(caught.value).startswith(f"Could not connect to {url}/chat/completions: ")
    assert API_KEY not in repr(caught.value)
    assert [attempt for attempt, _ in retry_delays] == [0, 1]


@async_test
async def test_an_unreachable_provider_is_named_in_the_error(
    retry_delays: list[tuple[int, float]],
) -> None:
    async with AsyncClient(base_url="http://127.0.0.1:9/v1", api_key=API_KEY) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.models.list()
    shown = str(caught.value)
    assert shown.startswith("Could not connect to http://127.0.0.1:9/v1/models: ")
    assert shown.removeprefix("Could not connect to http://127.0.0.1:9/v1/models: ")  # the cause
    assert API_KEY not in shown and API_KEY not in repr(caught.value)


@async_test
async def test_the_url_in_a_connection_error_has_no_user_info_or_key() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    client = AsyncClient(
        base_url=f"https://me:pass@llm.example.com/{API_KEY}/v1",
        api_key=API_KEY,
        max_retries=0,
        http_client=http,
    )
    try:
        with pytest.raises(APIConnectionError) as caught:
            await client.models.list()
    finally:
        await http.aclose()
    assert str(caught.value) == (
        "Could not connect to https://llm.example.com/***/v1/models: All connection attempts failed"
    )


@async_test
async def test_timeouts_name_the_url_too() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            raise httpx.ConnectTimeout("timed out", request=request)
        raise httpx.ReadTimeout("timed out", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    client = AsyncClient(base_url="http://10.1.2.3:8000/v1", max_retries=0, http_client=http)
    try:
        with pytest.raises(APITimeoutError) as connecting:
            await client.models.list()
        with pytest.raises(APITimeoutError) as waiting:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    finally:
        await http.aclose()
    assert str(connecting.value) == "Timed out connecting to http://10.1.2.3:8000/v1/models."
    assert str(waiting.value) == "Request to http://10.1.2.3:8000/v1/chat/completions timed out."


@async_test
async def test_timeout_waiting_for_the_response(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(wait_for=NEVER))
    async with make_client(fake_server, timeout=0.3, max_retries=0) as client:
        with pytest.raises(APITimeoutError, match="timed out"):
            await client.chat.completions.create(model="m", messages=MESSAGES)


@async_test
async def test_per_call_timeout(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(wait_for=NEVER))
    async with make_client(fake_server, max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.chat.completions.create(model="m", messages=MESSAGES, timeout=0.3)


def test_redaction_spares_placeholder_keys() -> None:
    assert redact("Invalid key sk-abcdefgh1234", "sk-abcdefgh1234") == "Invalid key ***"
    assert redact("max_tokens exceeds context", "x") == "max_tokens exceeds context"
    assert redact("anything", None) == "anything"
