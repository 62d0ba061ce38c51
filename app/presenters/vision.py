"""The Image questions tab: images and a question, N vision models, each pane a conversation.

Images are decoded once when attached and prepared per provider (format, size, count limits)
in worker threads, so dropping ten large photos never holds the UI. A sent message keeps its
images: follow-up questions carry them again, as chat-completions APIs require.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal

from app.domain.catalog import load_catalog
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID
from app.domain.media import (
    Detail,
    ImageLimits,
    MediaError,
    PreparedImage,
    SourceImage,
    image_part,
    is_image_url,
    limits_for,
    prepare_all,
    read_image,
    url_part,
)
from app.presenters.pane import ChatPane
from app.presenters.workbench import Workbench
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["DETAILS", "Attachment", "VisionPane", "VisionPresenter"]

DETAILS: tuple[Detail, ...] = ("auto", "low", "high")
_DEFAULT_PROMPT = "What is in this image? Describe it in two sentences."
# Files are read in threads, a few at once: enough to keep both cores busy, not so many that
# ten 24-megapixel photos are all held decoded at the same moment.
_READERS = 3


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image waiting to be sent: a file or pasted data (``source``), or a URL sent as is."""

    key: int
    name: str
    source: SourceImage | None = None
    url: str = ""


class VisionPane(ChatPane):
    """A conversation whose user turns may carry images."""

    capability = "vision"

    def __init__(
        self, services: Services, target: TargetSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(services, target, lambda: "", parent)
        self._resent_bytes = 0
        self._resent_tokens = 0

    def notes(self) -> list[str]:
        """What the user should know about this pane's images ("" entries never appear)."""
        notes = []
        if self.provider_id == LOCAL_PROVIDER_ID:
            notes.append(
                "OCR-assisted: the built-in engine reads the text in images for a text model; "
                "it does not see them."
            )
        elif self.provider_id == FIREWORKS_PROVIDER_ID:
            info = load_catalog().get(self.model)
            if info is not None and info.supports_image_input is False:
                model = self.model.rsplit("/", 1)[-1]
                notes.append(f"⚠ The catalog says {model} takes no images.")
        if self._resent_bytes and self.turns:
            tokens = f", ≈{self._resent_tokens:,} image tokens" if self._resent_tokens else ""
            notes.append(
                f"Follow-ups send the images again: {self._resent_bytes / 1e6:.1f} MB{tokens} "
                "with every message."
            )
        return notes

    def send_images(
        self,
        text: str,
        parts: list[dict[str, Any]],
        names: list[str],
        prepared: Sequence[PreparedImage],
        *,
        images_first: bool,
    ) -> bool:
        """Ask about ``parts`` (already prepared for this pane's provider) and ``text``."""
        self._conversation.images_first = images_first
        added_bytes = sum(image.base64_size for image in prepared)
        added_tokens = sum(image.estimated_tokens or 0 for image in prepared)
        # Counted before sending, so the views that react to the new turn already see them.
        self._resent_bytes += added_bytes
        self._resent_tokens += added_tokens
        if self.send(text, parts, names):
            return True
        self._resent_bytes -= added_bytes
        self._resent_tokens -= added_tokens
        return False

    def clear(self) -> None:
        """Start a new conversation (the target stays)."""
        super().clear()
        self._resent_bytes = self._resent_tokens = 0


class VisionPresenter(Workbench):
    """Owns the attached images, how they are sent, and the question sent to every pane.

    Signals (besides :class:`Workbench`'s):
        attachments_changed(): images were added, removed, moved or sent.
        attach_status(str): why a file was refused ("" once the input is fine again).
        prepared_changed(): the images' preparation for the panes' providers changed.
    """

    attachments_changed = Signal()
    attach_status = Signal(str)
    prepared_changed = Signal()

    tab_id = "vision"

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self._attachments: list[Attachment] = []
        self._keys = itertools.count()
        self._reading = 0
        self._readers = asyncio.Semaphore(_READERS)
        self._prepared: dict[ImageLimits, list[PreparedImage]] = {}
        self._problems: dict[ImageLimits, str] = {}
        self._preparing: asyncio.Task[None] | None = None
        saved = self.saved_input("detail", "auto")
        self._detail: Detail = saved if saved in DETAILS else "auto"
        self._images_first = bool(self.saved_input("images_first", True))
        # A new provider needs its own preparation; a changed parameter needs none.
        self.targets_changed.connect(self._prepare_missing)
        self.pane_added.connect(lambda _index: self._prepare_missing())
        self.prepared_changed.connect(self.send_state_changed)
        self.attachments_changed.connect(self.send_state_changed)

    @property
    def panes(self) -> list[VisionPane]:
        """The panes, left to right."""
        return cast(list[VisionPane], list(self._panes))

    @property
    def attachments(self) -> list[Attachment]:
        """The images to send with the next question, in order."""
        return list(self._attachments)

    @property
    def detail(self) -> Detail:
        """``detail`` of every image part: ``auto``, ``low`` or ``high``."""
        return self._detail

    @property
    def images_first(self) -> bool:
        """Whether images go before the text in a message."""
        return self._images_first

    @property
    def default_prompt(self) -> str:
        """The question shown until the user writes one."""
        return str(self.saved_input("prompt", _DEFAULT_PROMPT))

    @property
    def has_results(self) -> bool:
        """Whether any pane has a conversation going."""
        return any(pane.turns for pane in self.panes)

    @property
    def reading(self) -> bool:
        """Whether attached files are still being decoded."""
        return self._reading > 0

    def prepared_for(self, index: int) -> list[PreparedImage] | None:
        """How pane ``index``'s provider gets the file images (None while being prepared)."""
        return self._prepared.get(limits_for(self.panes[index].provider_id))

    def problem_for(self, index: int) -> str:
        """Why the images cannot go to pane ``index``'s provider ("" when they can)."""
        return self._problems.get(limits_for(self.panes[index].provider_id), "")

    def send_blocker(self) -> str:
        """Why Send cannot act now ("" when it can)."""
        if self.busy:
            return "Every pane is still answering"
        if self._reading:
            return "Reading the images…"
        for number, pane in enumerate(self.panes, 1):
            problem = self._problems.get(limits_for(pane.provider_id))
            if problem:
                return f"Pane {number}: {problem}"
        if self._has_files() and not self._all_prepared():
            return "Preparing the images…"
        return ""

    # -- commands ------------------------------------------------------------------------------

    def add_files(self, paths: Sequence[Path]) -> None:
        """Attach image files (read and decoded in worker threads); refusals go to the status."""
        for path in paths:
            self._begin_read()
            self._services.runner.start(self._read_file(path, next(self._keys)), name="vision.read")

    def add_data(self, data: bytes, name: str) -> None:
        """Attach pasted or dropped image data."""
        self._begin_read()
        self._services.runner.start(
            self._read_data(data, name, next(self._keys)), name="vision.read"
        )

    def add_url(self, url: str) -> bool:
        """Attach an http(s) image URL, sent as is; False (with a status) when it is not one."""
        url = url.strip()
        if not is_image_url(url):
            self.attach_status.emit(f"{url[:80] or 'The address'} is not an http(s) URL.")
            return False
        name = url.rsplit("/", 1)[-1][:60] or url
        self._attachments.append(Attachment(next(self._keys), name, url=url))
        self.attach_status.emit("")
        self._changed()
        return True

    def remove(self, position: int) -> None:
        """Remove the image at ``position``."""
        if 0 <= position < len(self._attachments):
            del self._attachments[position]
            self._changed()

    def move(self, position: int, offset: int) -> None:
        """Move the image at ``position`` by ``offset`` places (images are sent in order)."""
        target = position + offset
        if 0 <= position < len(self._attachments) and 0 <= target < len(self._attachments):
            items = self._attachments
            items[position], items[target] = items[target], items[position]
            self._changed()

    def set_detail(self, detail: str) -> None:
        """Send every image part with ``detail`` from now on."""
        self._detail = next((d for d in DETAILS if d == detail), "auto")
        self.remember_input("detail", self._detail)
        self._prepare_soon()

    def set_images_first(self, first: bool) -> None:
        """Put images before the text (or after it) in each message."""
        self._images_first = first
        self.remember_input("images_first", first)

    def remember_prompt(self, prompt: str) -> None:
        """Keep the question across restarts."""
        self.remember_input("prompt", prompt)

    def send(self, prompt: str) -> bool:
        """Ask every pane ``prompt`` about the attached images; False when nothing was sent."""
        if self.send_blocker() or not (prompt.strip() or self._attachments):
            return False
        self.remember_prompt(prompt)
        self._input_sent(prompt)
        names = [attachment.name for attachment in self._attachments]
        for pane in self.panes:
            prepared = self._prepared.get(limits_for(pane.provider_id), [])
            pane.send_images(
                prompt,
                self._parts(prepared),
                names,
                prepared,
                images_first=self._images_first,
            )
        # The images now belong to the message they were sent with.
        self._attachments = []
        self._changed()
        return True

    def clear(self) -> None:
        """Start a new conversation in every pane (the attached images stay)."""
        for pane in self.panes:
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    # -- internals -----------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> VisionPane:
        return VisionPane(self._services, target)

    def _parts(self, prepared: list[PreparedImage]) -> list[dict[str, Any]]:
        files = iter(prepared)
        return [
            url_part(attachment.url, self._detail)
            if attachment.source is None
            else image_part(next(files), self._detail)
            for attachment in self._attachments
        ]

    def _begin_read(self) -> None:
        self._reading += 1
        self.send_state_changed.emit()

    async def _read_file(self, path: Path, key: int) -> None:
        try:
            async with self._readers:
                data = await asyncio.to_thread(path.read_bytes)
                await self._accept(data, path.name, key)
        except OSError as error:
            self._refuse(f"{path.name}: cannot be read ({error.strerror or error}).")
        finally:
            self._end_read()

    async def _read_data(self, data: bytes, name: str, key: int) -> None:
        try:
            async with self._readers:
                await self._accept(data, name, key)
        finally:
            self._end_read()

    async def _accept(self, data: bytes, name: str, key: int) -> None:
        try:
            source = await asyncio.to_thread(read_image, data, name)
        except MediaError as error:
            self._refuse(str(error))
            return
        # Files decode in parallel and finish in any order; they are attached in the order given.
        later = next((i for i, a in enumerate(self._attachments) if a.key > key), None)
        position = len(self._attachments) if later is None else later
        self._attachments.insert(position, Attachment(key, name, source))
        self._changed()

    def _refuse(self, message: str) -> None:
        self.attach_status.emit(message)

    def _end_read(self) -> None:
        self._reading -= 1
        self.send_state_changed.emit()

    def _changed(self) -> None:
        # What is attached now is all fine; a problem of the new set is reported when found.
        self.attach_status.emit("")
        self.attachments_changed.emit()
        self._prepare_soon()

    def _has_files(self) -> bool:
        return any(attachment.source is not None for attachment in self._attachments)

    def _all_prepared(self) -> bool:
        return all(limits_for(pane.provider_id) in self._prepared for pane in self.panes)

    def _prepare_soon(self) -> None:
        """The images or how they are sent changed: prepare them again for every provider."""
        self._prepared, self._problems = {}, {}
        self._prepare_missing()

    def _prepare_missing(self) -> None:
        """Prepare the images, in the background, for the providers that have none yet."""
        if self._preparing is not None and not self._preparing.done():
            self._preparing.cancel()
        self.prepared_changed.emit()
        if self._has_files():
            self._preparing = self._services.runner.start(self._prepare(), name="vision.prepare")

    async def _prepare(self) -> None:
        sources = [a.source for a in self._attachments if a.source is not None]
        needed = dict.fromkeys(limits_for(pane.provider_id) for pane in self.panes)
        for limits in needed:
            if limits in self._prepared or limits in self._problems:
                continue
            try:
                prepared = await asyncio.to_thread(
                    prepare_all, sources, limits, detail=self._detail
                )
            except MediaError as error:
                self._problems[limits] = str(error)
                self.attach_status.emit(str(error))
            else:
                self._prepared[limits] = prepared
            self.prepared_changed.emit()
