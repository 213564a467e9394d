"""Encoding frames to MP4 (H.264), WebM (VP9) or GIF in-process with PyAV.

``VideoEncoder`` turns BGRA numpy frames (what a Qt grab holds in memory) into a
file written through ``AtomicFile``: the take appears under its name only once
the encoder has flushed and the container is closed.

``EncoderThread`` runs an encoder on its own thread behind a small queue, so the
thread that grabs frames (the GUI thread in the app, the frame-stepping loop on
the command line) never waits for x264. PyAV releases the GIL while libavcodec
works, so on two cores grabbing and encoding really overlap.

GIF needs a palette. One palette serves the whole take: FFmpeg's ``palettegen``
makes it from the first frame plus the colours the caller says will come (a
theme's state colours, say), and ``paletteuse`` maps every frame onto it without
dithering, which keeps flat UI colours flat. With one palette an unchanged pixel
keeps its index, so the GIF encoder stores each frame as just the rectangle that
changed, the rest transparent: a window take is a tenth of the size it was with a
palette per frame, and encodes several times faster, fast enough to drop no frame.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av
import av.filter
import numpy as np
from coroscope.takes.atomic_file import AtomicFile

if TYPE_CHECKING:
    from av.video import _VideoCodecName  # the Literal of codec names, in PyAV's stubs

# What a Qt grab holds: QImage.Format_RGB32 is 0xffRRGGBB, B first in memory.
SOURCE_FORMAT = "bgra"


@dataclass(frozen=True)
class VideoFormat:
    extension: str
    container: str
    codec: _VideoCodecName
    pix_fmt: str
    label: str
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)


FORMATS = {
    ".mp4": VideoFormat(
        ".mp4",
        "mp4",
        "libx264",
        "yuv420p",
        "MP4 (H.264)",
        # Screen content: a low CRF keeps text crisp; veryfast keeps a 720p
        # encode well inside one core's share at 30 fps.
        {"preset": "veryfast", "crf": "18"},
        {"movflags": "+faststart"},
    ),
    ".webm": VideoFormat(
        ".webm",
        "webm",
        "libvpx-vp9",
        "yuv420p",
        "WebM (VP9)",
        {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "0", "row-mt": "1"},
    ),
    ".gif": VideoFormat(".gif", "gif", "gif", "pal8", "GIF"),
}


class EncoderError(Exception):
    """Encoding or writing failed; the take was discarded."""


def format_for(path: str | os.PathLike) -> VideoFormat:
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise EncoderError(f"unsupported video format {suffix!r}") from None


class VideoEncoder:
    """Writes frames of one fixed size and rate to ``path`` (atomically)."""

    def __init__(
        self,
        path: str | os.PathLike,
        size: tuple[int, int],
        fps: int,
        colours: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """``colours`` (RGB) join a GIF's palette even if the first frame lacks them."""
        self.format = format_for(path)
        self.colours = tuple(colours)
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.frames = 0
        self._time_base = Fraction(1, fps)
        self._file = AtomicFile(self.path)
        try:
            self._container = av.open(
                str(self._file.temp),
                "w",
                format=self.format.container,
                options=self.format.container_options,
            )
            stream = self._container.add_stream(
                self.format.codec, rate=fps, options=self.format.options
            )
            stream.width, stream.height = size
            stream.pix_fmt = self.format.pix_fmt
            stream.codec_context.time_base = self._time_base
            self._stream = stream
            self._gif = self.format.codec == "gif"
            # What maps frames onto the take's palette, made at the first frame.
            self._palette: tuple[av.filter.Graph, av.filter.FilterContext] | None = None
        except BaseException:
            self._file.discard()
            raise

    def write(self, frame: np.ndarray, repeat: int = 1) -> None:
        """Encode ``frame`` (height x width x 4, BGRA) ``repeat`` times in a row."""
        height, width = frame.shape[:2]
        if (width, height) != self.size:
            raise EncoderError(
                f"frame is {width}x{height}, the take is {self.size[0]}x{self.size[1]}"
            )
        video = av.VideoFrame.from_ndarray(frame, format=SOURCE_FORMAT)
        if self._gif:
            if self._palette is None:
                self._palette = _palette_graph(frame, self.colours, self._time_base)
            video = self._palettise(video)
        for _ in range(repeat):
            video.pts = self.frames
            video.time_base = self._time_base
            self._mux(self._stream.encode(video))
            self.frames += 1

    def _palettise(self, video: av.VideoFrame) -> av.VideoFrame:
        graph, frames = cast(tuple, self._palette)  # write() made it before calling this
        video.pts = self.frames
        video.time_base = self._time_base
        frames.push(video)
        return cast(av.VideoFrame, graph.pull())  # a video graph gives video frames

    def _mux(self, packets) -> None:
        for packet in packets:
            self._container.mux(packet)

    def finish(self) -> Path:
        """Flush the encoder, close the file and move it into place."""
        try:
            self._mux(self._stream.encode(None))
            self._container.close()
        except BaseException:
            self.abort()
            raise
        return self._file.commit()

    def abort(self) -> None:
        """Drop the take: nothing is left at ``path`` or beside it."""
        # The file is deleted next, so a failure to close it cleanly is moot.
        with contextlib.suppress(Exception):
            self._container.close()
        self._file.discard()


# Rows added under the first frame, one block per expected colour, for the palette:
# enough pixels that the palette keeps each of them as a colour of its own.
_SWATCH_ROWS = 16


def _swatches(width: int, colours: Sequence[tuple[int, int, int]]) -> np.ndarray:
    strip = np.zeros((_SWATCH_ROWS, width, 4), dtype=np.uint8)
    strip[..., 3] = 255
    block = max(1, width // max(1, len(colours)))
    for index, (red, green, blue) in enumerate(colours):
        strip[:, index * block : (index + 1) * block, :3] = (blue, green, red)
    return strip


def _make_palette(
    first: np.ndarray, colours: Sequence[tuple[int, int, int]], time_base: Fraction
) -> av.VideoFrame:
    sample = np.vstack([first, _swatches(first.shape[1], colours)]) if colours else first
    graph = av.filter.Graph()
    source = graph.add_buffer(
        width=sample.shape[1],
        height=sample.shape[0],
        format=SOURCE_FORMAT,  # type: ignore[arg-type]  # a name will do (stub: VideoFormat)
        time_base=time_base,
    )
    # reserve_transparent: an index for the pixels a frame leaves as they were.
    palette = graph.add("palettegen", "stats_mode=full:reserve_transparent=1")
    sink = graph.add("buffersink")
    source.link_to(palette)
    palette.link_to(sink)
    graph.configure()
    video = av.VideoFrame.from_ndarray(np.ascontiguousarray(sample), format=SOURCE_FORMAT)
    video.pts, video.time_base = 0, time_base
    source.push(video)
    source.push(None)
    return cast(av.VideoFrame, sink.pull())


def _palette_graph(
    first: np.ndarray, colours: Sequence[tuple[int, int, int]], time_base: Fraction
) -> tuple[av.filter.Graph, av.filter.FilterContext]:
    """A graph that maps each frame onto one palette made from ``first`` and
    ``colours``, and the input to push the frames into."""
    palette = _make_palette(first, colours, time_base)
    graph = av.filter.Graph()
    frames = graph.add_buffer(
        width=first.shape[1],
        height=first.shape[0],
        format=SOURCE_FORMAT,  # type: ignore[arg-type]
        time_base=time_base,
    )
    palettes = graph.add_buffer(
        width=palette.width,
        height=palette.height,
        format=palette.format.name,  # type: ignore[arg-type]
        time_base=time_base,
    )
    use = graph.add("paletteuse", "dither=none")
    sink = graph.add("buffersink")
    frames.link_to(use, 0, 0)
    palettes.link_to(use, 0, 1)
    use.link_to(sink)
    graph.configure()
    # The one palette, then the end of that input: paletteuse keeps using it.
    palettes.push(palette)
    palettes.push(None)
    return graph, frames


_FINISH = object()
_ABORT = object()


class EncoderThread:
    """Feeds a ``VideoEncoder`` from a bounded queue on a worker thread.

    ``put`` hands over a frame (blocking when the queue is full, or returning
    False at once with ``block=False``); ``finish`` and ``abort`` end the take.
    The outcome is read from ``done``, ``path`` and ``error``.
    """

    def __init__(self, encoder: VideoEncoder, max_queue: int = 8) -> None:
        self.encoder = encoder
        self._queue: queue.Queue = queue.Queue(max(1, max_queue))
        self.done = threading.Event()
        self.path: Path | None = None
        self.error: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._work, name="coroscope-encoder", daemon=True)
        self._thread.start()

    @property
    def frames(self) -> int:
        return self.encoder.frames

    def put(self, frame: np.ndarray, repeat: int = 1, block: bool = True) -> bool:
        if self.error is not None:
            raise EncoderError(_describe(self.error)) from self.error
        if self._ended:
            raise EncoderError("the take has already ended")
        try:
            self._queue.put((frame, repeat), block=block)
        except queue.Full:
            return False
        return True

    def finish(self, wait: bool = True) -> Path | None:
        """End the take; with ``wait``, block until the file is in place."""
        if not self._ended:
            self._ended = True
            self._queue.put(_FINISH)
        if wait:
            self._thread.join()
            if self.error is not None:
                raise EncoderError(_describe(self.error)) from self.error
        return self.path

    def abort(self) -> None:
        """Stop now and delete the partial take; waits for the worker to let go."""
        self._ended = True
        # Drop queued frames so the abort is not stuck behind them.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(_ABORT)
        self._thread.join()

    def _work(self) -> None:
        encoder = self.encoder
        try:
            while True:
                item = self._queue.get()
                if item is _FINISH:
                    self.path = encoder.finish()
                    return
                if item is _ABORT:
                    encoder.abort()
                    return
                encoder.write(*item)
        except BaseException as exc:  # reported to the producer by put/finish
            self.error = exc
            encoder.abort()
            self._drain()
        finally:
            self.done.set()

    def _drain(self) -> None:
        # Keep consuming so a producer blocked in put() wakes up and sees the error.
        while True:
            item = self._queue.get()
            if item is _FINISH or item is _ABORT:
                return


def _describe(error: BaseException) -> str:
    if isinstance(error, EncoderError):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}"
