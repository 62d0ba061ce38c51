"""The Audio tab: one audio file, N speech-to-text targets, their transcripts side by side.

The file is read off the UI thread (duration, then a waveform); each pane uploads it to its
target (re-encoded to 16 kHz mono where the original is over the provider's limit and the user
asked for that) with a progress bar, and shows the transcript and its segments. The tab plays the
file, follows the playing segment, and scores every pane's words against a reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from app.client import FireplayError
from app.domain.audio import (
    AudioError,
    AudioInfo,
    Segment,
    Upload,
    Word,
    WordErrors,
    decode_samples,
    parse_subtitles,
    probe,
    real_time_factor,
    reencode_for_upload,
    segments_of,
    to_json,
    to_srt,
    to_text,
    to_vtt,
    too_large,
    waveform,
    word_error_rate,
)
from app.domain.compare import metrics_dict, metrics_from_dict
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID
from app.domain.metrics import RunMetrics
from app.domain.params import AUDIO_PARAMS
from app.domain.run import Failed, Finished, Result, run_once
from app.domain.sound import (
    Player,
    Recorder,
    SoundError,
    capture_availability,
    playback_availability,
)
from app.presenters.workbench import RunOutcome, Workbench, WorkbenchPane
from app.settings import TargetSettings

if TYPE_CHECKING:
    import numpy as np

    from app.presenters.services import Services

__all__ = [
    "TASKS",
    "VAD_MODELS",
    "AudioFile",
    "AudioPane",
    "AudioPresenter",
    "Task",
]

Task = Literal["transcribe", "translate"]
TASKS: tuple[Task, ...] = ("transcribe", "translate")
#: Fireworks' voice activity detectors ("" leaves the choice to Fireworks).
VAD_MODELS: tuple[str, ...] = ("", "silero", "whisperx-pyannet")
# Segments are what the tab shows; verbose_json carries them on every provider.
_DEFAULT_FORMAT = "verbose_json"
_PLAYBACK_RATE = 22_050
_POSITION_EVERY_MS = 50
_SUGGESTED = {
    LOCAL_PROVIDER_ID: "whisper-tiny.en",
    FIREWORKS_PROVIDER_ID: "whisper-v3-turbo",
}


@dataclass(frozen=True, slots=True)
class AudioFile:
    """The file every pane transcribes.

    Attributes:
        path: Where it is.
        info: What :func:`~app.domain.audio.probe` found in it.
        sha256: Hex digest of its bytes, so a saved tab can tell whether the file it names
            is still the one its results were made from.
        peaks: Its waveform, once read.
    """

    path: Path
    info: AudioInfo
    sha256: str
    peaks: np.ndarray | None = None

    def describe(self) -> dict[str, Any]:
        """The file as JSON data: its path, name, size and hash (never its bytes)."""
        return {
            "path": str(self.path),
            "name": self.info.name,
            "size": self.info.size_bytes,
            "sha256": self.sha256,
        }


class AudioPane(WorkbenchPane):
    """One speech-to-text target: its transcript, segments and how the upload goes.

    Signals (besides :class:`WorkbenchPane`'s):
        upload_progress(int, int): bytes sent and bytes to send (0, 0 when done).
        transcribed(): :attr:`text` and :attr:`segments` changed (or were cleared).
        run_ended(str): the run ended: a :class:`RunOutcome` value.
    """

    upload_progress = Signal(int, int)
    transcribed = Signal()
    run_ended = Signal(str)

    capability = "audio"
    param_specs = AUDIO_PARAMS
    queued_figure = "the total time"
    suggested_models = _SUGGESTED

    def __init__(
        self, services: Services, target: TargetSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(services, target, parent)
        self._text = ""
        self._segments: list[Segment] = []
        self._metrics: RunMetrics | None = None
        self._outcome = ""
        self._error = ""
        self._language: str | None = None
        self._score: WordErrors | None = None
        self._response_format = ""
        # What the shown result answers: the file's name as the user knows it, and the task.
        self._file_name = ""
        self._answered_task: Task | None = None
        # The file the newest request uploaded: the original, or its re-encoded copy.
        self._uploaded: Path | None = None

    # -- state read by views -------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The transcript ("" before any)."""
        return self._text

    @property
    def segments(self) -> list[Segment]:
        """The transcript's timed segments, in order."""
        return list(self._segments)

    @property
    def language(self) -> str | None:
        """The language the server detected or was told, if it said."""
        return self._language

    @property
    def input_label(self) -> str:
        """What the shown result answers, e.g. ``talk.wav (transcribe)`` ("" before any run)."""
        return _input_label(self._file_name, self._answered_task) if self._answered_task else ""

    @property
    def outcome(self) -> str:
        """How the newest run ended ("" while it runs or before any)."""
        return self._outcome

    @property
    def error(self) -> str:
        """Why the newest run failed ("" if it did not)."""
        return self._error

    @property
    def score(self) -> WordErrors | None:
        """Word errors against the tab's reference, when one was compared."""
        return self._score

    @property
    def real_time_factor(self) -> float | None:
        """Time taken over audio length of the newest run (below 1: faster than real time)."""
        metrics = self._metrics
        if metrics is None or metrics.total_s is None or metrics.audio_s is None:
            return None
        return real_time_factor(metrics.total_s, metrics.audio_s)

    @property
    def offers_diarization(self) -> bool:
        """Whether the pane's provider can tell speakers apart (Fireworks)."""
        return self._provider_id == FIREWORKS_PROVIDER_ID

    @property
    def diarize(self) -> bool:
        """Whether Fireworks is asked who speaks when."""
        return bool(self._options.get("diarize"))

    @property
    def vad_model(self) -> str:
        """The Fireworks voice activity detector this pane asks for ("" for Fireworks' default)."""
        value = str(self._options.get("vad_model") or "")
        return value if value in VAD_MODELS else ""

    @property
    def speakers(self) -> int:
        """How many speakers diarization looks for (0: the server decides)."""
        return int(self._options.get("speakers") or 0)

    @property
    def last_metrics(self) -> RunMetrics | None:
        """Metrics of the newest run."""
        return self._metrics

    @property
    def has_output(self) -> bool:
        """Whether the newest run returned a transcript."""
        return self._outcome == RunOutcome.COMPLETE and bool(self._text)

    def result_text(self) -> str:
        """The transcript: what Diff compares and Copy takes."""
        return self._text

    def record(self) -> dict[str, Any]:
        """The transcript, its segments, the status and the metrics."""
        reply: dict[str, Any] = {
            "role": "assistant",
            "content": self._text,
            "status": self._outcome,
            "metrics": metrics_dict(self._metrics),
            "segments": [
                {"start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker}
                for s in self._segments
            ],
        }
        if self._error:
            reply["error"] = self._error
        return {"messages": [reply], "metrics": [reply["metrics"]]}

    def export(self, kind: str) -> str:
        """The transcript as ``txt``, ``srt``, ``vtt`` or ``json``."""
        if kind == "srt":
            return to_srt(self._segments)
        if kind == "vtt":
            return to_vtt(self._segments)
        if kind == "json":
            return to_json(self._text, self._segments, model=self.model, language=self._language)
        return to_text(self._segments) if self._segments else self._text

    def result_state(self) -> dict[str, Any] | None:
        """The transcript, its segments (with words), format, language, metrics, score and
        outcome as JSON data; ``None`` before any run ended."""
        if not self._outcome:
            return None
        score = self._score
        return {
            "text": self._text,
            "segments": [_segment_state(segment) for segment in self._segments],
            "response_format": self._response_format,
            "language": self._language,
            "metrics": metrics_dict(self._metrics),
            "outcome": self._outcome,
            "error": self._error,
            "score": None
            if score is None
            else {
                "rate": score.rate,
                "substitutions": score.substitutions,
                "deletions": score.deletions,
                "insertions": score.insertions,
                "reference_words": score.reference_words,
            },
            "queue_note": self.queue_note,
            "file": self._file_name,
            "task": self._answered_task,
            "uploaded": str(self._uploaded) if self._uploaded is not None else None,
        }

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a result saved by :meth:`result_state`."""
        score = state.get("score")
        task = state.get("task")
        uploaded = state.get("uploaded")
        self._text = str(state.get("text") or "")
        self._segments = [_segment_from(raw) for raw in state.get("segments") or []]
        self._response_format = str(state.get("response_format") or "")
        self._language = state.get("language") or None
        self._metrics = metrics_from_dict(state.get("metrics"))
        self._outcome = str(state.get("outcome") or "")
        self._error = str(state.get("error") or "")
        self._score = WordErrors(**score) if score else None
        self.queue_note = str(state.get("queue_note") or "")
        self._file_name = str(state.get("file") or "")
        self._answered_task = task if task in TASKS else None
        self._uploaded = Path(uploaded) if uploaded else None
        self.transcribed.emit()
        # The status line is where a failure's message shows (see ``failed``).
        self.status_changed.emit(self._error)
        self.result_changed.emit()

    # -- commands ------------------------------------------------------------------------------

    def set_vad_model(self, vad_model: str) -> None:
        """Ask Fireworks for this voice activity detector ("" for its default)."""
        self.set_option("vad_model", vad_model if vad_model in VAD_MODELS[1:] else None)

    def set_diarize(self, diarize: bool, speakers: int = 0) -> None:
        """Ask Fireworks to tell the speakers apart (with ``speakers`` expected, 0 = any)."""
        self.set_option("diarize", True if diarize else None)
        self.set_option("speakers", speakers if diarize and speakers > 0 else None)

    def transcribe(self, source: Path, task: Task, audio_s: float, *, name: str) -> bool:
        """Upload ``source`` and transcribe (or translate) it; False when the pane is busy.

        The file is read by the client off the UI thread when the request is made. ``name`` is
        the file's name as the user knows it: the original's, also when ``source`` is its
        re-encoded copy.
        """
        if self.busy:
            return False
        self._clear_result()
        self._file_name, self._answered_task, self._uploaded = name, task, source
        self._start(self._run(source, task, audio_s))
        return True

    def set_score(self, score: WordErrors | None) -> None:
        """Remember how this pane's words compare with the reference."""
        self._score = score
        self.transcribed.emit()

    def clear(self) -> None:
        """Forget the transcript (the target stays)."""
        self.stop()
        self._clear_result()
        self.result_changed.emit()

    # -- runs ----------------------------------------------------------------------------------

    def _code_file_path(self) -> str | None:
        return str(self._uploaded) if self._uploaded is not None else None

    def _clear_result(self) -> None:
        self._text = self._error = self._outcome = self._response_format = self._file_name = ""
        self._segments = []
        self._metrics = None
        self._language = None
        self._score = None
        self._answered_task = None
        self.transcribed.emit()

    def _form(self) -> tuple[str, dict[str, Any]]:
        params = self._request_params()
        response_format = str(params.pop("response_format", _DEFAULT_FORMAT))
        granularities = params.pop("timestamp_granularities", None)
        if response_format == "verbose_json":
            params["timestamp_granularities"] = (
                str(granularities).split(",") if granularities else ["segment"]
            )
        if self.offers_diarization and self.vad_model:
            params["vad_model"] = self.vad_model
        if self.offers_diarization and self.diarize:
            params["diarize"] = True
            if self.speakers:
                params["min_speakers"] = params["max_speakers"] = self.speakers
        return response_format, params

    async def _run(self, source: Path, task: Task, audio_s: float) -> None:
        try:
            client = await self._client()
            response_format, params = self._form()
        except (ValueError, FireplayError) as error:
            self._end(RunOutcome.FAILED, error=str(error))
            return
        self._response_format = response_format
        if not source.is_file():
            self._end(RunOutcome.FAILED, error=f"{source.name} is no longer there.")
            return
        endpoint = client.audio.translations if task == "translate" else client.audio.transcriptions
        if task == "translate":
            params.pop("language", None)  # translations are always to English

        def sent(done: int, total: int) -> None:
            self.upload_progress.emit(done, total)

        results: list[Any] = []
        events = run_once(
            lambda: endpoint.create(
                model=self.model,
                file=source,
                response_format=response_format,
                progress=sent,
                **params,
            ),
            measure=lambda _value, metrics: RunMetrics(total_s=metrics.total_s, audio_s=audio_s),
            estimate_cost=self._cost_estimator(),
        )
        started = time.perf_counter()
        try:
            outcome = await self._consume(
                events,
                lambda _text: None,
                on_event=lambda event: (
                    results.append(event.value) if isinstance(event, Result) else None
                ),
            )
        except asyncio.CancelledError:
            self._metrics = RunMetrics(total_s=time.perf_counter() - started, audio_s=audio_s)
            self._end(RunOutcome.STOPPED)
            raise
        if isinstance(outcome, Failed):
            self._metrics = RunMetrics(total_s=outcome.metrics.total_s, audio_s=audio_s)
            self._end(RunOutcome.FAILED, error=outcome.message)
            return
        assert isinstance(outcome, Finished) and results
        self._metrics = outcome.metrics
        self._show(results[0])
        self._end(RunOutcome.COMPLETE)

    def _show(self, value: Any) -> None:
        if isinstance(value, str):
            self._segments = parse_subtitles(value) if "-->" in value else []
            self._text = (
                " ".join(s.text for s in self._segments) if self._segments else value.strip()
            )
        else:
            body = value.model_dump()
            self._segments = segments_of(body)
            self._text = str(body.get("text") or "").strip()
            self._language = body.get("language") or None
        self.transcribed.emit()

    def _stopped_before_start(self) -> None:
        self._end(RunOutcome.STOPPED)

    def _end(self, outcome: str, *, error: str = "") -> None:
        self._outcome = outcome
        self._error = error
        self.upload_progress.emit(0, 0)
        if error:
            self.failed.emit(error)
        self.result_changed.emit()
        self.run_ended.emit(outcome)


class AudioPresenter(Workbench):
    """Owns the audio file, the task, playback, recording and the reference transcript.

    Signals (besides :class:`Workbench`'s):
        file_changed(): :attr:`file` (or its waveform) changed.
        audio_status(str): why a file was refused, or what is being done with it ("" clears).
        playback_changed(): playing, paused or stopped.
        position_changed(object): the play position in seconds (None when stopped).
        recording_changed(): a recording started or stopped.
        scores_changed(): every pane's word errors were recomputed.
    """

    file_changed = Signal()
    audio_status = Signal(str)
    playback_changed = Signal()
    position_changed = Signal(object)
    recording_changed = Signal()
    scores_changed = Signal()

    tab_id = "audio"
    pane_type = AudioPane

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self._file: AudioFile | None = None
        self._reading = 0
        self._reencoded: Upload | None = None
        self._reencoded_path: Path | None = None
        self._reencoding = False
        saved_task = self.saved_input("task", "transcribe")
        self._task: Task = saved_task if saved_task in TASKS else "transcribe"
        self._reference = str(self.saved_input("reference", ""))
        self._player: Player | None = None
        self._recorder: Recorder | None = None
        self._position_timer = QTimer(self)
        self._position_timer.setInterval(_POSITION_EVERY_MS)
        self._position_timer.timeout.connect(self._report_position)
        self.file_changed.connect(self.send_state_changed)
        self.targets_changed.connect(self.file_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    @property
    def panes(self) -> list[AudioPane]:
        """The panes, left to right."""
        return cast(list[AudioPane], list(self._panes))

    @property
    def file(self) -> AudioFile | None:
        """The file every pane transcribes (None before one is accepted)."""
        return self._file

    @property
    def task(self) -> Task:
        """``transcribe`` (in the spoken language) or ``translate`` (to English)."""
        return self._task

    @property
    def reference(self) -> str:
        """The reference transcript the panes are scored against ("" for none)."""
        return self._reference

    @property
    def reading(self) -> bool:
        """Whether a file is being read."""
        return self._reading > 0

    @property
    def reencoding(self) -> bool:
        """Whether the file is being re-encoded to 16 kHz mono."""
        return self._reencoding

    @property
    def reencoded(self) -> Upload | None:
        """The 16 kHz mono copy of the file, once made."""
        return self._reencoded

    @property
    def playing(self) -> bool:
        """Whether the file is playing."""
        return self._player is not None and self._player.playing

    @property
    def playback_active(self) -> bool:
        """Whether the file is playing or paused (not stopped)."""
        return self._player is not None

    @property
    def recording(self) -> bool:
        """Whether the microphone is recording."""
        return self._recorder is not None and self._recorder.recording

    def playback(self) -> tuple[bool, str]:
        """Whether the file can be played here, and if not, why."""
        found = playback_availability()
        return found.ok, found.reason

    def capture(self) -> tuple[bool, str]:
        """Whether this machine can record, and if not, why."""
        found = capture_availability()
        return found.ok, found.reason

    def problem_for(self, index: int) -> str:
        """Why the file cannot go to pane ``index``'s provider ("" when it can)."""
        if self._file is None:
            return ""
        problem = too_large(self._file.info.size_bytes, self.panes[index].provider_id)
        if problem and self._reencoded is not None:
            problem = too_large(len(self._reencoded.data), self.panes[index].provider_id)
        return problem

    def needs_reencoding(self) -> bool:
        """Whether some pane's provider takes the file only re-encoded (and it is not yet)."""
        return self._reencoded is None and any(self.problem_for(i) for i in range(len(self._panes)))

    def send_blocker(self) -> str:
        """Why Send cannot act now ("" when it can)."""
        if self.busy:
            return "Every pane is still transcribing"
        if self._reading:
            return "Reading the audio…"
        if self._file is None:
            return "Drop or open an audio file first"
        if self._reencoding:
            return "Re-encoding the audio…"
        for number, _pane in enumerate(self.panes, 1):
            problem = self.problem_for(number - 1)
            if problem:
                return f"Pane {number}: {problem}"
        return ""

    # -- commands ------------------------------------------------------------------------------

    def add_files(self, paths: list[Path]) -> None:
        """Use the first of ``paths`` (read in a worker thread); a refusal goes to the status."""
        if not paths:
            return
        if len(paths) > 1:
            self.audio_status.emit(f"One file at a time: using {paths[0].name}.")
        self._load(paths[0])

    def set_task(self, task: str) -> None:
        """Transcribe or translate from the next Send."""
        self._task = "translate" if task == "translate" else "transcribe"
        self.remember_input("task", self._task)

    def set_reference(self, text: str) -> None:
        """Score every pane against ``text`` ("" stops scoring)."""
        self._reference = text
        self.remember_input("reference", text)
        self.score()

    def score(self, against: int | None = None) -> None:
        """Word error rate of every pane against the reference, or against pane ``against``."""
        reference = self._reference if against is None else self.panes[against].text
        for pane in self.panes:
            result: WordErrors | None = None
            if reference.strip() and pane.has_output:
                try:
                    result = word_error_rate(reference, pane.text)
                except ValueError:
                    result = None
            pane.set_score(result)
        self.scores_changed.emit()

    def reencode(self) -> None:
        """Make a 16 kHz mono copy of the file for providers that refuse the original."""
        if self._file is None or self._reencoding:
            return
        self._reencoding = True
        self.send_state_changed.emit()
        self._services.runner.start(self._reencode(self._file), name="audio.reencode")

    def send(self) -> bool:
        """Transcribe (or translate) the file with every pane; False when nothing was sent."""
        if self.send_blocker():
            return False
        file = self._file
        assert file is not None
        self._input_sent(_input_label(file.info.name, self._task))
        copy = self._reencoded_path
        for pane in self.panes:
            over = too_large(file.info.size_bytes, pane.provider_id)
            source = copy if over and copy is not None else file.path
            pane.transcribe(source, self._task, file.info.duration_s, name=file.info.name)
        return True

    def clear(self) -> None:
        """Clear every pane's transcript."""
        for pane in self.panes:
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    def play(self, start_s: float = 0.0) -> bool:
        """Play the file from ``start_s``; False (with the reason in the status) when it cannot."""
        if self._file is None:
            return False
        ok, reason = self.playback()
        if not ok:
            self.audio_status.emit(f"Cannot play here: {reason}")
            return False
        self.stop_playback()
        path = self._file.path
        self._player = Player(
            lambda start: decode_samples(path, _PLAYBACK_RATE, start),
            _PLAYBACK_RATE,
            on_finished=lambda: QTimer.singleShot(0, self, self.stop_playback),
        )
        try:
            self._player.play(start_s)
        except SoundError as error:  # a device that vanished: say so, keep the tab usable
            self._player = None
            self.audio_status.emit(f"Cannot play here: {error}")
            return False
        self._position_timer.start()
        self.playback_changed.emit()
        return True

    def pause(self) -> None:
        """Pause (or resume) playback."""
        if self._player is None:
            return
        if self._player.playing:
            self._player.pause()
        else:
            self._player.resume()
        self.playback_changed.emit()

    def stop_playback(self) -> None:
        """Stop playing."""
        if self._player is not None:
            self._player.stop()
            self._player = None
        self._position_timer.stop()
        self.position_changed.emit(None)
        self.playback_changed.emit()

    def start_recording(self) -> bool:
        """Record from the microphone; False (with the reason) when there is none."""
        ok, reason = self.capture()
        if not ok:
            self.audio_status.emit(f"Cannot record here: {reason}")
            return False
        self._recorder = Recorder()
        try:
            self._recorder.start()
        except SoundError as error:  # a microphone that vanished
            self._recorder = None
            self.audio_status.emit(f"Cannot record here: {error}")
            return False
        self.recording_changed.emit()
        return True

    def stop_recording(self) -> None:
        """Stop recording and use the recording as the file."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        data = recorder.stop()
        self.recording_changed.emit()
        if not data:
            self.audio_status.emit("Nothing was recorded.")
            return
        folder = Path(tempfile.gettempdir()) / "fireplay-recordings"
        folder.mkdir(exist_ok=True)
        path = folder / time.strftime("recording-%Y%m%d-%H%M%S.wav")
        path.write_bytes(data)
        self.add_files([path])

    # -- state: sessions, presets, reopened runs ------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """The task, the reference and the file (path, name, size and hash; never its bytes)."""
        return {
            "task": self._task,
            "reference": self._reference,
            "file": self._file.describe() if self._file is not None else None,
        }

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Take the task, the reference and the file of ``inputs`` (absent ones stay as they are).

        The file is read again the way a dropped one is, unless it is the one already loaded;
        a file that is no longer there is named in :attr:`audio_status` and the tab is left
        without a file.
        """
        remembered: dict[str, Any] = {}
        if "task" in inputs:
            self._task = "translate" if inputs["task"] == "translate" else "transcribe"
            remembered["task"] = self._task
        if "reference" in inputs:
            self._reference = str(inputs["reference"] or "")
            remembered["reference"] = self._reference
        if "file" in inputs:
            self._restore_file(inputs["file"])
        self.score()
        super().restore_inputs(remembered)

    def shutdown(self) -> None:
        """Stop playback and recording (the window is closing)."""
        self.stop_playback()
        if self._recorder is not None:
            self._recorder.stop()
            self._recorder = None

    # -- internals -----------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> AudioPane:
        return AudioPane(self._services, target)

    def _load(self, path: Path, expected_sha256: str = "") -> None:
        self._reading += 1
        self.send_state_changed.emit()
        self._services.runner.start(self._read(path, expected_sha256), name="audio.read")

    def _restore_file(self, saved: Mapping[str, Any] | None) -> None:
        if not saved:
            self._forget_file()
            return
        path = Path(str(saved.get("path") or ""))
        name = str(saved.get("name") or path.name)
        expected = str(saved.get("sha256") or "")
        if not path.is_file():
            self._forget_file()
            self.audio_status.emit(
                f"{name} is no longer at {path}: its results are shown, "
                "but open it again to play or transcribe it."
            )
            return
        current = self._file
        if current is None or current.path != path or current.sha256 != expected:
            self._load(path, expected)
        # Else it is loaded already: its waveform and re-encoded copy are kept.

    def _forget_file(self) -> None:
        if self._file is None:
            return
        self.stop_playback()
        self._file = None
        self._reencoded = self._reencoded_path = None
        self.file_changed.emit()

    async def _read(self, path: Path, expected_sha256: str = "") -> None:
        try:
            info = await asyncio.to_thread(probe, path)
            digest = await asyncio.to_thread(_sha256, path)
        except AudioError as error:
            self.audio_status.emit(str(error))
            return
        except OSError as error:
            self.audio_status.emit(f"Could not read {path.name}: {error.strerror or error}")
            return
        finally:
            # The duration is all Send needs; the waveform follows while the panes may work.
            self._reading -= 1
            self.send_state_changed.emit()
        self.stop_playback()
        self._file = AudioFile(path, info, digest)
        self._reencoded = self._reencoded_path = None
        changed = bool(expected_sha256) and digest != expected_sha256
        self.audio_status.emit(
            f"{info.name} has changed since its results were made." if changed else ""
        )
        self.file_changed.emit()
        try:
            peaks = await asyncio.to_thread(waveform, path)
        except (AudioError, OSError):
            return  # the duration is known; a waveform is a nicety
        if self._file is not None and self._file.path == path:
            self._file = AudioFile(path, info, digest, peaks)
            self.file_changed.emit()

    async def _reencode(self, file: AudioFile) -> None:
        self.audio_status.emit(f"Re-encoding {file.info.name} to 16 kHz mono…")
        try:
            upload, copy = await asyncio.to_thread(_reencoded_copy, file)
        except (AudioError, OSError) as error:
            self.audio_status.emit(f"Could not re-encode {file.info.name}: {error}")
            return
        finally:
            self._reencoding = False
        if self._file is not None and self._file.path == file.path:
            self._reencoded, self._reencoded_path = upload, copy
            size = len(upload.data) / 1e6
            self.audio_status.emit(
                f"Re-encoded to 16 kHz mono: {size:.1f} MB, sent where the original is too large."
            )
        self.file_changed.emit()

    def _report_position(self) -> None:
        if self._player is not None:
            self.position_changed.emit(self._player.position_s)


def _input_label(name: str, task: str) -> str:
    """One send's shared input, as the comparison names it."""
    return f"{name} ({task})"


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _reencoded_copy(file: AudioFile) -> tuple[Upload, Path]:
    """Re-encode ``file`` and keep the copy on disk, under a folder named by its hash.

    Sent from disk like the original, the copy is a file that View code can upload again and
    that a restored tab can name; the same original always gets the same copy.
    """
    upload = reencode_for_upload(file.path)
    folder = Path(tempfile.gettempdir()) / "fireplay-reencoded" / file.sha256[:16]
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / upload.filename
    copy.write_bytes(upload.data)
    return upload, copy


def _segment_state(segment: Segment) -> dict[str, Any]:
    """A segment as JSON data (lists, not tuples, so it reads back equal)."""
    return {
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "speaker": segment.speaker,
        "words": [{"word": w.word, "start": w.start, "end": w.end} for w in segment.words],
    }


def _segment_from(raw: Mapping[str, Any]) -> Segment:
    """Read back what :func:`_segment_state` wrote."""
    return Segment(
        start=float(raw["start"]),
        end=float(raw["end"]),
        text=str(raw["text"]),
        speaker=raw.get("speaker"),
        words=tuple(
            Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in raw.get("words", ())
        ),
    )
