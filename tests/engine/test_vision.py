"""Image questions answered from OCR text, and the errors around image input."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.engine.helpers import CHAT_MODEL, receipt_png

pytestmark = pytest.mark.engine


def _image_message(question: str, png: bytes) -> list[dict[str, Any]]:
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": question},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def test_printed_text_reaches_the_prompt(client: Any) -> None:
    # What the OCR reads goes into the prompt, so more printed lines mean a longer prompt; how
    # well the model answers from it is measured by bench/engine.py --ocr-eval.
    def prompt_tokens(png: bytes) -> int:
        result = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=_image_message("What is the total?", png),
            temperature=0,
            max_tokens=1,
        )
        return int(result.usage.prompt_tokens)

    blank = prompt_tokens(receipt_png([]))
    short = prompt_tokens(receipt_png(["CORNER CAFE", "TOTAL        7.75"]))
    receipt = [
        "HARDWARE STORE",
        "Hammer      12.99",
        "Nails        3.40",
        "Screws       2.10",
        "TOTAL       18.49",
    ]
    long = prompt_tokens(receipt_png(receipt))
    assert blank < short < long


def test_image_with_a_json_schema_extracts_fields(client: Any) -> None:
    import json

    schema = {
        "type": "object",
        "properties": {"shop": {"type": "string"}, "total": {"type": "number"}},
        "required": ["shop", "total"],
        "additionalProperties": False,
    }
    result = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=_image_message(
            "Extract the shop name and the total.",
            receipt_png(["BOOK NOOK", "Novel       14.00", "TOTAL       14.00"]),
        ),
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
        temperature=0,
    )
    data = json.loads(result.choices[0].message.content)
    assert set(data) == {"shop", "total"}


def test_unreadable_image_is_422(http: Any) -> None:
    url = "data:image/png;base64," + base64.b64encode(b"not a png at all").decode()
    response = http.post(
        "/chat/completions",
        json={
            "model": CHAT_MODEL,
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ],
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("The image could not be decoded")


def test_remote_image_urls_are_refused(http: Any) -> None:
    response = http.post(
        "/chat/completions",
        json={
            "model": CHAT_MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                    ],
                }
            ],
        },
    )
    assert response.status_code == 400
    assert "data URL" in response.json()["error"]["message"]


def test_oversized_image_is_413(http: Any) -> None:
    big = "data:image/png;base64," + "A" * (28 * 1024 * 1024)
    response = http.post(
        "/chat/completions",
        json={
            "model": CHAT_MODEL,
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": big}}]}
            ],
        },
    )
    assert response.status_code == 413
