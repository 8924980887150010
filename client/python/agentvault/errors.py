# SPDX-License-Identifier: Apache-2.0
"""Errors of the Agent Vault SDK.

Three families, so that a caller can tell them apart:

- AgentVaultError and its subclasses: the appliance answered, with an
  error.  One class per exception name of the API (docs/api.md, section 3);
  each carries error_type (the API's name), message, status and request_id.
- TransportError and its subclasses: no answer could be exchanged (no
  socket, TLS refused, timeout, a malformed or oversized reply).
- Local errors: MissingWorkloadAccessTokenError, ConfigurationError, and
  the OAuth consent outcomes AuthorizationTimeoutError and
  AuthorizationFailedError.
"""


class AgentVaultError(Exception):
    """The appliance answered with an error (`__type` and `message`)."""

    error_type = "AgentVaultError"

    def __init__(self, message, error_type=None, status=None,
                 request_id=None, operation=None):
        super().__init__(message)
        self.message = message
        if error_type is not None:
            self.error_type = error_type
        self.status = status
        self.request_id = request_id
        self.operation = operation

    def __str__(self):
        where = " (%s)" % self.operation if self.operation else ""
        return "%s%s: %s" % (self.error_type, where, self.message)


class ValidationException(AgentVaultError):
    error_type = "ValidationException"


class DecryptionFailure(AgentVaultError):
    error_type = "DecryptionFailure"


class EncryptionFailure(AgentVaultError):
    error_type = "EncryptionFailure"


class UnauthorizedException(AgentVaultError):
    error_type = "UnauthorizedException"


class ServiceQuotaExceededException(AgentVaultError):
    error_type = "ServiceQuotaExceededException"


class AccessDeniedException(AgentVaultError):
    error_type = "AccessDeniedException"


class ResourceNotFoundException(AgentVaultError):
    error_type = "ResourceNotFoundException"


class ConflictException(AgentVaultError):
    error_type = "ConflictException"


class RequestTimeoutException(AgentVaultError):
    error_type = "RequestTimeoutException"


class ThrottlingException(AgentVaultError):
    error_type = "ThrottlingException"


class InternalServerException(AgentVaultError):
    error_type = "InternalServerException"


class OperationNotSupportedError(ValidationException):
    """The appliance does not have this operation yet (it answered
    `ValidationException: unknown operation`).  A ValidationException, so
    that code written for AgentCore still catches it."""

    def __init__(self, operation, feature, status=None, request_id=None):
        super().__init__(
            "this appliance does not support %s yet: %s is not in its API "
            "(docs/api.md, section 12, lists the planned operations)"
            % (feature, operation), status=status, request_id=request_id,
            operation=operation)
        self.feature = feature


_BY_NAME = {c.error_type: c for c in (
    ValidationException, DecryptionFailure, EncryptionFailure,
    UnauthorizedException, ServiceQuotaExceededException,
    AccessDeniedException, ResourceNotFoundException, ConflictException,
    RequestTimeoutException, ThrottlingException, InternalServerException)}


def error_from_response(status, doc, request_id=None, operation=None):
    """The exception for an error reply: the class named by `__type`, or
    AgentVaultError (with that error_type) for a name this SDK does not
    know."""
    doc = doc if isinstance(doc, dict) else {}
    name = doc.get("__type")
    if not isinstance(name, str) or not name:
        name = "InternalServerException" if status >= 500 else \
            "UnknownError"
    # AWS services may send "namespace#Name" or "Name:detail".
    name = name.rsplit("#", 1)[-1].split(":", 1)[0]
    message = doc.get("message", doc.get("Message"))
    if not isinstance(message, str):
        message = "HTTP status %d" % status
    cls = _BY_NAME.get(name, AgentVaultError)
    return cls(message, error_type=name, status=status,
               request_id=request_id, operation=operation)


class TransportError(Exception):
    """No answer could be exchanged with the appliance."""

    def __init__(self, message, endpoint=None):
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint


class TLSVerificationError(TransportError):
    """The appliance's certificate was not trusted (wrong CA, wrong name)."""


class ProtocolError(TransportError):
    """The reply was not HTTP/1.1 this client accepts (or too large)."""


class TransportTimeout(TransportError):
    """The appliance did not answer within the timeout."""


class ConfigurationError(ValueError):
    """The SDK's configuration is unusable (no CA file, a bad endpoint)."""


class MissingWorkloadAccessTokenError(RuntimeError):
    """No workload access token could be found or obtained.  The message
    says where the SDK looked and how to fix it."""


class AuthorizationTimeoutError(TimeoutError):
    """The user did not complete the OAuth consent before the deadline."""


class AuthorizationFailedError(RuntimeError):
    """The appliance reports the OAuth consent session as FAILED."""
