"""Image questions tab: drop, paste or open images, ask N vision models about them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QSignalBlocker, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QImageReader,
    QPixmap,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.media import PreparedImage
from app.presenters.vision import DETAILS, Attachment, VisionPane, VisionPresenter
from widgets.common.pane_view import PaneView
from widgets.common.workbench_view import WORKBENCH_SHORTCUTS, WorkbenchView
from widgets.tabs.chat_tab import ChatPaneView

__all__ = ["SHORTCUTS", "ImageDrop", "VisionPaneView", "VisionTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    *WORKBENCH_SHORTCUTS,
    ("Ctrl+V", "Paste an image or image files"),
    ("Ctrl+O", "Open images"),
    ("Ctrl+L", "New conversation in every pane"),
)

_IMAGE_FILES = (
    "Images (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp *.heic *.heif);;All files (*)"
)
_THUMB = 72
_LARGE = 1200
_NOTE_STYLE = "color: #9a6700;"


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.0f} kB"


def _large(data: bytes) -> QPixmap | None:
    """``data`` decoded upright, at most 1200 px on its long side (None if Qt cannot)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > _LARGE:
        reader.setScaledSize(size.scaled(_LARGE, _LARGE, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else QPixmap.fromImage(image)


def _image_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes; Qt takes str
    return bytes(data.data())


class ImageDrop(QFrame):
    """Takes dropped image files and image data (``imageDrop``).

    Signals:
        files_dropped(list): local file paths.
        image_dropped(bytes, str): image data (PNG) and a name for it.
        urls_dropped(list): http(s) addresses.
    """

    files_dropped = Signal(list)
    image_dropped = Signal(bytes, str)
    urls_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageDrop")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("class", "dropZone")
        self.setToolTip("Drop image files or images here; Ctrl+V pastes")
        label = QLabel("Drop images here\nor paste (Ctrl+V)")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("color: #57606a;")
        self.open_button = QPushButton("Open…")
        self.open_button.setObjectName("openImagesButton")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(label, 1)
        layout.addWidget(self.open_button)
        self.setFixedWidth(170)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.take(event.mimeData())
        event.acceptProposedAction()

    def take(self, mime: QMimeData) -> bool:
        """Hand what ``mime`` holds (files, web addresses or image data) on; False if nothing."""
        if mime.hasUrls():
            urls = mime.urls()
            files = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
            web = [url.toString() for url in urls if url.scheme() in ("http", "https")]
            if files:
                self.files_dropped.emit(files)
            if web:
                self.urls_dropped.emit(web)
            if files or web:
                return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.image_dropped.emit(_image_bytes(image), "pasted image.png")
                return True
        return False


class _AttachmentView(QFrame):
    """One attached image: thumbnail (click to view large), sizes, move and remove."""

    def __init__(self, position: int, attachment: Attachment, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(f"attachment-{position}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.attachment = attachment
        self.thumbnail = QToolButton()
        self.thumbnail.setObjectName("attachmentThumbnail")
        self.thumbnail.setAutoRaise(True)
        self.thumbnail.setFixedSize(_THUMB + 8, _THUMB + 8)
        if attachment.source is not None:
            pixmap = QPixmap()
            pixmap.loadFromData(attachment.source.thumbnail)
            self.thumbnail.setIcon(pixmap)
            self.thumbnail.setIconSize(
                pixmap.size().scaled(_THUMB, _THUMB, Qt.AspectRatioMode.KeepAspectRatio)
            )
        else:
            self.thumbnail.setText("URL")
        self.info = QLabel()
        self.info.setObjectName("attachmentInfo")
        self.info.setWordWrap(True)
        self.info.setFixedWidth(150)
        self.left_button = QToolButton()
        self.left_button.setText("◀")
        self.left_button.setToolTip("Send earlier")
        self.right_button = QToolButton()
        self.right_button.setText("▶")
        self.right_button.setToolTip("Send later")
        self.remove_button = QToolButton()
        self.remove_button.setObjectName("removeAttachmentButton")
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this image")
        buttons = QHBoxLayout()
        buttons.setSpacing(0)
        buttons.addWidget(self.left_button)
        buttons.addWidget(self.right_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        side = QVBoxLayout()
        side.setSpacing(2)
        side.addWidget(self.info, 1)
        side.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.thumbnail)
        layout.addLayout(side)

    def show_preparation(self, prepared: PreparedImage | None, problem: str) -> None:
        """Show the original size and, once prepared, what is sent."""
        attachment = self.attachment
        lines = [attachment.name]
        if attachment.source is None:
            lines.append("sent as a link")
        else:
            source = attachment.source
            lines.append(f"{source.width}×{source.height} · {_size(source.size)}")
            if prepared is not None:
                change = f" from {prepared.converted_from}" if prepared.converted_from else ""
                tokens = (
                    f" · ≈{prepared.estimated_tokens:,} tok" if prepared.estimated_tokens else ""
                )
                lines.append(
                    f"→ {prepared.mime.split('/')[-1]}{change} {prepared.width}×{prepared.height}"
                    f" · {_size(prepared.bytes)}{tokens}"
                )
            elif problem:
                lines.append("cannot be sent")
            else:
                lines.append("preparing…")
        self.info.setText("\n".join(lines))
        self.info.setToolTip(problem)


class VisionPaneView(ChatPaneView):
    """An Image questions pane: the conversation, and what its provider does with images."""

    pane: VisionPane

    def __init__(
        self, pane: VisionPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(pane, providers, parent)
        self.menu.removeAction(self.continue_action)
        self.transcript.set_placeholder(
            "Drop or paste images below, ask about them and press Ctrl+Enter.\n"
            "Every pane answers the same question about the same images."
        )
        self.notes_label = QLabel()
        self.notes_label.setObjectName("paneNotes")
        self.notes_label.setWordWrap(True)
        self.notes_label.setStyleSheet(_NOTE_STYLE)
        self.add_below_result(self.notes_label)
        pane.target_changed.connect(self.show_notes)
        pane.turn_added.connect(lambda _index: self.show_notes())
        pane.turns_reset.connect(self.show_notes)
        self.show_notes()

    def show_notes(self) -> None:
        """Say how this pane's provider takes images (OCR-assisted, no images, resent)."""
        notes = self.pane.notes()
        self.notes_label.setText("\n".join(notes))
        self.notes_label.setVisible(bool(notes))


class VisionTab(WorkbenchView):
    """View of a :class:`VisionPresenter`: images, a question, and the panes' conversations."""

    presenter: VisionPresenter
    shortcuts = SHORTCUTS

    def __init__(self, presenter: VisionPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)
        self.drop.files_dropped.connect(presenter.add_files)
        self.drop.image_dropped.connect(presenter.add_data)
        self.drop.urls_dropped.connect(lambda urls: [presenter.add_url(u) for u in urls])
        self.drop.open_button.clicked.connect(self.open_images)
        self.url_input.returnPressed.connect(self._add_typed_url)
        presenter.attachments_changed.connect(self._show_attachments)
        presenter.prepared_changed.connect(self._show_preparation)
        presenter.attach_status.connect(self._show_status)
        presenter.send_state_changed.connect(self._update_all_actions)
        self.detail_picker.currentIndexChanged.connect(
            lambda i: presenter.set_detail(self.detail_picker.itemData(i))
        )
        self.images_first_check.toggled.connect(presenter.set_images_first)
        self.prompt.textChanged.connect(lambda: presenter.set_prompt(self.prompt.toPlainText()))
        presenter.inputs_restored.connect(self._show_inputs)
        self.clear_button.clicked.connect(self.new_conversation)
        self._show_attachments()

    # -- the workbench's hooks -----------------------------------------------------------------

    def _build_input(self) -> QWidget:
        self.drop = ImageDrop()
        self.attachments = QWidget()
        self.attachments.setObjectName("attachments")
        self._strip = QHBoxLayout(self.attachments)
        self._strip.setContentsMargins(0, 0, 0, 0)
        self._strip.setSpacing(4)
        self._strip.addStretch(1)
        self.empty_label = QLabel("No images yet. They are sent with the next question.")
        self.empty_label.setStyleSheet("color: #57606a;")
        strip_scroll = QScrollArea()
        strip_scroll.setObjectName("attachmentsScroll")
        strip_scroll.setWidgetResizable(True)
        strip_scroll.setFrameShape(QFrame.Shape.NoFrame)
        strip_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip_scroll.setWidget(self.attachments)
        strip_scroll.setFixedHeight(_THUMB + 30)
        self.url_input = QLineEdit()
        self.url_input.setObjectName("imageUrlInput")
        self.url_input.setPlaceholderText("or an image URL (https://…), Enter to add")
        self.attach_status = QLabel()
        self.attach_status.setObjectName("attachStatus")
        self.attach_status.setWordWrap(True)
        self.attach_status.setStyleSheet("color: #a40e26;")
        self.attach_status.hide()
        images = QVBoxLayout()
        images.setSpacing(2)
        images.addWidget(self.empty_label)
        images.addWidget(strip_scroll)
        images.addWidget(self.url_input)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.drop)
        row.addLayout(images, 1)

        self.prompt = QPlainTextEdit(self.presenter.prompt)
        self.prompt.setObjectName("promptInput")
        self.prompt.setPlaceholderText("Ask every pane about the images… (Ctrl+Enter to send)")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prompt.setFixedHeight(60)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.attach_status)
        layout.addWidget(self.prompt)
        return box

    def _action_buttons(self) -> list[QWidget]:
        self.clear_button = QPushButton("New conversation")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Start over in every pane; attached images stay (Ctrl+L)")
        return [self.clear_button]

    def _side_boxes(self) -> list[QWidget]:
        self.detail_picker = QComboBox()
        self.detail_picker.setObjectName("detailPicker")
        for detail in DETAILS:
            self.detail_picker.addItem(detail, detail)
        self.detail_picker.setCurrentIndex(DETAILS.index(self.presenter.detail))
        self.detail_picker.setToolTip(
            "detail: low sends a small version (fewer tokens); high lets the model see more"
        )
        self.images_first_check = QCheckBox("Images before the text")
        self.images_first_check.setObjectName("imagesFirst")
        self.images_first_check.setChecked(self.presenter.images_first)
        self.images_first_check.setToolTip("Llama 3.2 Vision wants the images first")
        hint = QLabel(
            "Images are converted and downscaled for each pane's provider (Fireworks takes no "
            "webp, at most 30 images and 10 MB per request); the strip shows what is sent."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        box = QGroupBox("Images (all panes)")
        form = QFormLayout(box)
        form.addRow("Detail", self.detail_picker)
        form.addRow(self.images_first_check)
        form.addRow(hint)
        return [box]

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        return [
            ("Ctrl+V", self.paste),
            ("Ctrl+O", self.open_images),
            ("Ctrl+L", self.new_conversation),
        ]

    def _make_pane_view(self, pane: VisionPane) -> PaneView:
        view = VisionPaneView(pane, self.presenter.providers())
        pane.turns_reset.connect(self._update_all_actions)
        return view

    def _send(self) -> bool:
        return self.presenter.send(self.prompt.toPlainText())

    def _update_actions(self) -> None:
        blocker = self.presenter.send_blocker()
        self.send_button.setEnabled(not blocker)
        self.send_button.setToolTip(blocker or "Ask every pane (Ctrl+Enter)")
        self.clear_button.setEnabled(not self.presenter.busy and self.presenter.has_results)

    # -- user commands -------------------------------------------------------------------------

    def open_images(self) -> None:
        """Choose image files to attach."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", _IMAGE_FILES)
        if paths:
            self.presenter.add_files([Path(p) for p in paths])

    def paste(self) -> None:
        """Attach the clipboard's image or image files; text goes to the focused editor."""
        mime = QGuiApplication.clipboard().mimeData()
        if (mime.hasImage() or mime.hasUrls()) and self.drop.take(mime):
            return
        focused = QGuiApplication.focusObject()
        if isinstance(focused, QPlainTextEdit | QLineEdit):
            focused.paste()

    def new_conversation(self) -> None:
        """Start over in every pane, after asking when a conversation is going."""
        if self.presenter.has_results and not self.confirm_discard(
            "New conversation clears every pane."
        ):
            return
        self.presenter.clear()

    def _add_typed_url(self) -> None:
        if self.presenter.add_url(self.url_input.text()):
            self.url_input.clear()

    # -- presenter events ----------------------------------------------------------------------

    def _show_attachments(self) -> None:
        while self._strip.count() > 1:
            item = self._strip.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        for position, attachment in enumerate(self.presenter.attachments):
            view = _AttachmentView(position, attachment)
            view.thumbnail.clicked.connect(lambda _=False, a=attachment: self._view_large(a))
            view.left_button.clicked.connect(lambda _=False, p=position: self.presenter.move(p, -1))
            view.right_button.clicked.connect(lambda _=False, p=position: self.presenter.move(p, 1))
            view.remove_button.clicked.connect(lambda _=False, p=position: self.presenter.remove(p))
            self._strip.insertWidget(position, view)
        self.empty_label.setVisible(not self.presenter.attachments)
        self._show_preparation()

    def _show_preparation(self) -> None:
        if not self.presenter.panes:
            return
        index = self._selected if self._selected < len(self.presenter.panes) else 0
        prepared = self.presenter.prepared_for(index)
        problem = self.presenter.problem_for(index)
        files = iter(prepared or [])
        for position, attachment in enumerate(self.presenter.attachments):
            view = self.attachments.findChild(_AttachmentView, f"attachment-{position}")
            if view is None:
                continue
            shown = next(files, None) if attachment.source is not None and prepared else None
            view.show_preparation(shown, problem)

    def _show_inputs(self) -> None:
        p = self.presenter
        # The presenter holds these already: editing them back would only save them again.
        with QSignalBlocker(self.prompt), QSignalBlocker(self.detail_picker):
            self.prompt.setPlainText(p.prompt)
            self.detail_picker.setCurrentIndex(DETAILS.index(p.detail))
        with QSignalBlocker(self.images_first_check):
            self.images_first_check.setChecked(p.images_first)
        # The panes may have been replaced: the side panel shows the selected one's settings.
        self._select(min(self._selected, len(self.pane_views) - 1))

    def _show_status(self, message: str) -> None:
        self.attach_status.setText(message)
        self.attach_status.setVisible(bool(message))

    def _pane_selected(self, pane: VisionPane) -> None:
        self._show_preparation()

    def _view_large(self, attachment: Attachment) -> None:
        if attachment.source is None:
            return
        dialog = _ImageDialog(attachment, self)
        dialog.show()


class _ImageDialog(QDialog):
    """An attached image at a readable size."""

    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageDialog")
        self.setWindowTitle(attachment.name)
        assert attachment.source is not None
        image = _large(attachment.source.data) or QPixmap()
        if image.isNull():  # a format Qt cannot decode (HEIC): the thumbnail is all there is
            image.loadFromData(attachment.source.thumbnail)
        label = QLabel()
        label.setPixmap(image)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(label)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.resize(min(image.width() + 40, 1200), min(image.height() + 80, 860))
