"""The async client: one shared httpx pool, retries, error mapping and the resource tree."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pydantic

from ._constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    make_status_error,
    redact,
)
from ._models import BaseModel
from ._trace import Attempt, Exchange, current_trace
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes

if TYPE_CHECKING:
    from .resources.audio import Audio
    from .resources.chat import Chat
    from .resources.embeddings import Embeddings
    from .resources.models import Models

__all__ = ["AsyncClient"]

log = logging.getLogger("app.client")

_ModelT = TypeVar("_ModelT", bound=BaseModel)

_USER_AGENT = "Fireplay"


class _Pool:
    """The httpx client shared by an :class:`AsyncClient` and its ``with_options`` copies.

    A private httpx client is created on first use: building one loads the TLS trust store
    (tens of milliseconds), which should not delay application start-up.
    """

    def __init__(self, http_client: httpx.AsyncClient | None) -> None:
        self._http = http_client
        self.owned = http_client is None
        self._closed = False

    def get(self) -> httpx.AsyncClient:
        if self._http is None:
            if self._closed:
                raise RuntimeError("Cannot send a request, as the client has been closed.")
            self._http = httpx.AsyncClient()
        return self._http

    @property
    def closed(self) -> bool:
        return self._closed or (self._http is not None and self._http.is_closed)

    async def aclose(self) -> None:
        self._closed = True
        if self.owned and self._http is not None:
            await self._http.aclose()


class AsyncClient:
    """Async client for OpenAI-compatible inference APIs (Fireworks, OpenAI, vLLM, llama.cpp, ...).

    Shaped like the official openai SDK (``client.chat.completions.create(...)``) but built
    directly on httpx and pydantic. One client holds one connection pool; open it with
    ``async with`` or close it with :meth:`aclose`.

    Retries (``max_retries`` per call): connection errors, timeouts, 408, 409, 429 and >= 500,
    or whatever ``x-should-retry`` says; waits follow ``retry-after-ms``/``retry-after`` when
    0 < wait <= 60 s, else exponential backoff with jitter from 0.5 s to 8 s. A stream is never
    retried once its response has started.

    Example::

        async with AsyncClient(base_url="https://api.fireworks.ai/inference/v1", api_key=key) as c:
            reply = await c.chat.completions.create(model=m, messages=[{"role": "user", ...}])
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        model_base_urls: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        """Create a client.

        Args:
            base_url: API root, e.g. ``https://api.fireworks.ai/inference/v1``.
            api_key: Sent as ``Authorization: Bearer <key>``; never shown in errors or logs.
            timeout: Seconds, or an ``httpx.Timeout`` (default: 600 s, connect 5 s).
            max_retries: Retries after the first attempt.
            default_headers: Extra headers sent with every request.
            model_base_urls: Per-model API roots (e.g. Fireworks audio models live on their
                own hosts); they win over ``base_url`` for requests naming that model.
            http_client: An httpx client to use instead of a private one; it is not closed
                by :meth:`aclose`.
        """
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or None
        self.timeout: TimeoutTypes = timeout
        self.max_retries = max_retries
        self.default_headers: dict[str, str] = dict(default_headers or {})
        self.model_base_urls: dict[str, str] = {
            model: url.rstrip("/") for model, url in (model_base_urls or {}).items()
        }
        self._pool = _Pool(http_client)
        self._shares_pool = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The httpx client (connection pool) this client sends through."""
        return self._pool.get()

    @property
    def is_closed(self) -> bool:
        """Whether the connection pool has been closed."""
        return self._pool.closed

    async def aclose(self) -> None:
        """Close the connection pool, unless it was passed in (or shared by ``with_options``)."""
        if self._shares_pool:
            return
        await self._pool.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def with_options(
        self,
        *,
        base_url: str | NotGiven = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
        model_base_urls: Mapping[str, str] | NotGiven = NOT_GIVEN,
    ) -> AsyncClient:
        """Return a copy with some options changed that shares this client's connection pool.

        Closing the copy does not close the pool; closing the original does.

        Args:
            base_url: New API root.
            api_key: New key (``None`` sends no ``Authorization``).
            timeout: New default timeout.
            max_retries: New retry count.
            default_headers: Headers merged over the current defaults.
            model_base_urls: Replaces the per-model API roots.

        Returns:
            The new client.
        """
        copy = AsyncClient(
            base_url=self.base_url if isinstance(base_url, NotGiven) else base_url,
            api_key=self._api_key if isinstance(api_key, NotGiven) else api_key,
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            default_headers=self.default_headers
            if isinstance(default_headers, NotGiven)
            else {**self.default_headers, **default_headers},
            model_base_urls=self.model_base_urls
            if isinstance(model_base_urls, NotGiven)
            else model_base_urls,
        )
        copy._pool = self._pool
        copy._shares_pool = True
        return copy

    # -- resources ------------------------------------------------------------------------------

    @cached_property
    def chat(self) -> Chat:
        """``client.chat.completions.create(...)``."""
        from .resources.chat import Chat

        return Chat(self)

    @cached_property
    def embeddings(self) -> Embeddings:
        """``client.embeddings.create(...)``."""
        from .resources.embeddings import Embeddings

        return Embeddings(self)

    @cached_property
    def audio(self) -> Audio:
        """``client.audio.transcriptions.create(...)`` and ``.translations.create(...)``."""
        from .resources.audio import Audio

        return Audio(self)

    @cached_property
    def models(self) -> Models:
        """``client.models.list()`` and ``client.models.list_fireworks()``."""
        from .resources.models import Models

        return Models(self)

    # -- plumbing used by the resources ----------------------------------------------------------

    def _url(self, path: str, model: str | None) -> str:
        if path.startswith(("http://", "https://")):
            return path
        root = self.model_base_urls.get(model, self.base_url) if model else self.base_url
        return root + path

    def _headers(
        self, accept: str, extra_headers: Mapping[str, str | None] | None
    ) -> httpx.Headers:
        headers = httpx.Headers({"Accept": accept, "User-Agent": _USER_AGENT})
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        headers.update(self.default_headers)
        if extra_headers:
            for name, value in extra_headers.items():
                if value is None:
                    if name in headers:
                        del headers[name]
                else:
                    headers[name] = value
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        *,
        model: str | None = None,
        json: object | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        stream: bool = False,
        accept: str = "application/json",
    ) -> httpx.Response:
        """Send one request with retries and return a 2xx response.

        With ``stream=True`` the response body is left unread, so nothing after the first
        byte of a successful response is ever retried.

        Raises:
            APIStatusError: A subclass matching the final error status.
            APITimeoutError: The last attempt timed out.
            APIConnectionError: The last attempt could not connect or lost the connection.
        """
        http = self._pool.get()
        request = http.build_request(
            method,
            self._url(path, model),
            json=json,
            data=data,
            files=files,
            params=params,
            headers=self._headers(accept, extra_headers),
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
        )
        trace = current_trace()
        exchange = trace.begin(request, data, files) if trace is not None else None
        try:
            response = await self._send_with_retries(http, request, stream, exchange)
        except APIError as exc:
            if exchange is not None:
                exchange.error = str(exc)
            raise
        if exchange is not None and not stream:
            exchange.read_body(response)
        return response

    async def _send_with_retries(
        self,
        http: httpx.AsyncClient,
        request: httpx.Request,
        stream: bool,
        exchange: Exchange | None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            retries_left = self.max_retries - attempt
            tried = exchange.attempt() if exchange is not None else None
            try:
                response = await http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                if retries_left > 0:
                    await self._wait_before_retry(request, attempt, None, "timeout", tried)
                    attempt += 1
                    continue
                raise APITimeoutError(self._timeout_message(exc, request), request=request) from exc
            except httpx.TransportError as exc:
                if retries_left > 0:
                    await self._wait_before_retry(request, attempt, None, type(exc).__name__, tried)
                    attempt += 1
                    continue
                raise APIConnectionError(
                    self._connection_message(exc, request), request=request
                ) from exc
            if exchange is not None and tried is not None:
                exchange.responded(response)
                tried.outcome = str(response.status_code)
            if response.is_success:
                return response
            try:
                await response.aread()
            except httpx.TransportError as exc:
                await response.aclose()
                if retries_left > 0:
                    await self._wait_before_retry(request, attempt, None, type(exc).__name__, tried)
                    attempt += 1
                    continue
                raise APIConnectionError(
                    self._connection_message(exc, request), request=request
                ) from exc
            if exchange is not None:
                exchange.read_body(response)
            if retries_left > 0 and self._should_retry(response):
                await self._wait_before_retry(
                    request, attempt, response.headers, str(response.status_code), tried
                )
                attempt += 1
                continue
            raise make_status_error(response, api_key=self._api_key)

    def _connection_message(self, exc: httpx.TransportError, request: httpx.Request) -> str:
        """What went wrong and where, for the user: names the URL, never the key."""
        detail = redact(str(exc), self._api_key) or type(exc).__name__
        where = redact(_shown_url(request.url), self._api_key)
        if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
            return f"Could not connect to {where}: {detail}"
        return f"Connection to {where} failed: {detail}"

    def _timeout_message(self, exc: httpx.TimeoutException, request: httpx.Request) -> str:
        where = redact(_shown_url(request.url), self._api_key)
        if isinstance(exc, httpx.ConnectTimeout):
            return f"Timed out connecting to {where}."
        return f"Request to {where} timed out."

    @staticmethod
    def _should_retry(response: httpx.Response) -> bool:
        verdict = response.headers.get("x-should-retry", "").strip().lower()
        if verdict == "true":
            return True
        if verdict == "false":
            return False
        status = response.status_code
        return status in (408, 409, 429) or status >= 500

    async def _wait_before_retry(
        self,
        request: httpx.Request,
        attempt: int,
        headers: httpx.Headers | None,
        reason: str,
        tried: Attempt | None,
    ) -> None:
        delay = self._retry_delay(attempt, headers)
        if tried is not None:
            tried.outcome = reason
            tried.retry_in_s = delay
        log.info(
            "Retrying %s %s in %.2f s (retry %d of %d, %s)",
            request.method,
            request.url.path,
            delay,
            attempt + 1,
            self.max_retries,
            reason,
        )
        await asyncio.sleep(delay)

    def _retry_delay(self, attempt: int, headers: httpx.Headers | None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (tests patch this to 0).

        Args:
            attempt: How many retries have happened already.
            headers: The error response's headers, or ``None`` after a connection failure.

        Returns:
            The server's ``retry-after-ms``/``retry-after`` when 0 < wait <= 60 s, else
            ``min(0.5 * 2**attempt, 8)`` reduced by up to 25 % jitter.
        """
        requested = _retry_after(headers) if headers is not None else None
        if requested is not None and 0 < requested <= MAX_RETRY_AFTER:
            return requested
        backoff = min(INITIAL_RETRY_DELAY * 2.0 ** min(attempt, 32), MAX_RETRY_DELAY)
        return backoff * (1 - 0.25 * random.random())

    def _parse(self, response: httpx.Response, model_type: type[_ModelT]) -> _ModelT:
        """Validate a 2xx JSON body; an error body delivered with 2xx raises as a status error."""
        try:
            parsed = model_type.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in problem["loc"]) or "body"
            raise APIResponseValidationError(
                f"Unexpected response from the server ({where}: {problem['msg']}).",
                response=response,
                body=redact(response.text[:2000], self._api_key),
            ) from exc
        extra = parsed.__pydantic_extra__
        if extra and "error" in extra:
            raise self._error_in_success(response, extra["error"])
        return parsed

    def _error_in_success(self, response: httpx.Response, error: object) -> APIStatusError:
        # vLLM has answered context overflow with HTTP 200 and an error body; use the status
        # code carried inside the error when there is one.
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else response.status_code
        return make_status_error(response, api_key=self._api_key, status_code=status)


def _shown_url(url: httpx.URL) -> str:
    """``url`` as error messages show it: scheme, host, port and path; no query or user info."""
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"


def _retry_after(headers: httpx.Headers) -> float | None:
    """The wait a response asks for, in seconds: ``retry-after-ms``, then ``retry-after``."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return value
    text = headers.get("retry-after")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        parsed = email.utils.parsedate_tz(text)
        if parsed is None:
            return None
        return email.utils.mktime_tz(parsed) - time.time()
    return value if math.isfinite(value) else None
