# SPDX-License-Identifier: Apache-2.0
"""The invocation context: the workload access token (and OAuth callback
URL) of the invocation being served, as a runtime sets them.

They live in context variables (contextvars), like AgentCore's
BedrockAgentCoreContext, so that concurrent invocations in one process
(asyncio tasks, threads) each see their own.  asyncio tasks and
asyncio.to_thread() inherit the context by themselves; a
threading.Thread, a ThreadPoolExecutor and loop.run_in_executor() do not.
For those use ContextThread, run_in_thread(), ContextThreadPoolExecutor or
bind(), which carry the caller's context into the thread.

A runtime that starts one process per invocation can set
$AGENTVAULT_WORKLOAD_ACCESS_TOKEN instead; the context variable wins
when both are set.
"""
import contextlib
import contextvars
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

_workload_access_token = contextvars.ContextVar(
    "agentvault_workload_access_token", default=None)
_oauth2_callback_url = contextvars.ContextVar(
    "agentvault_oauth2_callback_url", default=None)


def set_workload_access_token(token):
    """Set the invocation's workload access token; returns a
    contextvars.Token for reset_workload_access_token()."""
    return _workload_access_token.set(token)


def get_workload_access_token():
    """The invocation's workload access token, or None."""
    return _workload_access_token.get()


def reset_workload_access_token(token):
    _workload_access_token.reset(token)


def set_oauth2_callback_url(url):
    """Set the OAuth2 return URL for the invocation (used when a
    requires_access_token decorator has no callback_url)."""
    return _oauth2_callback_url.set(url)


def get_oauth2_callback_url():
    return _oauth2_callback_url.get()


def reset_oauth2_callback_url(token):
    _oauth2_callback_url.reset(token)


@contextlib.contextmanager
def invocation(workload_access_token=None, oauth2_callback_url=None):
    """with invocation(token): ... serves one invocation with its token;
    the previous values come back afterwards."""
    t1 = _workload_access_token.set(workload_access_token)
    t2 = _oauth2_callback_url.set(oauth2_callback_url)
    try:
        yield
    finally:
        _oauth2_callback_url.reset(t2)
        _workload_access_token.reset(t1)


def bind(fn):
    """fn, bound to a copy of the current context: call it from any
    thread and it sees this invocation's token."""
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def bound(*args, **kwargs):
        # A context can be entered by one thread at a time: each call
        # gets a copy.
        return ctx.copy().run(fn, *args, **kwargs)
    return bound


class ContextThread(threading.Thread):
    """A threading.Thread that runs in a copy of the context of the code
    that created it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._agentvault_context = contextvars.copy_context()

    def run(self):
        self._agentvault_context.run(super().run)


def run_in_thread(fn, *args, **kwargs):
    """Start fn(*args, **kwargs) in a ContextThread; returns the thread."""
    t = ContextThread(target=fn, args=args, kwargs=kwargs, daemon=True)
    t.start()
    return t


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks (submit, map) run in a copy of the
    context of the code that submitted them."""

    def submit(self, fn, /, *args, **kwargs):
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)
