"""Normalisation shared by complete and streamed tool calls."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["arguments_as_text", "function_as_object"]


def arguments_as_text(value: Any) -> Any:
    """Some providers send ``arguments`` as a JSON object: turn it into the usual JSON string."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def function_as_object(data: Any) -> Any:
    """Accept ``"function": "name"`` (seen in provider SDK types) as ``{"name": "name"}``."""
    if isinstance(data, dict):
        function = data.get("function")
        if isinstance(function, str):
            return {**data, "function": {"name": function}}
    return data
