"""View code (app.domain.codegen): the generated code, run against the fake server, repeats the
request the app made: same method, path, key, JSON body or multipart form and file."""

from __future__ import annotations

import ast
import base64
import binascii
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import wave
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.domain.codegen import LANGUAGES, CodeRequest, generate
from tests.fake_server import DEFAULT_REPLY, FakeServer, RecordedRequest, Scripted

KEY = "fw-test-Secret-7f3a9c2e"
ENV = "FIREWORKS_API_KEY"
MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"
# Everything that breaks naive quoting in one of the four languages.
TRICKY = (
    "Say \"hi\" & 'bye': $HOME `whoami` $(date) ${x} %s {braces} !! \\n back\\slash\\\n"
    "second line\ttab — ünïcödé 日本語 🎉 \u00a0nbsp"
)
RUNNABLE = ("curl", "python-openai", "python-httpx")
TIMEOUT_S = 60
FAR_AWAY = "https://api.fireworks.ai/inference/v1"  # for code that is only read, never run


# -- helpers ----------------------------------------------------------------------------------


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = binascii.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def write_wav(path: Path) -> bytes:
    """A tenth of a second of a 16 kHz mono tone, written with the standard library."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"".join(struct.pack("<h", (i % 40 - 20) * 800) for i in range(1600)))
    return path.read_bytes()


def data_url(mime: str, content: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def subprocess_env() -> dict[str, str]:
    """The test's environment with the key set and every proxy turned off (loopback only)."""
    proxies = {"http_proxy", "https_proxy", "all_proxy"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in proxies}
    env.update({ENV: KEY, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(request: CodeRequest, language: str, tmp_path: Path) -> str:
    """Generate ``language`` code for ``request``, run it, and return what it printed."""
    if language == "curl" and shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    if language == "python-openai" and importlib.util.find_spec("openai") is None:
        pytest.skip("the openai package is not installed")
    code = generate(request, language)
    assert KEY not in code
    script = tmp_path / ("request.sh" if language == "curl" else "request.py")
    script.write_text(code, encoding="utf-8")
    command = ["bash", str(script)] if language == "curl" else [sys.executable, str(script)]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        encoding="utf-8",
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{language} failed:\n{code}\n{result.stderr}"
    return result.stdout


def only_request(server: FakeServer, method: str, path: str) -> RecordedRequest:
    """The one request the code made, checked for its method, path and key."""
    [sent] = server.requests
    assert (sent.method, sent.path) == (method, path)
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    return sent


def reply_text(stdout: str) -> str:
    return str(json.loads(stdout)["choices"][0]["message"]["content"])


# -- requests ---------------------------------------------------------------------------------


def chat(base_url: str, body: dict[str, Any], media_paths: tuple[str, ...] = ()) -> CodeRequest:
    return CodeRequest(
        method="POST",
        base_url=base_url,
        path="/chat/completions",
        body=body,
        api_key_env=ENV,
        media_paths=media_paths,
    )


def streaming_chat(base_url: str, tmp_path: Path) -> CodeRequest:
    return chat(
        base_url,
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You answer in one line."},
                {"role": "user", "content": TRICKY},
            ],
            "stream": True,
            "temperature": 0.7,
            "max_tokens": 64,
            "seed": 7,
            "stop": ["\n\n", "END"],
            "top_k": 40,
            "min_p": 0.05,
            "repetition_penalty": 1.1,
            "perf_metrics_in_response": True,
        },
    )


def tool_chat(base_url: str, tmp_path: Path) -> CodeRequest:
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    return chat(
        base_url,
        {
            "model": MODEL,
            "messages": [
                {"role": "user", "content": "What's the weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
            ],
            "tools": [weather],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": False,
            "temperature": 0,
            "stream": False,
        },
    )


JSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Z][a-z]+$"},
                "population": {"type": ["integer", "null"], "minimum": 0},
            },
            "required": ["name", "population"],
            "additionalProperties": False,
        },
    },
}
GRAMMAR = {"type": "grammar", "grammar": 'root ::= "yes" | "no" [\\n]? "$" `x`'}


def structured_chat(response_format: dict[str, Any]) -> Callable[[str, Path], CodeRequest]:
    def build(base_url: str, tmp_path: Path) -> CodeRequest:
        return chat(
            base_url,
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": "Name a city."}],
                "response_format": response_format,
                "max_tokens": 200,
                "perf_metrics_in_response": True,
            },
        )

    return build


def vision_files(tmp_path: Path) -> tuple[Path, Path]:
    """A PNG and a JPEG whose names need quoting everywhere."""
    folder = tmp_path / "media dir"
    folder.mkdir(exist_ok=True)
    png = folder / 'chart "v1" $x.png'
    jpeg = folder / "it's `a` photo.jpg"
    png.write_bytes(png_bytes())
    jpeg.write_bytes(b"\xff\xd8\xff\xe0 not really a photo \xff\xd9")
    return png, jpeg


def vision_body(png_url: str, jpeg_url: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": TRICKY},
                    {"type": "image_url", "image_url": {"url": png_url, "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": jpeg_url}},
                ],
            }
        ],
        "max_tokens": 32,
    }


# The data URLs as the app sent them; their files have changed since, as a later read sees.
STALE_PNG = data_url("image/png", b"stale png bytes")
STALE_JPEG = data_url("image/jpeg", b"stale jpeg bytes")


def vision_chat(base_url: str, tmp_path: Path) -> CodeRequest:
    png, jpeg = vision_files(tmp_path)
    return chat(base_url, vision_body(STALE_PNG, STALE_JPEG), media_paths=(str(png), str(jpeg)))


def embeddings(base_url: str, tmp_path: Path) -> CodeRequest:
    return CodeRequest(
        method="POST",
        base_url=base_url,
        path="/embeddings",
        body={
            "model": "fake-embed",
            "input": ["first text", TRICKY],
            "dimensions": 8,
            "encoding_format": "float",
            "user": "tester",
            "prompt_template": "query: {text}",
        },
        api_key_env=ENV,
    )


TRANSCRIPTION_FORM: dict[str, Any] = {
    "model": "whisper-v3",
    "response_format": "verbose_json",
    "language": "de",
    "temperature": "0",
    "prompt": TRICKY,
    "timestamp_granularities[]": ["segment", "word"],
    "vad_model": "silero",
}


def transcription(base_url: str, tmp_path: Path) -> CodeRequest:
    path = tmp_path / "clip one.wav"
    write_wav(path)
    return CodeRequest(
        method="POST",
        base_url=base_url,
        path="/audio/transcriptions",
        form=dict(TRANSCRIPTION_FORM),
        file_path=str(path),
        api_key_env=ENV,
    )


def translation(base_url: str, tmp_path: Path) -> CodeRequest:
    path = tmp_path / "clip.wav"
    write_wav(path)
    return CodeRequest(
        method="POST",
        base_url=base_url,
        path="/audio/translations",
        form={"model": "whisper-v3", "response_format": "srt", "temperature": "0.2"},
        file_path=str(path),
        api_key_env=ENV,
    )


def list_models(base_url: str, tmp_path: Path) -> CodeRequest:
    return CodeRequest(method="GET", base_url=base_url, path="/models", api_key_env=ENV)


SCENARIOS: dict[str, Callable[[str, Path], CodeRequest]] = {
    "streaming-chat": streaming_chat,
    "tools": tool_chat,
    "json-schema": structured_chat(JSON_SCHEMA),
    "grammar": structured_chat(GRAMMAR),
    "vision": vision_chat,
    "embeddings": embeddings,
    "transcription": transcription,
    "translation": translation,
    "list-models": list_models,
}


# -- running the code against the fake server -------------------------------------------------


@pytest.mark.parametrize("language", RUNNABLE)
def test_streaming_chat_sends_every_field_and_prints_the_text(
    language: str, fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.script.append(Scripted(chunks=["Hel", "lo", " there"]))
    request = streaming_chat(fake_server.url, tmp_path)

    stdout = run(request, language, tmp_path)

    sent = only_request(fake_server, "POST", "/v1/chat/completions")
    assert sent.json == request.body
    assert sent.json["messages"][1]["content"] == TRICKY
    if language == "curl":
        assert "data: " in stdout and '"Hel"' in stdout  # the raw event stream
    else:
        assert stdout == "Hello there\n"


@pytest.mark.parametrize("language", RUNNABLE)
def test_tool_calling_chat(language: str, fake_server: FakeServer, tmp_path: Path) -> None:
    request = tool_chat(fake_server.url, tmp_path)

    stdout = run(request, language, tmp_path)

    assert only_request(fake_server, "POST", "/v1/chat/completions").json == request.body
    assert reply_text(stdout) == "".join(DEFAULT_REPLY)


@pytest.mark.parametrize("response_format", [JSON_SCHEMA, GRAMMAR], ids=["json_schema", "grammar"])
@pytest.mark.parametrize("language", RUNNABLE)
def test_structured_output_keeps_the_schema(
    language: str, response_format: dict[str, Any], fake_server: FakeServer, tmp_path: Path
) -> None:
    request = structured_chat(response_format)(fake_server.url, tmp_path)

    run(request, language, tmp_path)

    sent = only_request(fake_server, "POST", "/v1/chat/completions")
    assert sent.json == request.body
    assert sent.json["response_format"] == response_format


@pytest.mark.parametrize("language", RUNNABLE)
def test_vision_reads_the_images_from_their_files(
    language: str, fake_server: FakeServer, tmp_path: Path
) -> None:
    request = vision_chat(fake_server.url, tmp_path)
    png, jpeg = vision_files(tmp_path)
    code = generate(request, language)
    assert STALE_PNG.split(",")[1] not in code and STALE_JPEG.split(",")[1] not in code

    run(request, language, tmp_path)

    fresh = vision_body(
        data_url("image/png", png.read_bytes()), data_url("image/jpeg", jpeg.read_bytes())
    )
    sent = only_request(fake_server, "POST", "/v1/chat/completions")
    assert sent.json == fresh
    assert sent.json["messages"][0]["content"][0]["text"] == TRICKY


@pytest.mark.parametrize("language", RUNNABLE)
def test_embeddings(language: str, fake_server: FakeServer, tmp_path: Path) -> None:
    request = embeddings(fake_server.url, tmp_path)

    stdout = run(request, language, tmp_path)

    assert only_request(fake_server, "POST", "/v1/embeddings").json == request.body
    vectors = [item["embedding"] for item in json.loads(stdout)["data"]]
    assert [len(vector) for vector in vectors] == [8, 8]


@pytest.mark.parametrize("language", RUNNABLE)
def test_transcription_uploads_the_file_with_every_field(
    language: str, fake_server: FakeServer, tmp_path: Path
) -> None:
    request = transcription(fake_server.url, tmp_path)

    stdout = run(request, language, tmp_path)

    sent = only_request(fake_server, "POST", "/v1/audio/transcriptions")
    expected = {k: v if isinstance(v, list) else [v] for k, v in TRANSCRIPTION_FORM.items()}
    assert sent.form == expected
    assert sent.form["prompt"] == [TRICKY]
    upload = sent.files["file"]
    assert (upload.filename, upload.content) == (
        "clip one.wav",
        (tmp_path / "clip one.wav").read_bytes(),
    )
    assert json.loads(stdout)["segments"][0]["start"] == 0.0


@pytest.mark.parametrize("language", RUNNABLE)
def test_translation_prints_subtitles_as_text(
    language: str, fake_server: FakeServer, tmp_path: Path
) -> None:
    request = translation(fake_server.url, tmp_path)

    stdout = run(request, language, tmp_path)

    sent = only_request(fake_server, "POST", "/v1/audio/translations")
    assert sent.form == {
        "model": ["whisper-v3"],
        "response_format": ["srt"],
        "temperature": ["0.2"],
    }
    assert sent.files["file"].content == (tmp_path / "clip.wav").read_bytes()
    assert stdout.startswith("1\n00:00:00,000 --> 00:00:01,500\n")


@pytest.mark.parametrize("language", RUNNABLE)
def test_a_get_request_without_an_sdk_method(
    language: str, fake_server: FakeServer, tmp_path: Path
) -> None:
    stdout = run(list_models(fake_server.url, tmp_path), language, tmp_path)

    only_request(fake_server, "GET", "/v1/models")
    assert "fake-chat" in stdout


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_javascript_is_valid_syntax(scenario: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    code = generate(SCENARIOS[scenario](FAR_AWAY, tmp_path), "javascript")
    script = tmp_path / "request.mjs"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [node, "--check", str(script)],
        capture_output=True,
        encoding="utf-8",
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{code}\n{result.stderr}"
    assert f"apiKey: process.env.{ENV}," in code


# -- the generator itself ---------------------------------------------------------------------


def create_call(code: str) -> ast.Call:
    """The SDK ``...create(...)`` call in python-openai code."""
    calls = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "create"
    ]
    [call] = calls
    return call


def keywords(call: ast.Call) -> dict[str, Any]:
    return {
        str(k.arg): ast.literal_eval(k.value)
        for k in call.keywords
        if isinstance(k.value, ast.Constant | ast.Dict | ast.List)
    }


def test_python_openai_puts_only_unknown_chat_fields_in_extra_body(tmp_path: Path) -> None:
    request = streaming_chat(FAR_AWAY, tmp_path)

    arguments = keywords(create_call(generate(request, "python-openai")))

    extra = arguments.pop("extra_body")
    assert extra == {
        "top_k": 40,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
        "perf_metrics_in_response": True,
    }
    assert set(arguments) == {
        "model",
        "messages",
        "stream",
        "temperature",
        "max_tokens",
        "seed",
        "stop",
    }
    assert arguments["stream"] is True  # JSON true written as Python True


def test_python_openai_maps_audio_form_fields(tmp_path: Path) -> None:
    call = create_call(generate(transcription(FAR_AWAY, tmp_path), "python-openai"))
    arguments = keywords(call)

    assert arguments.pop("extra_body") == {"vad_model": "silero"}
    assert arguments == {
        "model": "whisper-v3",
        "response_format": "verbose_json",
        "language": "de",
        "temperature": 0,
        "prompt": TRICKY,
        "timestamp_granularities": ["segment", "word"],
    }
    assert call.keywords[0].arg == "file"


def test_translation_keeps_language_out_of_the_sdk_arguments() -> None:
    request = CodeRequest(
        method="POST",
        base_url=FAR_AWAY,
        path="/audio/translations",
        form={"model": "whisper-v3", "language": "fr", "temperature": "0.2,0.4"},
        api_key_env=ENV,
    )

    arguments = keywords(create_call(generate(request, "python-openai")))

    # Translations take no language in the SDK; a comma list of temperatures stays text.
    assert arguments == {
        "model": "whisper-v3",
        "temperature": "0.2,0.4",
        "extra_body": {"language": "fr"},
    }


def test_embeddings_extra_body() -> None:
    arguments = keywords(create_call(generate(embeddings(FAR_AWAY, Path()), "python-openai")))

    assert arguments.pop("extra_body") == {"prompt_template": "query: {text}"}
    assert set(arguments) == {"model", "input", "dimensions", "encoding_format", "user"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_missing_media_paths_become_placeholders(language: str) -> None:
    body = vision_body(STALE_PNG, STALE_JPEG)
    body["messages"][0]["content"].append(
        {"type": "image_url", "image_url": {"url": data_url("image/webp", b"third")}}
    )
    request = chat(FAR_AWAY, body, media_paths=("first.png",))

    code = generate(request, language)

    for name in ("first.png", "image-2.jpg", "image-3.webp"):
        assert name in code
    assert "image/jpeg" in code and "image/webp" in code
    assert "base64,c3" not in code  # no blob of the original data URLs


@pytest.mark.parametrize("language", LANGUAGES)
def test_generation_is_deterministic(language: str, tmp_path: Path) -> None:
    for build in SCENARIOS.values():
        first = generate(build(FAR_AWAY, tmp_path), language)
        assert generate(build(FAR_AWAY, tmp_path), language) == first


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_key_comes_from_the_environment(language: str, tmp_path: Path) -> None:
    code = generate(tool_chat(FAR_AWAY, tmp_path), language)

    reference = {
        "curl": f'"Authorization: Bearer ${ENV}"',
        "python-openai": f'os.environ["{ENV}"]',
        "python-httpx": f"os.environ['{ENV}']",
        "javascript": f"process.env.{ENV}",
    }[language]
    assert reference in code


@pytest.mark.parametrize("language", LANGUAGES)
def test_header_names_the_request_and_survives_a_hostile_model_name(language: str) -> None:
    request = chat(FAR_AWAY, {"model": "evil\nrm -rf ~", "messages": []})

    lines = generate(request, language).splitlines()

    header = next(line for line in lines if "Chat completion" in line)
    assert header.endswith("Chat completion with evil?rm -rf ~")
    assert not any(line.startswith("rm -rf") for line in lines)


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="Unknown language 'ruby'"):
        generate(chat(FAR_AWAY, {"model": "m", "messages": []}), "ruby")


@pytest.mark.parametrize(
    "request_",
    [
        CodeRequest(method="DELETE", base_url=FAR_AWAY, path="/models/m"),
        CodeRequest(method="GET", base_url=FAR_AWAY, path="/models", api_key_env="MY KEY"),
    ],
    ids=["method", "key-variable"],
)
def test_requests_that_cannot_be_written(request_: CodeRequest) -> None:
    with pytest.raises(ValueError):
        generate(request_, "curl")
