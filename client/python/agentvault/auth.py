# SPDX-License-Identifier: Apache-2.0
"""The decorators: requires_api_key and requires_access_token.

They have the parameters of AgentCore's bedrock_agentcore.identity.auth
decorators, so that agent code ports with its import line changed, plus
workload_name=, user_id=, user_token= for agents outside a managed
runtime, and client= for an IdentityClient of one's own.

Where the workload access token comes from, first match wins:

1. workload_name= on the decorator: minted for that identity (and
   user_id= or user_token=), cached until shortly before it expires;
2. the invocation context (agentvault.context.set_workload_access_token,
   set by a runtime);
3. $AGENTVAULT_WORKLOAD_ACCESS_TOKEN (a runtime that starts one process
   per invocation);
4. local development: the workload identity and user id in
   ./.agentvault.json, created on the appliance and written there (mode
   0600) the first time, and said so on the "agentvault.auth" logger.
   $AGENTVAULT_LOCAL_DEV=0 turns this off (a runtime should).

If none gives a token, MissingWorkloadAccessTokenError says where the
SDK looked and how to fix it.  The SDK never goes on without a token.
"""
import asyncio
import functools
import inspect
import json
import logging
import os
import threading
import uuid

from . import context
from .errors import (AccessDeniedException, AgentVaultError,
                     MissingWorkloadAccessTokenError,
                     ResourceNotFoundException, TransportError)
from .identity import IdentityClient, _caller_loop

LOCAL_CONFIG = ".agentvault.json"
# The appliance's answer to a token it does not (or no longer) accept.
_TOKEN_REFUSED = "the workload access token is not valid"
_ENV = ("AGENTVAULT_SOCKET", "AGENTVAULT_ADMIN_SOCKET", "AGENTVAULT_RUN_DIR",
        "AGENTVAULT_CA",
        "AGENTVAULT_TLS_NAME", "AGENTVAULT_CLIENT_CERT",
        "AGENTVAULT_CLIENT_KEY", "AGENTVAULT_TOKEN_LIFETIME")

_log = logging.getLogger("agentvault.auth")
_lock = threading.Lock()
_clients = {}
_local_lock = threading.Lock()
_announced = set()


def default_client():
    """The IdentityClient the decorators share (one per configuration in
    the environment), so that they share its connections and tokens."""
    key = tuple(os.environ.get(name) for name in _ENV)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = IdentityClient()
        return client


def requires_api_key(*, provider_name, into="api_key", workload_name=None,
                     user_id=None, user_token=None, client=None):
    """Fetch the API key of provider_name and pass it to the decorated
    function (plain or async) as the keyword argument `into`."""
    who = _Who(workload_name, user_id, user_token)

    def fetch():
        c = client or default_client()
        return _with_token(c, who, lambda token: c.get_api_key(
            provider_name, token()))
    return lambda func: _inject(func, into, fetch)


def requires_access_token(*, provider_name, scopes, into="access_token",
                          on_auth_url=None, auth_flow="USER_FEDERATION",
                          callback_url=None, force_authentication=False,
                          token_poller=None, custom_state=None,
                          custom_parameters=None, workload_name=None,
                          user_id=None, user_token=None, client=None):
    """Fetch an OAuth2 access token from provider_name (GetResourceOauth2Token)
    and pass it as `into`.  auth_flow "M2M": the client-credentials token.
    "USER_FEDERATION" (the default: the seed's example leaves it out): the
    user's token; when the user must consent, on_auth_url gets the
    authorization URL and the session is polled every second (or
    token_poller waits) until the token comes; a FAILED session raises
    AuthorizationFailedError, the deadline AuthorizationTimeoutError."""
    if auth_flow not in ("M2M", "USER_FEDERATION"):
        raise ValueError("auth_flow must be 'M2M' or 'USER_FEDERATION', not "
                         "%r" % (auth_flow,))
    who = _Who(workload_name, user_id, user_token)

    def fetch():
        c = client or default_client()
        # Each poll asks for the workload token again: a cached one that
        # falls due while the user consents is renewed.
        return _with_token(c, who, lambda token: c._oauth2_token(
            token, provider_name=provider_name,
            scopes=scopes, on_auth_url=on_auth_url, auth_flow=auth_flow,
            callback_url=callback_url or context.get_oauth2_callback_url(),
            force_authentication=force_authentication,
            token_poller=token_poller, custom_state=custom_state,
            custom_parameters=custom_parameters))
    return lambda func: _inject(func, into, fetch)


class _Who:
    """Whom the decorator acts for, when it says so."""

    def __init__(self, workload_name, user_id, user_token):
        if (user_id or user_token) and not workload_name:
            raise ValueError("user_id= and user_token= need workload_name=: "
                             "a workload access token is for a workload "
                             "(and a user)")
        self.workload_name = workload_name
        self.user_id = user_id
        self.user_token = user_token


def _inject(func, into, fetch):
    if not isinstance(into, str) or not into.isidentifier():
        raise ValueError("into must name a keyword argument, not %r"
                         % (into,))
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args, **kwargs):
            # The client blocks: it runs in a thread, which
            # asyncio.to_thread gives the caller's context.
            loop = _caller_loop.set(asyncio.get_running_loop())
            try:
                kwargs[into] = await asyncio.to_thread(fetch)
            finally:
                _caller_loop.reset(loop)
            return await func(*args, **kwargs)
        return async_wrapper

    @functools.wraps(func)
    def sync_wrapper(*args, **kwargs):
        kwargs[into] = fetch()
        return func(*args, **kwargs)
    return sync_wrapper


def _with_token(client, who, use):
    """use(token), token() giving the workload access token (the cache's,
    renewed when due, if the SDK minted it).  A token the SDK minted and
    cached that the appliance refuses (its identity was re-created, its
    signing key retired) is dropped and minted again, once."""
    token, minted = _workload_access_token(client, who)
    if minted is None:
        return use(lambda: token)

    def cached():
        return client.cached_workload_access_token(*minted)
    try:
        return use(cached)
    except AccessDeniedException as e:
        if e.message != _TOKEN_REFUSED:
            raise
    client.forget_workload_access_token(*minted)
    return use(cached)


def _workload_access_token(client, who):
    """(token, (workload, user_token, user_id) when the SDK minted it)."""
    if who.workload_name:
        minted = (who.workload_name, who.user_token, who.user_id)
        return client.cached_workload_access_token(*minted), minted
    token = context.get_workload_access_token()
    if token:
        return token, None
    token = os.environ.get("AGENTVAULT_WORKLOAD_ACCESS_TOKEN")
    if token:
        return token, None
    path = os.path.abspath(LOCAL_CONFIG)
    if os.environ.get("AGENTVAULT_LOCAL_DEV", "1") == "0":
        raise _missing("local development is off ($AGENTVAULT_LOCAL_DEV=0)",
                       path)
    name, user_id = _local_identity(client, path)
    minted = (name, None, user_id)
    try:
        return client.cached_workload_access_token(*minted), minted
    except ResourceNotFoundException as e:
        raise MissingWorkloadAccessTokenError(
            "the workload identity %r named in %s does not exist on the "
            "appliance (%s). Delete %s to have a new one created, or put "
            "the name of an existing one in it." % (name, path, e, path)
        ) from e


def _local_identity(client, path):
    """(workload identity name, user id) for local development, from
    path, created (and written there) when missing."""
    with _local_lock:
        cfg = _read_local_config(path)
        name = cfg.get("workload_identity_name")
        user_id = cfg.get("user_id")
        changed = False
        if not name:
            try:
                name = client.create_workload_identity()["name"]
            except (AgentVaultError, TransportError) as e:
                raise _missing("local development could not create a "
                               "workload identity (%s)" % e, path) from e
            _log.warning("agentvault: local development: created the "
                         "workload identity %s on the appliance; saved in "
                         "%s", name, path)
            changed = True
        if not user_id:
            user_id = uuid.uuid4().hex[:8]
            _log.warning("agentvault: local development: created the user "
                         "id %s; saved in %s", user_id, path)
            changed = True
        if changed:
            _write_local_config(path, {"workload_identity_name": name,
                                       "user_id": user_id})
        elif path not in _announced:
            _log.warning("agentvault: local development: using the workload "
                         "identity %s and user id %s from %s", name,
                         user_id, path)
        _announced.add(path)
        return name, user_id


def _read_local_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise MissingWorkloadAccessTokenError(
            "cannot read %s (%s): fix it or delete it to have it created "
            "again" % (path, e)) from e
    if not isinstance(cfg, dict) or not all(
            isinstance(cfg.get(k, ""), str)
            for k in ("workload_identity_name", "user_id")):
        raise MissingWorkloadAccessTokenError(
            "%s must be a JSON object with the strings "
            "workload_identity_name and user_id: fix it or delete it to "
            "have it created again" % path)
    return cfg


def _write_local_config(path, cfg):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _log.warning("agentvault: local development: could not write %s "
                     "(%s): the next run creates another identity", path, e)


def _missing(reason, path):
    return MissingWorkloadAccessTokenError(
        "no workload access token for this call: none in the invocation "
        "context (agentvault.context.set_workload_access_token), none in "
        "$AGENTVAULT_WORKLOAD_ACCESS_TOKEN, and %s.\n"
        "Fix one of:\n"
        "  - pass workload_name= (and user_id=) to the decorator, naming a "
        "workload identity the appliance's admin created;\n"
        "  - have the runtime that runs this agent set the token (the "
        "context, or $AGENTVAULT_WORKLOAD_ACCESS_TOKEN);\n"
        "  - for local development, have an admin create a workload "
        "identity and write {\"workload_identity_name\": \"NAME\", "
        "\"user_id\": \"ID\"} to %s, or run as an admin of the appliance "
        "(a principal with AgentVaultFullAccess) with "
        "$AGENTVAULT_ADMIN_SOCKET naming its admin socket." % (reason, path))
