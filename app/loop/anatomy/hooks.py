"""Loop hooks that make the loop's I/O, threads and child processes visible.

``AnatomyHooks`` sits between ``TracingMixin`` and the real loop class (asyncio's
``SelectorEventLoop`` or qasync's ``QEventLoop``, which registers fds with Qt
socket notifiers instead of a selector). Each hook calls ``super()`` and reports:

* ``_add_reader`` / ``_remove_reader`` / ``_add_writer`` / ``_remove_writer``:
  ``IoWatch``, naming the fd from its callback (see ``coroscope.loop.anatomy.io_taps``);
* ``_make_socket_transport`` and the pipe transport factories: tapped transports
  that report ``IoChannel`` and ``IoData``;
* ``run_in_executor`` and ``_make_subprocess_transport``: ``ExecutorJob`` and
  ``Subprocess`` through ``coroscope.loop.anatomy.outside_work.OutsideWork``, which also reaps what
  a run leaves behind at Stop.

None of these is on the task-step path; a loop made with ``trace=False`` skips them.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from asyncio import selector_events
from typing import TYPE_CHECKING, Any

from coroscope.loop.anatomy.io_taps import IoTaps, describe_watch, unix_events
from coroscope.loop.anatomy.outside_work import OutsideWork
from coroscope.loop.events import IoWatch

if TYPE_CHECKING:
    import selectors
    from collections.abc import Callable
    from concurrent.futures import Executor
    from typing import TypeVar, TypeVarTuple

    from _typeshed import FileDescriptorLike
    from coroscope.loop.clock import VirtualClock
    from coroscope.loop.events import EventLog

    _T = TypeVar("_T")
    _Ts = TypeVarTuple("_Ts")

    class _SelectorLoop(asyncio.SelectorEventLoop):
        """For mypy only: the loop class the mixins are mixed into (asyncio's
        ``SelectorEventLoop`` or qasync's ``QEventLoop``, a subclass of it), with
        the private parts of it they use, which typeshed leaves out."""

        _closed: bool
        _debug: bool
        _selector: selectors.BaseSelector

        def _check_closed(self) -> None: ...
        def _check_callback(self, callback: Callable[..., object], method: str) -> None: ...
        def _check_thread(self) -> None: ...
        def _process_events(self, event_list: list[tuple[selectors.SelectorKey, int]]) -> None: ...
        def _add_reader(
            self, fd: FileDescriptorLike, callback: Callable[..., object], *args: Any
        ) -> object: ...
        def _remove_reader(self, fd: FileDescriptorLike) -> bool: ...
        def _add_writer(
            self, fd: FileDescriptorLike, callback: Callable[..., object], *args: Any
        ) -> object: ...
        def _remove_writer(self, fd: FileDescriptorLike) -> bool: ...
        def _make_socket_transport(
            self,
            sock: Any,
            protocol: asyncio.BaseProtocol,
            waiter: asyncio.Future[Any] | None = None,
            *,
            extra: dict[str, Any] | None = None,
            server: asyncio.AbstractServer | None = None,
        ) -> asyncio.Transport: ...
        def _make_read_pipe_transport(
            self,
            pipe: Any,
            protocol: asyncio.BaseProtocol,
            waiter: asyncio.Future[Any] | None = None,
            extra: dict[str, Any] | None = None,
        ) -> asyncio.ReadTransport: ...
        def _make_write_pipe_transport(
            self,
            pipe: Any,
            protocol: asyncio.BaseProtocol,
            waiter: asyncio.Future[Any] | None = None,
            extra: dict[str, Any] | None = None,
        ) -> asyncio.WriteTransport: ...
        async def _make_subprocess_transport(
            self,
            protocol: asyncio.BaseProtocol,
            args: Any,
            shell: bool,
            stdin: Any,
            stdout: Any,
            stderr: Any,
            bufsize: int,
            extra: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> asyncio.SubprocessTransport: ...
else:
    _SelectorLoop = object

_KEEPS_CONTEXT = (
    selector_events.BaseSelectorEventLoop._add_reader,  # type: ignore[attr-defined]
    selector_events.BaseSelectorEventLoop._add_writer,  # type: ignore[attr-defined]
)


class AnatomyHooks(_SelectorLoop):
    # Set by TracingMixin._init_tracing, before it calls _init_anatomy.
    events: EventLog
    clock: VirtualClock
    tracing: bool

    def _init_anatomy(self) -> None:
        emit = self.events.emit
        self.io_taps = IoTaps(emit, self.clock.now)
        self.outside = OutsideWork(self, emit)

    # -- watched fds ----------------------------------------------------------------
    def _watch(self, fd, kind: str, added: bool, callback=None, args: tuple = ()) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        if added:
            label, channel = describe_watch(self.io_taps, number, callback, args)
            if getattr(callback, "__name__", "") == "_accept_connection":
                self.io_taps.listening(number, label, args)
        else:
            label, channel = "", None
            if kind == "read":
                self.io_taps.stopped_listening(number)
        self.events.emit(IoWatch(self.clock.now(), number, kind, added, label, channel))

    def _in_context(self, register, fd, callback, args):
        # asyncio's selector loop runs an I/O callback in the context it was
        # registered in; qasync calls it from a Qt slot, outside any context. Give
        # qasync the same behaviour, so what an I/O callback starts (a server's
        # connection handler) belongs to the run that registered it.
        if getattr(register, "__func__", None) in _KEEPS_CONTEXT:
            return register(fd, callback, *args)
        return register(fd, contextvars.copy_context().run, callback, *args)

    def _add_reader(self, fd, callback, *args):
        result = self._in_context(super()._add_reader, fd, callback, args)
        if self.tracing:
            self._watch(fd, "read", True, callback, args)
        return result

    def _remove_reader(self, fd):
        result = super()._remove_reader(fd)
        if result and self.tracing:
            self._watch(fd, "read", False)
        return result

    def _add_writer(self, fd, callback, *args):
        result = self._in_context(super()._add_writer, fd, callback, args)
        if self.tracing:
            self._watch(fd, "write", True, callback, args)
        return result

    def _remove_writer(self, fd):
        result = super()._remove_writer(fd)
        if result and self.tracing:
            self._watch(fd, "write", False)
        return result

    # -- transports -------------------------------------------------------------------
    def _make_socket_transport(self, sock, protocol, waiter=None, *, extra=None, server=None):
        if not self.tracing or not isinstance(self, selector_events.BaseSelectorEventLoop):
            return super()._make_socket_transport(
                sock, protocol, waiter, extra=extra, server=server
            )
        return self.io_taps.socket_transport(self, sock, protocol, waiter, extra, server)

    def _make_read_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        if not self.tracing:
            return super()._make_read_pipe_transport(pipe, protocol, waiter, extra)
        return self.io_taps.read_pipe_transport(
            super()._make_read_pipe_transport, pipe, protocol, waiter, extra
        )

    def _make_write_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        if not self.tracing or unix_events is None:
            return super()._make_write_pipe_transport(pipe, protocol, waiter, extra)
        return self.io_taps.write_pipe_transport(self, pipe, protocol, waiter, extra)

    # -- threads and child processes ----------------------------------------------------
    def run_in_executor(
        self, executor: Executor | None, func: Callable[[*_Ts], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        if not self.tracing:
            return super().run_in_executor(executor, func, *args)
        in_thread = not _is_process_pool(executor)
        job, call = self.outside.submit(func, args, in_thread)
        future = super().run_in_executor(executor, call, *args)
        self.outside.track(job, future)
        return future

    async def _make_subprocess_transport(
        self, protocol, args, shell, stdin, stdout, stderr, bufsize, extra=None, **kwargs
    ):
        if self.tracing:
            protocol = self.outside.watch_process(protocol, args, shell)
        return await super()._make_subprocess_transport(
            protocol, args, shell, stdin, stdout, stderr, bufsize, extra=extra, **kwargs
        )


def _is_process_pool(executor: object) -> bool:
    # Without importing concurrent.futures.process (and multiprocessing) at start-up:
    # a process pool exists only if someone already imported that module.
    module = sys.modules.get("concurrent.futures.process")
    return module is not None and isinstance(executor, module.ProcessPoolExecutor)
