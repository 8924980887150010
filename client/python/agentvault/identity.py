# SPDX-License-Identifier: Apache-2.0
"""IdentityClient: one method per operation of the appliance.

The method names, arguments and return values are those of the
AgentCore SDK's `bedrock_agentcore.services.identity.IdentityClient`
(get_workload_access_token, create_workload_identity, get_api_key,
get_token, ...), so that agent code ports with its import line changed.
Differences, all documented in docs/client.md: the methods are plain
blocking calls (get_api_key and get_token are coroutines in AgentCore);
the region argument is accepted and ignored (the appliance's region is in
its configuration); operations the AgentCore SDK leaves to boto3 (list,
delete, tags, the token vault) have boto3's names here.

Operations go to the socket of their plane (docs/api.md, section 2): the
data plane (tokens, API keys) to the agent socket, the directory and the
control plane to the admin socket.
"""
import abc
import asyncio
import concurrent.futures
import contextvars
import hashlib
import inspect
import json
import logging
import os
import re
import threading
import time
import uuid
from urllib.parse import quote, urlencode

from .errors import (AuthorizationFailedError, AuthorizationTimeoutError,
                     OperationNotSupportedError, ProtocolError,
                     error_from_response)
from .transport import DEFAULT_MAX_RESPONSE_BYTES, Transport, ssl_context

DEFAULT_AGENT_SOCKET = "/run/agentvault/agent.sock"
DEFAULT_ADMIN_SOCKET = "/run/agentvault/admin.sock"
DEFAULT_CA = "/var/lib/agentvault/ca.pem"
DEFAULT_TOKEN_LIFETIME_SECONDS = 900    # tokens.ttl_seconds' default
DEFAULT_POLLING_INTERVAL_SECONDS = 1     # a consent session, polled
DEFAULT_POLLING_TIMEOUT_SECONDS = 600    # oauth.session_ttl_seconds
SESSION_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
_SESSION_URI = re.compile(re.escape(SESSION_URI_PREFIX) +
                          r"[A-Za-z0-9_-]{1,128}\Z")
_AUTH_URL = re.compile(r"https?://[!-~]{1,8184}\Z")
_FLOWS = ("M2M", "USER_FEDERATION", "ON_BEHALF_OF_TOKEN_EXCHANGE")
_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
_WAT_TYPE = "urn:agentvault:params:oauth:token-type:workload_access_token"

_log = logging.getLogger("agentvault.identity")

_DATA, _ADMIN = "data", "admin"

# operation: (method, path, plane, safe to send twice).  Writes are not,
# updates and tags included: a repeat could undo another client's change
# made in between (the rule of libagentvault, docs/client.md 1.7).
# GetResourceOauth2Token is safe for M2M and a session's polls only: a
# first USER_FEDERATION request may start a session.
_OPS = {
    "Ping": ("GET", "/ping", _DATA, True),
    "GetTokenVault": ("POST", "/identities/get-token-vault", _ADMIN, True),
    "CreateWorkloadIdentity": ("POST", "/identities/CreateWorkloadIdentity",
                               _ADMIN, False),
    "GetWorkloadIdentity": ("POST", "/identities/GetWorkloadIdentity",
                            _ADMIN, True),
    "UpdateWorkloadIdentity": ("POST", "/identities/UpdateWorkloadIdentity",
                               _ADMIN, False),
    "DeleteWorkloadIdentity": ("POST", "/identities/DeleteWorkloadIdentity",
                               _ADMIN, False),
    "ListWorkloadIdentities": ("POST", "/identities/ListWorkloadIdentities",
                               _ADMIN, True),
    "GetWorkloadAccessToken": ("POST", "/identities/GetWorkloadAccessToken",
                               _DATA, True),
    "GetWorkloadAccessTokenForUserId": (
        "POST", "/identities/GetWorkloadAccessTokenForUserId", _DATA, True),
    "GetWorkloadAccessTokenForJWT": (
        "POST", "/identities/GetWorkloadAccessTokenForJWT", _DATA, True),
    "CheckJwt": ("POST", "/identities/CheckJwt", _ADMIN, True),
    "GetResourceApiKey": ("POST", "/identities/api-key", _DATA, True),
    "GetResourceOauth2Token": ("POST", "/identities/oauth2/token", _DATA,
                               False),
    "CompleteResourceTokenAuth": (
        "POST", "/identities/CompleteResourceTokenAuth", _DATA, False),
    "CreateApiKeyCredentialProvider": (
        "POST", "/identities/CreateApiKeyCredentialProvider", _ADMIN, False),
    "GetApiKeyCredentialProvider": (
        "POST", "/identities/GetApiKeyCredentialProvider", _ADMIN, True),
    "UpdateApiKeyCredentialProvider": (
        "POST", "/identities/UpdateApiKeyCredentialProvider", _ADMIN, False),
    "DeleteApiKeyCredentialProvider": (
        "POST", "/identities/DeleteApiKeyCredentialProvider", _ADMIN, False),
    "ListApiKeyCredentialProviders": (
        "POST", "/identities/ListApiKeyCredentialProviders", _ADMIN, True),
    "CreateOauth2CredentialProvider": (
        "POST", "/identities/CreateOauth2CredentialProvider", _ADMIN, False),
    "GetOauth2CredentialProvider": (
        "POST", "/identities/GetOauth2CredentialProvider", _ADMIN, True),
    "UpdateOauth2CredentialProvider": (
        "POST", "/identities/UpdateOauth2CredentialProvider", _ADMIN, False),
    "DeleteOauth2CredentialProvider": (
        "POST", "/identities/DeleteOauth2CredentialProvider", _ADMIN, False),
    "ListOauth2CredentialProviders": (
        "POST", "/identities/ListOauth2CredentialProviders", _ADMIN, True),
    "TagResource": ("POST", "/tags/", _ADMIN, False),
    "UntagResource": ("DELETE", "/tags/", _ADMIN, False),
    "ListTagsForResource": ("GET", "/tags/", _ADMIN, True),
}

# Operations of AgentCore the appliance does not have yet, and the feature
# each belongs to: "unknown operation" from the daemon becomes a clear
# OperationNotSupportedError.
_PLANNED = {
    "GetResourceOauth2Token": "OAuth2 access tokens",
    "CompleteResourceTokenAuth": "OAuth2 access tokens",
}

# The event loop of an async decorated function, seen by the thread that
# fetches its credential: coroutine callbacks (on_auth_url, a TokenPoller)
# run on the caller's loop.
_caller_loop = contextvars.ContextVar("agentvault_caller_loop", default=None)


class UserIdIdentifier:
    """The user id a workload access token was minted for."""

    def __init__(self, user_id):
        self.user_id = user_id


class UserTokenIdentifier:
    """The user's JWT a workload access token was minted for."""

    def __init__(self, user_token):
        self.user_token = user_token


class TokenPoller(abc.ABC):
    """Waits for the user's OAuth consent.  poll_for_token() returns the
    access token; it may be a plain method or a coroutine (`async def`,
    as in AgentCore's SDK)."""

    @abc.abstractmethod
    def poll_for_token(self):
        raise NotImplementedError


class DefaultTokenPoller(TokenPoller):
    """Asks the appliance again every `interval` seconds, with the
    session URI, until the token is there, the session failed, or
    `timeout` seconds have passed."""

    def __init__(self, auth_url, poll,
                 interval=DEFAULT_POLLING_INTERVAL_SECONDS,
                 timeout=DEFAULT_POLLING_TIMEOUT_SECONDS):
        self.auth_url = auth_url
        self.poll = poll        # () -> GetResourceOauth2Token's response
        self.interval = interval
        self.timeout = timeout

    def poll_for_token(self):
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AuthorizationTimeoutError(
                    "the user did not complete the authorization within "
                    "%gs" % self.timeout)
            time.sleep(min(self.interval, left))
            resp = self.poll()
            if resp.get("accessToken"):
                return resp["accessToken"]
            if resp.get("sessionStatus") == "FAILED":
                raise AuthorizationFailedError(
                    "the appliance reports the authorization session as "
                    "FAILED; start again (force_authentication=True)")


def _resolve(value):
    """value, or its result if it is awaitable.  Called in a thread of
    the SDK's: on the loop of the async function being decorated when
    there is one, else on a loop of its own."""
    if not inspect.isawaitable(value):
        return value

    async def wait():
        return await value

    loop = _caller_loop.get()
    if loop is not None and loop.is_running():
        return asyncio.run_coroutine_threadsafe(wait(), loop).result()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    # A plain function called on a running loop: that loop is busy
    # with us, so the coroutine gets a thread and a loop of its own.
    ctx = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(ctx.run, asyncio.run, wait()).result()


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value else default


class IdentityClient:
    """A client of the appliance's identity API.

    region: accepted so that `IdentityClient(region)` ports; unused.
    socket: the agent socket (data plane), or tcp://HOST:PORT;
        default $AGENTVAULT_SOCKET, else agent.sock in
        $AGENTVAULT_RUN_DIR, else /run/agentvault/agent.sock.
    admin_socket: the admin socket (directory, control plane); default
        $AGENTVAULT_ADMIN_SOCKET, else admin.sock in $AGENTVAULT_RUN_DIR,
        else /run/agentvault/admin.sock.  A service that manages
        identities passes its own socket here.
    ca: the appliance CA; default $AGENTVAULT_CA, else
        /var/lib/agentvault/ca.pem.
    server_hostname: the name checked in the appliance's certificate;
        default $AGENTVAULT_TLS_NAME, else localhost (the TCP host).
    client_cert, client_key: for TCP with mTLS; default
        $AGENTVAULT_CLIENT_CERT, $AGENTVAULT_CLIENT_KEY.
    timeout: seconds for each request, from connect to the last byte.
    max_response_bytes: replies larger than this are refused.
    token_lifetime_seconds: how long the appliance's workload access
        tokens live (its tokens.ttl_seconds); default
        $AGENTVAULT_TOKEN_LIFETIME, else 900.  Cached tokens are renewed
        shortly before.
    poll_interval_seconds, poll_timeout_seconds: the default OAuth
        consent poller's pace and deadline.
    """

    def __init__(self, region=None, *, socket=None, admin_socket=None,
                 ca=None, server_hostname=None, client_cert=None,
                 client_key=None, timeout=10.0,
                 max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES,
                 token_lifetime_seconds=None,
                 poll_interval_seconds=DEFAULT_POLLING_INTERVAL_SECONDS,
                 poll_timeout_seconds=DEFAULT_POLLING_TIMEOUT_SECONDS):
        self.region = region
        # As the CLI: a socket named outright, else one under
        # $AGENTVAULT_RUN_DIR, else the default run directory.
        run_dir = _env("AGENTVAULT_RUN_DIR")
        self.socket = socket or _env("AGENTVAULT_SOCKET", os.path.join(
            run_dir, "agent.sock") if run_dir else DEFAULT_AGENT_SOCKET)
        self.admin_socket = admin_socket or _env(
            "AGENTVAULT_ADMIN_SOCKET", os.path.join(run_dir, "admin.sock")
            if run_dir else DEFAULT_ADMIN_SOCKET)
        self.ca = ca or _env("AGENTVAULT_CA", DEFAULT_CA)
        self.server_hostname = server_hostname or _env("AGENTVAULT_TLS_NAME")
        self.client_cert = client_cert or _env("AGENTVAULT_CLIENT_CERT")
        self.client_key = client_key or _env("AGENTVAULT_CLIENT_KEY")
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        if token_lifetime_seconds is None:
            token_lifetime_seconds = float(_env(
                "AGENTVAULT_TOKEN_LIFETIME", DEFAULT_TOKEN_LIFETIME_SECONDS))
        self.token_lifetime_seconds = token_lifetime_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.poll_timeout_seconds = poll_timeout_seconds
        self._context = None
        self._transports = {}
        self._tokens = {}
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the idle connections (the client stays usable)."""
        with self._lock:
            transports = list(self._transports.values())
        for t in transports:
            t.close()

    def transport(self, plane=_DATA):
        """The Transport of a plane's socket ("data" or "admin")."""
        endpoint = self.socket if plane == _DATA else self.admin_socket
        with self._lock:
            t = self._transports.get(endpoint)
            if t is None:
                if self._context is None:
                    self._context = ssl_context(self.ca, self.client_cert,
                                                self.client_key)
                t = Transport(endpoint, self._context, self.server_hostname,
                              self.timeout, self.max_response_bytes)
                self._transports[endpoint] = t
            return t

    def _call(self, op, body=None, target=None, safe=None):
        method, path, plane, op_safe = _OPS[op]
        safe = op_safe if safe is None else safe
        data = None if body is None else \
            json.dumps(body, separators=(",", ":")).encode()
        t = self.transport(plane)
        _log.debug("%s on %s", op, t.endpoint)
        status, headers, payload = t.request(method, target or path, data,
                                             safe)
        rid = headers.get("x-amzn-requestid")
        try:
            doc = json.loads(payload) if payload else {}
        except ValueError:
            if 200 <= status < 300:
                raise ProtocolError("%s answered %s with a body that is not "
                                    "JSON" % (t.endpoint, op),
                                    str(t.endpoint)) from None
            doc = {}
        if 200 <= status < 300:
            return doc if isinstance(doc, dict) else {}
        if status == 400 and op in _PLANNED and \
                isinstance(doc, dict) and \
                doc.get("__type") == "ValidationException" and \
                doc.get("message") == "unknown operation":
            raise OperationNotSupportedError(op, _PLANNED[op], status, rid)
        raise error_from_response(status, doc, rid, op)

    # -- liveness and the token vault --------------------------------------

    def ping(self):
        """Ping: {"status": "ok", "service": "agentvault", "version"}."""
        return self._call("Ping")

    def get_token_vault(self, token_vault_id=None):
        """GetTokenVault: which key protects the vault (admin)."""
        body = {} if token_vault_id is None else \
            {"tokenVaultId": token_vault_id}
        return self._call("GetTokenVault", body)

    # -- workload identities (admin, or a service for its own) -------------

    def create_workload_identity(self, name=None,
                                 allowed_resource_oauth_2_return_urls=None,
                                 tags=None, *,
                                 allowed_resource_oauth2_return_urls=None,
                                 authorizer_configuration=None):
        """CreateWorkloadIdentity.  Without a name, workload-XXXXXXXX.
        The return URLs may be given under either spelling (AgentCore's
        SDK has allowed_resource_oauth_2_return_urls).
        authorizer_configuration: the user JWTs it accepts,
        {"customJWTAuthorizer": {"discoveryUrl": ..., ...}}
        (docs/inbound.md)."""
        urls = allowed_resource_oauth_2_return_urls
        if urls is None:
            urls = allowed_resource_oauth2_return_urls
        body = {"name": name or "workload-%s" % uuid.uuid4().hex[:8],
                "allowedResourceOauth2ReturnUrls": list(urls or [])}
        if tags is not None:
            body["tags"] = dict(tags)
        if authorizer_configuration is not None:
            body["authorizerConfiguration"] = authorizer_configuration
        return self._call("CreateWorkloadIdentity", body)

    def get_workload_identity(self, name):
        """GetWorkloadIdentity."""
        return self._call("GetWorkloadIdentity", {"name": name})

    def update_workload_identity(self, name,
                                 allowed_resource_oauth_2_return_urls=None,
                                 *, allowed_resource_oauth2_return_urls=None,
                                 authorizer_configuration=None):
        """UpdateWorkloadIdentity: replaces the return URLs (none: empties
        the list) and the authorizer configuration (none: removes it)."""
        urls = allowed_resource_oauth_2_return_urls
        if urls is None:
            urls = allowed_resource_oauth2_return_urls
        body = {"name": name,
                "allowedResourceOauth2ReturnUrls": list(urls or [])}
        if authorizer_configuration is not None:
            body["authorizerConfiguration"] = authorizer_configuration
        return self._call("UpdateWorkloadIdentity", body)

    def delete_workload_identity(self, name):
        """DeleteWorkloadIdentity (its secrets are crypto-erased)."""
        return self._call("DeleteWorkloadIdentity", {"name": name})

    def list_workload_identities(self, max_results=None, next_token=None):
        """ListWorkloadIdentities: one page; pass nextToken back for the
        next."""
        return self._call("ListWorkloadIdentities",
                          _page(max_results, next_token))

    # -- API-key credential providers (admin) ------------------------------

    def create_api_key_credential_provider(self, req=None, *, name=None,
                                           api_key=None, tags=None):
        """CreateApiKeyCredentialProvider.  Either the request as a dict,
        as in AgentCore's SDK ({"name": ..., "apiKey": ...}), or name=,
        api_key=, tags=.  The key is write-only: no reply contains it."""
        if req is None:
            req = {"name": name, "apiKey": api_key}
            if tags is not None:
                req["tags"] = dict(tags)
        return self._call("CreateApiKeyCredentialProvider", req)

    def get_api_key_credential_provider(self, name):
        """GetApiKeyCredentialProvider (never the key)."""
        return self._call("GetApiKeyCredentialProvider", {"name": name})

    def update_api_key_credential_provider(self, name, api_key):
        """UpdateApiKeyCredentialProvider: a new key, under a new data
        key."""
        return self._call("UpdateApiKeyCredentialProvider",
                          {"name": name, "apiKey": api_key})

    def delete_api_key_credential_provider(self, name):
        """DeleteApiKeyCredentialProvider (crypto-erase)."""
        return self._call("DeleteApiKeyCredentialProvider", {"name": name})

    def list_api_key_credential_providers(self, max_results=None,
                                          next_token=None):
        """ListApiKeyCredentialProviders: one page."""
        return self._call("ListApiKeyCredentialProviders",
                          _page(max_results, next_token))

    # -- OAuth2 credential providers (admin; docs/oauth.md) ----------------

    def create_oauth2_credential_provider(self, req):
        """CreateOauth2CredentialProvider, the request as in AgentCore's
        SDK: {"name", "credentialProviderVendor",
        "oauth2ProviderConfigInput": {MEMBER: {"clientId",
        "clientSecret", ...}}, "tags"}.  The client secret is write-only:
        no reply contains it."""
        return self._call("CreateOauth2CredentialProvider", req)

    def get_oauth2_credential_provider(self, name):
        """GetOauth2CredentialProvider (never the client secret)."""
        return self._call("GetOauth2CredentialProvider", {"name": name})

    def update_oauth2_credential_provider(self, req):
        """UpdateOauth2CredentialProvider: the whole configuration (name,
        vendor, oauth2ProviderConfigInput); the stored client secret stays
        when the request has none."""
        return self._call("UpdateOauth2CredentialProvider", req)

    def delete_oauth2_credential_provider(self, name):
        """DeleteOauth2CredentialProvider (crypto-erase)."""
        return self._call("DeleteOauth2CredentialProvider", {"name": name})

    def list_oauth2_credential_providers(self, max_results=None,
                                         next_token=None):
        """ListOauth2CredentialProviders: one page."""
        return self._call("ListOauth2CredentialProviders",
                          _page(max_results, next_token))

    # -- tags (admin) ----------------------------------------------------

    def tag_resource(self, resource_arn, tags):
        """TagResource: add or change tags on an identity, a provider,
        the vault or the directory."""
        return self._call("TagResource", {"tags": dict(tags)},
                          _tags_target(resource_arn))

    def untag_resource(self, resource_arn, tag_keys):
        """UntagResource: remove these keys (absent keys are no error)."""
        query = "&".join("tagKeys=" + quote(k, safe="") for k in tag_keys)
        return self._call("UntagResource", None,
                          _tags_target(resource_arn, query))

    def list_tags_for_resource(self, resource_arn):
        """ListTagsForResource: {"tags": {KEY: VALUE, ...}}."""
        return self._call("ListTagsForResource", None,
                          _tags_target(resource_arn))

    def check_jwt(self, token, discovery_url, allowed_audience=None,
                  allowed_clients=None, allowed_scopes=None,
                  custom_claims=None):
        """CheckJwt (admin): would an authorizer with this configuration
        accept token?  {"valid": True, "issuer", "subject", "audience",
        "expiresAt", ...} or {"valid": False, "errorType", "reason"}."""
        c = {"discoveryUrl": discovery_url}
        for k, v in (("allowedAudience", allowed_audience),
                     ("allowedClients", allowed_clients),
                     ("allowedScopes", allowed_scopes),
                     ("customClaims", custom_claims)):
            if v is not None:
                c[k] = list(v)
        return self._call("CheckJwt", {
            "token": token,
            "authorizerConfiguration": {"customJWTAuthorizer": c}})

    # -- the data plane --------------------------------------------------

    def get_workload_access_token(self, workload_name, user_token=None,
                                  user_id=None):
        """GetWorkloadAccessToken (no user), ...ForUserId, or ...ForJWT
        (user_token wins when both are given, as in AgentCore's SDK).
        Returns the response: {"workloadAccessToken": ...}."""
        if user_token:
            if user_id is not None:
                _log.warning("both user_token and user_id given: using "
                             "user_token")
            return self._call("GetWorkloadAccessTokenForJWT", {
                "workloadName": workload_name, "userToken": user_token})
        if user_id:
            return self._call("GetWorkloadAccessTokenForUserId", {
                "workloadName": workload_name, "userId": user_id})
        return self._call("GetWorkloadAccessToken",
                          {"workloadName": workload_name})

    def get_agent_access_token(self, workload_access_token, audience,
                               scope=None, requested_token_type=None):
        """The appliance's token service (POST /oauth2/token, RFC 8693;
        docs/agent-tokens.md): an agent access token, a JWT saying that
        the workload of workload_access_token (a token for a user) acts for
        that user, for audience.  scope: a space-separated string or a
        list.  Returns the RFC 8693 response: {"access_token",
        "issued_token_type", "token_type": "Bearer", "expires_in",
        "scope"?}.  A refusal raises AgentVaultError whose error_type is
        the RFC 6749 code ("invalid_request", "invalid_target",
        "unauthorized_client"...)."""
        form = {"grant_type": _TOKEN_EXCHANGE,
                "subject_token": workload_access_token,
                "subject_token_type": _WAT_TYPE, "audience": audience}
        if scope:
            form["scope"] = scope if isinstance(scope, str) else \
                " ".join(scope)
        if requested_token_type:
            form["requested_token_type"] = requested_token_type
        t = self.transport(_DATA)
        status, headers, payload = t.request(
            "POST", "/oauth2/token", urlencode(form).encode(), True,
            content_type="application/x-www-form-urlencoded")
        rid = headers.get("x-amzn-requestid")
        try:
            doc = json.loads(payload) if payload else {}
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise ProtocolError("%s answered the token service with a body "
                                "that is not a JSON object" % t.endpoint,
                                str(t.endpoint))
        if status == 200 and isinstance(doc.get("access_token"), str):
            return doc
        if isinstance(doc.get("error"), str):
            doc = {"__type": doc["error"],
                   "message": doc.get("error_description", doc["error"])}
        raise error_from_response(status, doc, rid, "GetAgentAccessToken")

    def cached_workload_access_token(self, workload_name, user_token=None,
                                     user_id=None):
        """The workload access token for (workload, user), minted once and
        reused until shortly before its lifetime ends."""
        key = _token_key(workload_name, user_token, user_id)
        now = time.monotonic()
        with self._lock:
            hit = self._tokens.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        token = self.get_workload_access_token(
            workload_name, user_token, user_id)["workloadAccessToken"]
        life = self.token_lifetime_seconds
        # Renew a minute early (a fifth early for short lifetimes): the
        # token must not expire between here and the appliance.
        with self._lock:
            self._tokens[key] = (token, now + life - min(60.0, life / 5))
        return token

    def forget_workload_access_token(self, workload_name, user_token=None,
                                     user_id=None):
        """Drop a cached token (e.g. after the appliance refused it)."""
        with self._lock:
            self._tokens.pop(_token_key(workload_name, user_token, user_id),
                             None)

    def get_api_key(self, provider_name, agent_identity_token):
        """GetResourceApiKey: the provider's API key, for the workload
        (and user) of the token."""
        return self._call("GetResourceApiKey", {
            "workloadIdentityToken": agent_identity_token,
            "resourceCredentialProviderName": provider_name})["apiKey"]

    def get_resource_oauth2_token(self, *, provider_name,
                                  agent_identity_token, scopes=None,
                                  auth_flow="USER_FEDERATION",
                                  session_uri=None, callback_url=None,
                                  force_authentication=False,
                                  custom_parameters=None, custom_state=None,
                                  resources=None, audiences=None):
        """GetResourceOauth2Token, one request with every member of the
        API: the response, checked.  Either {"accessToken": ...}, or a
        session: "sessionUri" (urn:ietf:params:oauth:request_uri:ID),
        "sessionStatus" ("IN_PROGRESS" or "FAILED") and, while in
        progress, "authorizationUrl" (an http(s) URL of printable ASCII).
        A reply to a poll that omits the session URI gets session_uri.
        Anything else raises ProtocolError."""
        if auth_flow not in _FLOWS:
            raise ValueError("auth_flow must be one of %s, not %r"
                             % (", ".join(_FLOWS), auth_flow))
        req = {"resourceCredentialProviderName": provider_name,
               "scopes": list(scopes or []), "oauth2Flow": auth_flow,
               "workloadIdentityToken": agent_identity_token}
        for key, value in (("sessionUri", session_uri),
                           ("resourceOauth2ReturnUrl", callback_url),
                           ("customState", custom_state)):
            if value:
                req[key] = value
        if force_authentication:
            req["forceAuthentication"] = True
        if custom_parameters:
            req["customParameters"] = dict(custom_parameters)
        if resources:
            req["resources"] = list(resources)
        if audiences:
            req["audiences"] = list(audiences)
        resp = self._call("GetResourceOauth2Token", req,
                          safe=auth_flow == "M2M" or bool(session_uri))
        return self._oauth2_reply(resp, session_uri)

    def _oauth2_reply(self, resp, asked):
        def bad(why):
            return ProtocolError("GetResourceOauth2Token: %s" % why,
                                 self.socket)
        token = resp.get("accessToken")
        if token is not None:
            if not isinstance(token, str) or not token:
                raise bad("the access token is not a non-empty string")
            return {"accessToken": token}
        status, uri, url = (resp.get(k) for k in (
            "sessionStatus", "sessionUri", "authorizationUrl"))
        if status not in ("IN_PROGRESS", "FAILED"):
            raise bad("the reply has neither an access token nor a session "
                      "status (IN_PROGRESS or FAILED)")
        uri = uri if uri is not None else asked
        if not isinstance(uri, str) or not _SESSION_URI.match(uri):
            raise bad("the reply has no session URI of the form %sID"
                      % SESSION_URI_PREFIX)
        if url is not None and (not isinstance(url, str) or
                                not _AUTH_URL.match(url)):
            raise bad("the authorization URL is not a printable http(s) "
                      "URL")
        if url is None and asked is None and status == "IN_PROGRESS":
            raise bad("the reply starts a session without an authorization "
                      "URL")
        out = {"sessionUri": uri, "sessionStatus": status}
        if url is not None:
            out["authorizationUrl"] = url
        return out

    def get_token(self, *, provider_name, agent_identity_token, scopes=None,
                  on_auth_url=None, auth_flow="USER_FEDERATION",
                  callback_url=None, force_authentication=False,
                  token_poller=None, custom_state=None,
                  custom_parameters=None):
        """GetResourceOauth2Token: an OAuth2 access token.  When the user
        must consent, the authorization URL goes to on_auth_url (a plain
        function or a coroutine function), then token_poller (default:
        the appliance is asked again with the session URI every
        poll_interval_seconds, for poll_timeout_seconds) waits for it.
        A FAILED session raises AuthorizationFailedError, the deadline
        AuthorizationTimeoutError."""
        return self._oauth2_token(
            lambda: agent_identity_token, provider_name=provider_name,
            scopes=scopes, on_auth_url=on_auth_url, auth_flow=auth_flow,
            callback_url=callback_url,
            force_authentication=force_authentication,
            token_poller=token_poller, custom_state=custom_state,
            custom_parameters=custom_parameters)

    def _oauth2_token(self, workload_token, *, on_auth_url, token_poller,
                      **req):
        """get_token with workload_token() giving the workload access
        token for each request: the decorators' renews a cached token
        that falls due while the user consents."""
        resp = self.get_resource_oauth2_token(
            agent_identity_token=workload_token(), **req)
        if "accessToken" in resp:
            return resp["accessToken"]
        if resp["sessionStatus"] == "FAILED":
            raise AuthorizationFailedError(
                "the appliance reports the authorization session as "
                "FAILED; start again (force_authentication=True)")
        auth_url = resp.get("authorizationUrl")
        if on_auth_url is not None and auth_url is not None:
            _resolve(on_auth_url(auth_url))
        # The polls name the session; only the first request forces a new
        # consent.
        req.update(session_uri=resp["sessionUri"],
                   force_authentication=False)
        poller = token_poller or DefaultTokenPoller(
            auth_url, lambda: self.get_resource_oauth2_token(
                agent_identity_token=workload_token(), **req),
            self.poll_interval_seconds, self.poll_timeout_seconds)
        return _resolve(poller.poll_for_token())

    def complete_resource_token_auth(self, session_uri, user_identifier):
        """CompleteResourceTokenAuth: binds a consent session to the user
        who came back from it (a UserIdIdentifier or UserTokenIdentifier;
        the appliance refuses user tokens until its JWT authorizer
        exists).  What the return URL's server calls.  Returns {}."""
        if isinstance(user_identifier, UserIdIdentifier):
            ident = {"userId": user_identifier.user_id}
        elif isinstance(user_identifier, UserTokenIdentifier):
            ident = {"userToken": user_identifier.user_token}
        else:
            raise ValueError("user_identifier must be a UserIdIdentifier "
                             "or a UserTokenIdentifier")
        return self._call("CompleteResourceTokenAuth", {
            "sessionUri": session_uri, "userIdentifier": ident})


def _page(max_results, next_token):
    body = {}
    if max_results is not None:
        body["maxResults"] = max_results
    if next_token is not None:
        body["nextToken"] = next_token
    return body


def _tags_target(resource_arn, query=""):
    target = "/tags/" + quote(resource_arn, safe="")
    return target + "?" + query if query else target


def _token_key(workload_name, user_token, user_id):
    # A user's JWT is a credential: the cache keeps its digest, not it.
    if user_token:
        return (workload_name, "jwt",
                hashlib.sha256(user_token.encode()).hexdigest())
    return (workload_name, "id", user_id or "")
