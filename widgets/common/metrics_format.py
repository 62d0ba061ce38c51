"""Human wording of run metrics: measured figures plain, reported ones named, estimates marked."""

from __future__ import annotations

from app.domain.metrics import RunMetrics

__all__ = ["format_metrics", "metrics_tooltip"]


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_metrics(metrics: RunMetrics) -> str:
    """One compact line, e.g. ``TTFT 210 ms · 48.2 tok/s · 12 → 230 tok · $0.0002 est. · stop``."""
    parts: list[str] = []
    if metrics.ttft_s is not None:
        parts.append(f"TTFT {_seconds(metrics.ttft_s)}")
    if metrics.decode_tokens_per_s is not None:
        parts.append(f"{metrics.decode_tokens_per_s:.1f} tok/s")
    if metrics.completion_tokens is not None:
        prompt = "?" if metrics.prompt_tokens is None else str(metrics.prompt_tokens)
        tilde = "~" if metrics.tokens_estimated else ""
        parts.append(f"{prompt} → {tilde}{metrics.completion_tokens} tok")
    elif metrics.prompt_tokens is not None:
        parts.append(f"{metrics.prompt_tokens} tok in")
    if metrics.dimensions is not None:
        parts.append(f"{metrics.dimensions} dims")
    if metrics.vector_norm is not None:
        parts.append(f"norm {metrics.vector_norm:.2f}")
    if metrics.total_s is not None:
        parts.append(f"total {_seconds(metrics.total_s)}")
    if metrics.valid_json_s is not None:
        parts.append(f"valid JSON at {_seconds(metrics.valid_json_s)}")
    if metrics.audio_s is not None:
        parts.append(f"{metrics.audio_s:.1f} s audio")
    if metrics.image_count:
        parts.append(f"{metrics.image_count} image{'s' if metrics.image_count > 1 else ''}")
    if metrics.cost_usd is not None:
        parts.append(f"${metrics.cost_usd:.4f} est.")
    if metrics.finish_reason:
        parts.append(metrics.finish_reason)
    return " · ".join(parts)


def metrics_tooltip(metrics: RunMetrics) -> str:
    """Every figure with where it comes from."""
    lines = []
    if metrics.ttft_s is not None:
        lines.append(f"Time to first token (measured here): {_seconds(metrics.ttft_s)}")
    if metrics.server_ttft_s is not None:
        lines.append(f"Time to first token (reported by server): {_seconds(metrics.server_ttft_s)}")
    if metrics.decode_tokens_per_s is not None:
        lines.append(f"Decode speed, first to last token: {metrics.decode_tokens_per_s:.1f} tok/s")
    if metrics.prompt_tokens is not None:
        cached = f" ({metrics.cached_tokens} cached)" if metrics.cached_tokens else ""
        lines.append(f"Prompt tokens: {metrics.prompt_tokens}{cached}")
    if metrics.completion_tokens is not None:
        how = "estimated from stream chunks" if metrics.tokens_estimated else "reported by server"
        lines.append(f"Output tokens ({how}): {metrics.completion_tokens}")
    if metrics.total_s is not None:
        lines.append(f"Total latency: {_seconds(metrics.total_s)}")
    if metrics.valid_json_s is not None:
        lines.append(f"Time to complete, valid JSON: {_seconds(metrics.valid_json_s)}")
    if metrics.audio_s is not None:
        lines.append(f"Audio sent: {metrics.audio_s:.1f} s")
    if metrics.image_count:
        lines.append(f"Images sent: {metrics.image_count}")
    if metrics.dimensions is not None:
        lines.append(f"Vector dimensions: {metrics.dimensions}")
    if metrics.vector_norm is not None:
        lines.append(f"Mean vector norm (1 = normalised by the server): {metrics.vector_norm:.4f}")
    if metrics.cost_usd is not None:
        lines.append(f"Cost (estimate from catalog prices): ${metrics.cost_usd:.6f}")
    if metrics.finish_reason:
        lines.append(f"Finish reason: {metrics.finish_reason}")
    if metrics.request_id:
        lines.append(f"Request id: {metrics.request_id}")
    return "\n".join(lines)
