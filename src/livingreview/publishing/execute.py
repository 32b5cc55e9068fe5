"""Executing chapters: each in a fresh fork of a warm interpreter, with the build's evidence already loaded.

A Jupyter kernel per chapter pays for its start, its imports and its own ``load()`` of the review (about two
seconds each); here a fork server imports the package once (``preload``), one process forked from it receives
the build's evidence, and every chapter runs in a new fork of that process, in a plain IPython shell whose
displays are recorded as the kernel would record them (the same IPython formatters make the same MIME bundles).
A chapter that fails is reported, never cached, so the book build runs it again in a real kernel and reports its
error as a located warning.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import io
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: imported once by the fork server, before any chapter forks from it
PRELOAD = ["livingreview.publishing.preload"]
_CONTEXT: multiprocessing.context.BaseContext | None = None
_STARTING = threading.Lock()


@dataclass(frozen=True)
class Executed:
    """One chapter's run: the notebook with its outputs, the error that stopped it (empty if none), seconds, and
    the static copies of its charts still to draw ((path, Vega-Lite spec), see ``chapter.DEFERRED``)."""

    rel: str
    notebook: object
    error: str
    seconds: float
    figures: tuple = ()


def available() -> bool:
    """Whether chapters can run in forks (a POSIX system with a fork server); otherwise Jupyter kernels run them."""
    return "forkserver" in multiprocessing.get_all_start_methods()


@contextlib.contextmanager
def _main_not_imported_again() -> Iterator[None]:
    """Start processes without multiprocessing running the caller's main script again in each of them.

    multiprocessing re-imports ``__main__`` in every child, which runs a script without a main guard (or one read
    from stdin) a second time; a chapter never needs the caller's main module, and a main module named
    ``__main__`` is the one case it skips.
    """
    main = sys.modules["__main__"]
    saved = getattr(main, "__spec__", None)
    main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = saved


def _context() -> multiprocessing.context.BaseContext:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(PRELOAD)
    return _CONTEXT


def warm_up() -> None:
    """Start the fork server now (it imports the package in its own process), not at the first chapter's run."""
    import multiprocessing.forkserver

    _context()
    with _STARTING, _main_not_imported_again():
        multiprocessing.forkserver.ensure_running()


def _start(target, *args, daemon: bool = True):
    """Start ``target(send, *args)`` in a fork of the warm interpreter; (the end to receive from, the process).

    Only a process that is not a daemon may start processes of its own.
    """
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(send, *args), daemon=daemon)
    with _STARTING, _main_not_imported_again():  # one at a time: each sets and restores the main module's spec
        proc.start()
    send.close()
    return receive, proc


def run_chapters(chapters: list[tuple[str, Path]], ev, workers: int = 2, timeout: int = 300) -> Iterator[Executed]:
    """Run each (relative name, path) chapter in its own fork, ``workers`` at a time; yield them as they finish.

    The evidence goes once to one process started from the fork server, which forks every chapter from itself:
    each chapter finds the evidence in memory instead of receiving a copy (a third of a second each at 100x).
    """
    receive, proc = _start(_run_all, list(chapters), ev, workers, timeout, daemon=False)
    reported: set[str] = set()
    try:
        while True:
            try:
                item = receive.recv()
            except EOFError:
                for rel, _ in chapters:
                    if rel not in reported:
                        yield Executed(rel, None, f"the process running the chapters ended before {rel} "
                                                  f"(exit {proc.exitcode})", 0.0)
                return
            if item is None:
                return
            reported.add(item[0])
            yield Executed(*item)
    finally:
        receive.close()
        proc.join(timeout=5)
        if proc.is_alive():  # the caller stopped early: nothing is left to report to
            proc.kill()
            proc.join()


def _run_all(conn, chapters: list[tuple[str, Path]], ev, workers: int, timeout: int) -> None:
    """In the process that holds the evidence: fork a child per chapter, send each result back as it ends."""
    ctx = multiprocessing.get_context("fork")  # this process runs one thread, so forking it is safe
    pending = list(chapters)
    running: dict = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                rel, path = pending.pop(0)
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, str(path), ev), daemon=True)
                proc.start()
                send.close()
                running[receive] = (rel, proc, time.perf_counter())
            for ready in multiprocessing.connection.wait(list(running), timeout=1.0):
                rel, proc, start = running.pop(ready)
                try:
                    notebook, error, figures = ready.recv()
                except EOFError:
                    notebook, error, figures = None, f"the process running {rel} ended without a result " \
                                                     f"(exit {proc.exitcode})", ()
                ready.close()
                proc.join()
                conn.send((rel, notebook, error, time.perf_counter() - start, tuple(figures)))
            for ready, (rel, proc, start) in list(running.items()):
                if time.perf_counter() - start > timeout:
                    proc.kill()
                    proc.join()
                    del running[ready]
                    ready.close()
                    conn.send((rel, None, f"{rel} ran longer than {timeout} s", time.perf_counter() - start, ()))
        conn.send(None)
    finally:
        for _, proc, _ in running.values():
            proc.kill()
        conn.close()


def run_function(func, *args) -> None:
    """Call ``func(*args)`` in a fork of the warm interpreter and wait; raise RuntimeError if it fails."""
    receive, proc = _start(_call, func, args)
    try:
        error = receive.recv()
    except EOFError:
        error = f"the process ended without a result (exit {proc.exitcode})"
    receive.close()
    proc.join()
    if error:
        raise RuntimeError(error)


def _call(conn, func, args) -> None:
    try:
        func(*args)
        conn.send("")
    except BaseException:  # anything goes back to the parent as text
        conn.send(traceback.format_exc())
    finally:
        conn.close()


def _child(conn, path: str, ev) -> None:
    """In the fork: run the chapter's code cells in order, send back (notebook, error)."""
    try:
        from livingreview.checking import layout
        from livingreview.publishing import chapter

        os.chdir(Path(path).parent)
        chapter.use_evidence(ev)
        chapter.DEFERRED = []
        nb = layout.read_chapter(Path(path))
        error = execute_notebook(nb)
        conn.send((nb, error, chapter.DEFERRED))
    except BaseException:  # anything goes back to the parent as text
        conn.send((None, traceback.format_exc(), ()))
    finally:
        conn.close()


def execute_notebook(nb) -> str:
    """Execute ``nb``'s code cells in a new IPython shell, recording their outputs in place; return the error."""
    import nbformat
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    outputs: list = []
    count = [0]

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
            _flush()
            outputs.append(nbformat.v4.new_output("display_data", data=data, metadata=metadata or {}))

    class Hook(DisplayHook):
        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict, md_dict=None) -> None:
            _flush()
            outputs.append(nbformat.v4.new_output("execute_result", data=format_dict, metadata=md_dict or {},
                                                  execution_count=count[0]))

        def finish_displayhook(self) -> None:
            self._is_active = False

    streams = {"stdout": io.StringIO(), "stderr": io.StringIO()}

    def _flush() -> None:
        for name, buf in streams.items():
            text = buf.getvalue()
            if text:
                outputs.append(nbformat.v4.new_output("stream", name=name, text=text))
                buf.seek(0)
                buf.truncate()

    from ipykernel.ipkernel import IPythonKernel

    # what a kernel reports about itself, which nbclient records and myst-nb reads to highlight code
    nb.metadata["language_info"] = nbformat.from_dict(IPythonKernel.language_info)
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config, display_pub_class=Publisher, displayhook_class=Hook,
                                      colors="nocolor")
    real = sys.stdout, sys.stderr
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            count[0] += 1
            outputs = cell.outputs = []  # the hooks append to this cell's list
            sys.stdout, sys.stderr = streams["stdout"], streams["stderr"]
            try:
                result = shell.run_cell(cell.source, store_history=False)
            finally:
                sys.stdout, sys.stderr = real
            _flush()
            cell.execution_count = count[0]
            failure = result.error_before_exec or result.error_in_exec
            if failure is not None:
                return "".join(traceback.format_exception(failure))
    finally:
        sys.stdout, sys.stderr = real
        InteractiveShell.clear_instance()
    return ""
