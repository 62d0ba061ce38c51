"""Audio tab: drop an audio or video file, transcribe or translate it with N models at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.audio import format_clock
from app.presenters.audio import TASKS, VAD_MODELS, AudioPane, AudioPresenter
from app.presenters.workbench import RunOutcome
from widgets.common.pane_view import PaneView
from widgets.common.workbench_view import WORKBENCH_SHORTCUTS, WorkbenchView
from widgets.tabs.audio_views import AudioDrop, SegmentsTable, WaveformView

__all__ = ["SHORTCUTS", "AudioPaneView", "AudioTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    *WORKBENCH_SHORTCUTS,
    ("Ctrl+O", "Open an audio or video file"),
    ("Ctrl+P", "Play or pause the file"),
    ("Ctrl+L", "Clear every pane"),
)

_AUDIO_FILES = (
    "Audio and video (*.wav *.mp3 *.flac *.ogg *.opus *.m4a *.aac *.webm *.mp4 *.mov *.mkv);;"
    "All files (*)"
)
_ERROR_STYLE = "color: #a40e26;"
_EXPORTS = (("txt", "Text"), ("srt", "SubRip"), ("vtt", "WebVTT"), ("json", "JSON"))


class AudioPaneView(PaneView):
    """An Audio pane: the segments (click one to play from it), the transcript, the upload."""

    pane: AudioPane

    def __init__(
        self, pane: AudioPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(pane, providers, parent)
        self.result.setObjectName("audioViews")
        self.output.setObjectName("output")
        self.upload = QProgressBar()
        self.upload.setObjectName("uploadProgress")
        self.upload.setFormat("uploading %p %")
        self.upload.setMaximumHeight(16)
        self.upload.hide()
        self.score_label = QLabel()
        self.score_label.setObjectName("paneScore")
        self.score_label.setWordWrap(True)
        self.score_label.hide()
        self.add_below_result(self.score_label)
        self.add_below_result(self.upload)
        self.export_actions = [
            self.add_menu_action(
                f"Export as {name} (.{kind})…", lambda _=False, k=kind: self._ask_export(k)
            )
            for kind, name in _EXPORTS
        ]
        self.send_to_chat_action = self.add_menu_action(
            "Send the transcript to Chat", self._send_to_chat
        )
        self.on_send_to_chat: Callable[[str], None] | None = None
        pane.upload_progress.connect(self._on_upload_progress)
        pane.transcribed.connect(self._show_transcript)
        # Every replaced result (a run's end, Clear, a restored result) redraws the metrics.
        pane.result_changed.connect(self._show_outcome)
        self._show_transcript()
        self._show_outcome()

    @property
    def output(self) -> QPlainTextEdit:
        """The transcript (``output``)."""
        return self._output

    # -- the pane's hooks ----------------------------------------------------------------------

    def _result_widget(self) -> QWidget:
        self.segments = SegmentsTable()
        self.segments.setObjectName("segments")
        self._output = QPlainTextEdit()
        self._output.setReadOnly(True)
        self._output.setPlaceholderText("The transcript of each model appears here.")
        views = QTabWidget()
        views.setDocumentMode(True)
        views.addTab(self.segments, "Segments")
        views.addTab(self._output, "Text")
        views.setTabToolTip(0, "Timed segments: click one to play from its start")
        self.views = views
        return views

    def _focus_sources(self) -> tuple[QWidget, ...]:
        return (self.segments.viewport(), self._output.viewport())

    # -- public --------------------------------------------------------------------------------

    def follow(self, seconds: float | None) -> None:
        """Highlight the segment playing at ``seconds`` (None: nothing plays)."""
        self.segments.follow(seconds)

    # -- presenter events ----------------------------------------------------------------------

    def _on_upload_progress(self, sent: int, total: int) -> None:
        self.upload.setVisible(total > 0 and sent < total)
        if total:
            self.upload.setMaximum(total)
            self.upload.setValue(sent)

    def _show_transcript(self) -> None:
        pane = self.pane
        self.segments.segments_model().set_segments(pane.segments)
        if self._output.toPlainText() != pane.text:
            self._output.setPlainText(pane.text)
        for action in (*self.export_actions, self.send_to_chat_action):
            action.setEnabled(bool(pane.text))
        self._show_score()

    def _show_outcome(self) -> None:
        pane = self.pane
        note = {RunOutcome.STOPPED: "stopped", RunOutcome.FAILED: "failed"}.get(pane.outcome, "")
        self.show_metrics(pane.last_metrics, note=note)
        self._show_score()

    def _show_score(self) -> None:
        pane = self.pane
        parts = []
        if pane.real_time_factor is not None and pane.outcome == RunOutcome.COMPLETE:
            parts.append(f"real-time factor {pane.real_time_factor:.2f}")
        if pane.language:
            parts.append(f"language {pane.language}")
        score = pane.score
        if score is not None:
            parts.append(
                f"WER {score.rate:.1%} ({score.substitutions} substituted, "
                f"{score.deletions} missed, {score.insertions} added of "
                f"{score.reference_words} words)"
            )
        self.score_label.setText(" · ".join(parts))
        self.score_label.setVisible(bool(parts))

    def _ask_export(self, kind: str) -> None:
        dialog = QFileDialog(self, "Export transcript")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.setNameFilter(f"{dict(_EXPORTS)[kind]} (*.{kind})")
        dialog.selectFile(f"transcript.{kind}")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        dialog.open()

    def export_to(self, path: Path) -> None:
        """Write the transcript to ``path`` in the format its suffix names."""
        kind = path.suffix.lower().lstrip(".")
        kind = kind if kind in dict(_EXPORTS) else "txt"
        try:
            path.write_text(self.pane.export(kind), encoding="utf-8")
        except OSError as error:
            self.status_label.setText(f"Could not save {path.name}: {error.strerror or error}")
            return
        self.status_label.setText(f"Saved {path.name}.")

    def _send_to_chat(self) -> None:
        if self.on_send_to_chat is not None and self.pane.text:
            self.on_send_to_chat(self.pane.text)


class AudioTab(WorkbenchView):
    """View of an :class:`AudioPresenter`: the file, its waveform, and one model per pane."""

    presenter: AudioPresenter
    shortcuts = SHORTCUTS

    def __init__(self, presenter: AudioPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)
        self.drop.files_dropped.connect(presenter.add_files)
        self.drop.open_button.clicked.connect(self.open_file)
        self.play_button.clicked.connect(self.play_or_pause)
        self.record_button.clicked.connect(self._on_record)
        self.reencode_button.clicked.connect(presenter.reencode)
        self.waveform.seek_requested.connect(self._play_from)
        self.task_picker.currentIndexChanged.connect(
            lambda i: presenter.set_task(self.task_picker.itemData(i))
        )
        self.reference.textChanged.connect(
            lambda: presenter.set_reference(self.reference.toPlainText())
        )
        self.score_picker.currentIndexChanged.connect(lambda _i: self._score())
        self.vad_picker.currentIndexChanged.connect(
            lambda i: self.selected_pane().set_vad_model(self.vad_picker.itemData(i))
        )
        self.diarize_check.toggled.connect(lambda _on: self._set_diarize())
        self.speakers_spin.valueChanged.connect(lambda _n: self._set_diarize())
        self.clear_button.clicked.connect(presenter.clear)
        presenter.file_changed.connect(self._show_file)
        presenter.audio_status.connect(self._show_status)
        presenter.send_state_changed.connect(self._update_all_actions)
        presenter.playback_changed.connect(self._show_playback)
        presenter.position_changed.connect(self._on_position)
        presenter.recording_changed.connect(self._show_recording)
        presenter.inputs_restored.connect(self._show_inputs)
        presenter.targets_changed.connect(lambda: self._pane_selected(self.selected_pane()))
        presenter.pane_added.connect(lambda _i: self._fill_score_picker())
        presenter.pane_removed.connect(lambda _i: self._fill_score_picker())
        self._fill_score_picker()
        self._show_file()
        self._show_playback()
        self._show_recording()
        self._show_sound_note()

    # -- the workbench's hooks -----------------------------------------------------------------

    def _build_input(self) -> QWidget:
        self.drop = AudioDrop()
        self.drop.setObjectName("audioDrop")
        self.audio_info = QLabel("No file yet")
        self.audio_info.setObjectName("audioInfo")
        self.audio_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.audio_details = QLabel()
        self.audio_details.setObjectName("hint")
        self.waveform = WaveformView()
        self.waveform.setObjectName("waveform")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setObjectName("playButton")
        self.record_button = QPushButton("● Record")
        self.record_button.setObjectName("recordButton")
        self.sound_note = QLabel()
        self.sound_note.setObjectName("hint")
        self.sound_note.setWordWrap(True)
        self.reencode_button = QPushButton("Re-encode to 16 kHz mono")
        self.reencode_button.setObjectName("reencodeButton")
        self.reencode_button.setToolTip(
            "A smaller copy (16 kHz mono) for providers whose upload limit the file exceeds"
        )
        self.task_picker = QComboBox()
        self.task_picker.setObjectName("taskPicker")
        for task in TASKS:
            self.task_picker.addItem(task, task)
        self.task_picker.setCurrentIndex(TASKS.index(self.presenter.task))
        self.task_picker.setToolTip("transcribe: in the spoken language; translate: to English")
        self.audio_status = QLabel()
        self.audio_status.setObjectName("audioStatus")
        self.audio_status.setWordWrap(True)
        self.audio_status.setStyleSheet(_ERROR_STYLE)
        self.audio_status.hide()
        heading = QHBoxLayout()
        heading.setContentsMargins(0, 0, 0, 0)
        heading.addWidget(self.audio_info)
        heading.addWidget(self.audio_details, 1)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.play_button)
        controls.addWidget(self.record_button)
        controls.addWidget(self.reencode_button)
        controls.addWidget(self.sound_note, 1)
        controls.addWidget(QLabel("Task"))
        controls.addWidget(self.task_picker)
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addLayout(heading)
        column.addWidget(self.waveform, 1)
        column.addLayout(controls)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.drop)
        row.addLayout(column, 1)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.audio_status)
        return box

    def _action_buttons(self) -> list[QWidget]:
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Clear every pane's transcript (Ctrl+L)")
        return [self.clear_button]

    def _side_boxes(self) -> list[QWidget]:
        self.reference = QPlainTextEdit(self.presenter.reference)
        self.reference.setObjectName("referenceInput")
        self.reference.setPlaceholderText("Paste what was said, to score every pane's words")
        self.reference.setTabChangesFocus(True)
        self.score_picker = QComboBox()
        self.score_picker.setObjectName("scoreAgainst")
        hint = QLabel(
            "Word error rate (jiwer) after lower-casing and removing punctuation; against a pane, "
            "it says how far the others differ from it."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        box = QGroupBox("Compare")
        form = QFormLayout(box)
        form.addRow("Score against", self.score_picker)
        form.addRow(self.reference)
        form.addRow(hint)
        return [box]

    def _pane_param_widgets(self) -> list[QWidget]:
        self.vad_picker = QComboBox()
        self.vad_picker.setObjectName("vadModel")
        for model in VAD_MODELS:
            self.vad_picker.addItem(model or "default", model)
        self.vad_picker.setToolTip("Fireworks' voice activity detection: which model finds speech")
        self.diarize_check = QCheckBox("Tell speakers apart (diarize)")
        self.diarize_check.setObjectName("diarize")
        self.speakers_spin = QSpinBox()
        self.speakers_spin.setObjectName("speakers")
        self.speakers_spin.setRange(0, 20)
        self.speakers_spin.setSpecialValueText("any")
        self.fireworks_hint = QLabel()
        self.fireworks_hint.setObjectName("hint")
        self.fireworks_hint.setWordWrap(True)
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("VAD", self.vad_picker)
        form.addRow(self.diarize_check)
        form.addRow("Speakers", self.speakers_spin)
        form.addRow(self.fireworks_hint)
        return [box]

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        return [
            ("Ctrl+O", self.open_file),
            ("Ctrl+P", self.play_or_pause),
            ("Ctrl+L", self.presenter.clear),
        ]

    def _make_pane_view(self, pane: AudioPane) -> PaneView:
        view = AudioPaneView(pane, self.presenter.providers())
        view.segments.segment_chosen.connect(
            lambda row, p=pane: (
                self._play_from(p.segments[row].start) if row < len(p.segments) else None
            )
        )
        view.on_send_to_chat = lambda text: self.hand_over.emit("chat", text)
        pane.transcribed.connect(self._update_all_actions)
        pane.run_ended.connect(lambda _outcome: self._score())
        return view

    def _send(self) -> bool:
        return self.presenter.send()

    def _pane_selected(self, pane: AudioPane) -> None:
        fireworks = pane.offers_diarization
        widgets = (self.vad_picker, self.diarize_check, self.speakers_spin)
        for widget in widgets:
            widget.blockSignals(True)
        self.vad_picker.setCurrentIndex(VAD_MODELS.index(pane.vad_model))
        self.diarize_check.setChecked(pane.diarize)
        self.speakers_spin.setValue(pane.speakers)
        for widget in widgets:
            widget.blockSignals(False)
        self.vad_picker.setEnabled(fireworks)
        self.diarize_check.setEnabled(fireworks)
        self.speakers_spin.setEnabled(fireworks and pane.diarize)
        self.fireworks_hint.setText(
            "Fireworks labels each segment with its speaker."
            if fireworks
            else "VAD and diarization are Fireworks options; this provider does not offer them."
        )

    def _update_actions(self) -> None:
        p = self.presenter
        blocker = p.send_blocker()
        self.send_button.setEnabled(not blocker)
        self.send_button.setToolTip(blocker or "Transcribe with every pane (Ctrl+Enter)")
        self.reencode_button.setVisible(p.needs_reencoding() or p.reencoding)
        self.reencode_button.setEnabled(not p.reencoding and not p.busy)
        self.clear_button.setEnabled(not p.busy and any(pane.text for pane in p.panes))

    # -- user commands -------------------------------------------------------------------------

    def open_file(self) -> None:
        """Choose an audio or video file."""
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", "", _AUDIO_FILES)
        if path:
            self.presenter.add_files([Path(path)])

    def play_or_pause(self) -> None:
        """Play the file from the start, or pause and resume it."""
        if self.presenter.playback_active:
            self.presenter.pause()
        else:
            self.presenter.play(0.0)

    # -- presenter events ----------------------------------------------------------------------

    def _play_from(self, seconds: float) -> None:
        self.presenter.play(seconds)

    def _on_record(self) -> None:
        if self.presenter.recording:
            self.presenter.stop_recording()
        else:
            self.presenter.start_recording()

    def _set_diarize(self) -> None:
        pane = self.selected_pane()
        pane.set_diarize(self.diarize_check.isChecked(), self.speakers_spin.value())
        self.speakers_spin.setEnabled(self.diarize_check.isChecked())

    def _fill_score_picker(self) -> None:
        current = self.score_picker.currentData()
        self.score_picker.blockSignals(True)
        self.score_picker.clear()
        self.score_picker.addItem("the reference below", None)
        for number in range(len(self.presenter.panes)):
            self.score_picker.addItem(f"pane {number + 1}", number)
        found = self.score_picker.findData(current)
        self.score_picker.setCurrentIndex(max(found, 0))
        self.score_picker.blockSignals(False)

    def _score(self) -> None:
        against = self.score_picker.currentData()
        self.reference.setEnabled(against is None)
        self.presenter.score(against)

    def _show_file(self) -> None:
        file = self.presenter.file
        if file is None:
            self.audio_info.setText("No file yet")
            self.audio_details.setText("")
            self.waveform.set_peaks(None)
        else:
            info = file.info
            self.audio_info.setText(f"{info.name} · {format_clock(info.duration_s)}")
            channels = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
            video = " · audio of a video" if info.has_video else ""
            self.audio_details.setText(
                f"{info.codec} · {info.sample_rate / 1000:g} kHz {channels} · "
                f"{info.size_bytes / 1e6:.1f} MB{video}"
            )
            self.waveform.set_peaks(file.peaks, info.duration_s)
        self._show_playback()
        self._update_all_actions()

    def _show_inputs(self) -> None:
        # Signals blocked: the presenter already holds these values and need not save them again.
        p = self.presenter
        self.task_picker.blockSignals(True)
        self.task_picker.setCurrentIndex(TASKS.index(p.task))
        self.task_picker.blockSignals(False)
        if self.reference.toPlainText() != p.reference:
            self.reference.blockSignals(True)
            self.reference.setPlainText(p.reference)
            self.reference.blockSignals(False)

    def _show_status(self, message: str) -> None:
        self.audio_status.setText(message)
        self.audio_status.setVisible(bool(message))

    def _show_playback(self) -> None:
        ok, reason = self.presenter.playback()
        has_file = self.presenter.file is not None
        self.play_button.setEnabled(ok and has_file)
        self.play_button.setText("❚❚ Pause" if self.presenter.playing else "▶ Play")
        self.play_button.setToolTip(
            "Play the file; click a segment or the waveform to play from there (Ctrl+P)"
            if ok
            else f"Playback is off: {reason}"
        )

    def _show_recording(self) -> None:
        ok, reason = self.presenter.capture()
        self.record_button.setEnabled(ok)
        self.record_button.setText("■ Stop recording" if self.presenter.recording else "● Record")
        self.record_button.setToolTip(
            "Record from the microphone; the recording becomes the file"
            if ok
            else f"Recording is off: {reason}"
        )

    def _show_sound_note(self) -> None:
        playback, play_reason = self.presenter.playback()
        capture, record_reason = self.presenter.capture()
        reasons = [r for ok, r in ((playback, play_reason), (capture, record_reason)) if not ok]
        self.sound_note.setText("; ".join(reasons))
        self.sound_note.setToolTip(self.sound_note.text())

    def _on_position(self, seconds: float | None) -> None:
        self.waveform.set_position(seconds)
        for view in self.pane_views:
            if isinstance(view, AudioPaneView):
                view.follow(seconds)
