"""The Image questions tab: images and a question, N vision models, each pane a conversation.

Images are decoded once when attached and prepared per provider (format, size, count limits)
in worker threads, so dropping ten large photos never holds the UI. A sent message keeps its
images: follow-up questions carry them again, as chat-completions APIs require.

A saved tab (a session, a reopened run) keeps images by file path, never their data: restoring
it attaches those files again, and reads the files of the restored conversations' images again
so that follow-ups still carry them. An image whose file is gone (or pasted data, which has no
file) is listed as not kept and is not sent again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal

from app.domain.catalog import load_catalog
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID
from app.domain.conversation import Turn, TurnImage
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
from app.presenters.pane import ChatPane, ConversationWorkbench
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
    """An image waiting to be sent: a file or pasted data (``source``), or a URL sent as is.

    ``path`` is the file it was read from (``None`` for pasted data and URLs).
    """

    key: int
    name: str
    source: SourceImage | None = None
    url: str = ""
    path: Path | None = None


def _detail(text: object) -> Detail:
    """``text`` as a detail, ``auto`` when it is none."""
    return next((d for d in DETAILS if d == text), "auto")


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
        images: Sequence[TurnImage],
        prepared: Sequence[PreparedImage],
        *,
        images_first: bool,
    ) -> bool:
        """Ask about ``images`` (parts already prepared for this pane's provider) and ``text``.

        ``prepared`` are the file images among them, as prepared (for the notes).
        """
        self._conversation.images_first = images_first
        added_bytes = sum(image.base64_size for image in prepared)
        added_tokens = sum(image.estimated_tokens or 0 for image in prepared)
        # Counted before sending, so the views that react to the new turn already see them.
        self._resent_bytes += added_bytes
        self._resent_tokens += added_tokens
        if self.send(text, images):
            return True
        self._resent_bytes -= added_bytes
        self._resent_tokens -= added_tokens
        return False

    def clear(self) -> None:
        """Start a new conversation (the target stays)."""
        super().clear()
        self._resent_bytes = self._resent_tokens = 0

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a saved conversation; its images come back without data (see the module)."""
        super().restore_result(state)
        self._resent_bytes = self._resent_tokens = 0

    def reattach_images(self, found: Sequence[tuple[Turn, int, PreparedImage]]) -> None:
        """Give restored images their data again: (turn, position in its images, the image
        prepared for this pane's provider). Turns no longer in the conversation are skipped."""
        shown = {id(turn) for turn in self.turns}
        changed = False
        for turn, position, prepared in found:
            image = turn.images[position]
            if id(turn) not in shown or image.part is not None:
                continue
            turn.images[position] = replace(image, part=image_part(prepared, _detail(image.detail)))
            self._resent_bytes += prepared.base64_size
            self._resent_tokens += prepared.estimated_tokens or 0
            changed = True
        if changed:
            self.turns_reset.emit()

    def _code_media_paths(self) -> tuple[str, ...]:
        """The files of the newest request's embedded images, in body order.

        View code matches these to the body's images by position, so the list stops at the
        first image that has no file (pasted data): it and every later one get placeholders.
        """
        request = next((e for e in reversed(self.exchanges) if e.method == "POST"), None)
        # The same picture attached twice has one data URL: its files are taken in turn order.
        files: dict[str, deque[str | None]] = defaultdict(deque)
        for turn in self.turns:
            for image in turn.images:
                if image.part is not None:
                    files[image.part["image_url"]["url"]].append(image.path)
        paths: list[str] = []
        for url in _data_urls(request.body if request is not None else None):
            path = files[url].popleft() if files[url] else None
            if path is None:
                break
            paths.append(path)
        return tuple(paths)


def _data_urls(body: Any) -> Iterator[str]:
    """The ``data:`` URLs of a chat request's image parts, in order."""
    for message in (body or {}).get("messages") or ():
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            url = part.get("image_url", {}).get("url", "")
            if part.get("type") == "image_url" and url.startswith("data:"):
                yield url


class VisionPresenter(ConversationWorkbench):
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
        self._reattaching: asyncio.Task[None] | None = None
        # Why files of the reads in progress were refused: still said once they all end.
        self._refused: list[str] = []
        self._detail = _detail(self.saved_input("detail", "auto"))
        self._images_first = bool(self.saved_input("images_first", True))
        self._prompt = str(self.saved_input("prompt", _DEFAULT_PROMPT))
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
    def prompt(self) -> str:
        """The question as the user left it."""
        return self._prompt

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
        if self._reattaching is not None and not self._reattaching.done():
            return "Reading the images of the restored conversation…"
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
        self._detail = _detail(detail)
        self.remember_input("detail", self._detail)
        self._prepare_soon()

    def set_images_first(self, first: bool) -> None:
        """Put images before the text (or after it) in each message."""
        self._images_first = first
        self.remember_input("images_first", first)

    def set_prompt(self, prompt: str) -> None:
        """The question box now holds ``prompt`` (remembered across restarts once sent)."""
        self._prompt = prompt

    def send(self, prompt: str) -> bool:
        """Ask every pane ``prompt`` about the attached images; False when nothing was sent."""
        if self.send_blocker() or not (prompt.strip() or self._attachments):
            return False
        self._prompt = prompt
        self.remember_input("prompt", prompt)
        self._input_sent(prompt)
        for pane in self.panes:
            prepared = self._prepared.get(limits_for(pane.provider_id), [])
            pane.send_images(
                prompt, self._images(prepared), prepared, images_first=self._images_first
            )
        # The images now belong to the message they were sent with.
        self._attachments = []
        self._changed()
        return True

    # -- state ---------------------------------------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """The question, how images are sent, and the attached images as file paths and URLs
        (pasted image data is not kept)."""
        return {
            "prompt": self._prompt,
            "detail": self._detail,
            "images_first": self._images_first,
            "images": [
                str(a.path) if a.path is not None else a.url
                for a in self._attachments
                if a.path is not None or a.url
            ],
        }

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Put back inputs saved by :meth:`inputs_state`; the files are read again.

        A file that is gone or no longer an image is named in ``attach_status``.
        """
        self._prompt = str(inputs.get("prompt", _DEFAULT_PROMPT))
        self._detail = _detail(inputs.get("detail"))
        self._images_first = bool(inputs.get("images_first", True))
        super().restore_inputs(
            {"prompt": self._prompt, "detail": self._detail, "images_first": self._images_first}
        )
        self._attachments = []
        self._changed()
        for item in inputs.get("images") or ():
            if is_image_url(str(item)):
                self.add_url(str(item))
            else:
                self.add_files([Path(item)])

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace panes, inputs and conversations by ``state``, then read the files of the
        conversations' images again (Send waits for that).

        Raises:
            ValueError: a pane's target or conversation is not valid.
        """
        super().restore(state)
        if self._reattaching is not None:
            self._reattaching.cancel()
            self._reattaching = None
        lost = {
            image.path
            for pane in self.panes
            for turn in pane.turns
            for image in turn.images
            if image.part is None and image.path is not None
        }
        if lost:
            self._reattaching = self._services.runner.start(
                self._reattach(sorted(lost)), name="vision.reattach"
            )
            self._reattaching.add_done_callback(lambda _task: self.send_state_changed.emit())
            self.send_state_changed.emit()

    # -- internals -----------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> VisionPane:
        return VisionPane(self._services, target)

    def _images(self, prepared: list[PreparedImage]) -> list[TurnImage]:
        """The attachments as a message's images, the files as prepared in ``prepared``."""
        files = iter(prepared)
        return [
            TurnImage(
                attachment.name,
                url_part(attachment.url, self._detail)
                if attachment.source is None
                else image_part(next(files), self._detail),
                None if attachment.path is None else str(attachment.path),
                self._detail,
            )
            for attachment in self._attachments
        ]

    async def _reattach(self, paths: list[str]) -> None:
        """Read ``paths``, the files of the panes' images that have no data, and prepare them
        for each pane's provider as they were sent: each message's files together, with its
        detail."""
        sources = dict(zip(paths, await asyncio.gather(*map(self._source_at, paths)), strict=True))
        done: dict[tuple[ImageLimits, tuple[int, ...], str], list[PreparedImage]] = {}
        for pane in self.panes:
            limits = limits_for(pane.provider_id)
            found: list[tuple[Turn, int, PreparedImage]] = []
            for turn in pane.turns:
                wanted = [
                    (position, image, source)
                    for position, image in enumerate(turn.images)
                    if image.part is None
                    and image.path is not None
                    and (source := sources.get(image.path)) is not None
                ]
                if not wanted:
                    continue
                detail = _detail(wanted[0][1].detail)
                # Every pane on the same provider sends the same message's images the same way.
                key = (limits, tuple(id(source) for _, _, source in wanted), detail)
                if key not in done:
                    try:
                        done[key] = await asyncio.to_thread(
                            prepare_all, [s for _, _, s in wanted], limits, detail=detail
                        )
                    except MediaError:
                        done[key] = []  # they stay not kept, as if their files were gone
                found.extend(
                    (turn, position, image)
                    for (position, _, _), image in zip(wanted, done[key], strict=False)
                )
            if pane in self._panes:  # not removed while its images were prepared
                pane.reattach_images(found)

    async def _source_at(self, path: str) -> SourceImage | None:
        """The image in file ``path`` (``None`` when it is gone or no longer an image)."""
        try:
            async with self._readers:
                data = await asyncio.to_thread(Path(path).read_bytes)
                return await asyncio.to_thread(read_image, data, Path(path).name)
        except (OSError, MediaError):
            return None

    def _begin_read(self) -> None:
        if not self._reading:
            self._refused = []
        self._reading += 1
        self.send_state_changed.emit()

    async def _read_file(self, path: Path, key: int) -> None:
        try:
            async with self._readers:
                data = await asyncio.to_thread(path.read_bytes)
                await self._accept(data, path.name, key, path)
        except FileNotFoundError:
            self._refuse(f"{path.name} was not found ({path}).")
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

    async def _accept(self, data: bytes, name: str, key: int, path: Path | None = None) -> None:
        try:
            source = await asyncio.to_thread(read_image, data, name)
        except MediaError as error:
            self._refuse(str(error))
            return
        # Files decode in parallel and finish in any order; they are attached in the order given.
        later = next((i for i, a in enumerate(self._attachments) if a.key > key), None)
        position = len(self._attachments) if later is None else later
        self._attachments.insert(position, Attachment(key, name, source, path=path))
        self._changed()

    def _refuse(self, message: str) -> None:
        self._refused.append(message)
        self.attach_status.emit(message)

    def _end_read(self) -> None:
        self._reading -= 1
        if not self._reading and self._refused:
            # Files accepted after a refusal said all was well; the refusals still stand.
            self.attach_status.emit("\n".join(self._refused))
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
