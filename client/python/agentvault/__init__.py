# SPDX-License-Identifier: Apache-2.0
"""Agent Vault's Python SDK: an IdentityClient for the appliance's API and
the decorators requires_api_key and requires_access_token, with the names
of AgentCore's Python SDK.  Standard library only.  docs/client.md."""
from . import context
from .auth import default_client, requires_access_token, requires_api_key
from .errors import (AccessDeniedException, AgentVaultError,
                     AuthorizationFailedError, AuthorizationTimeoutError,
                     ConfigurationError, ConflictException, DecryptionFailure,
                     EncryptionFailure, InternalServerException,
                     MissingWorkloadAccessTokenError,
                     OperationNotSupportedError, ProtocolError,
                     RequestTimeoutException, ResourceNotFoundException,
                     ServiceQuotaExceededException, ThrottlingException,
                     TLSVerificationError, TransportError, TransportTimeout,
                     UnauthorizedException, ValidationException)
from .identity import (DefaultTokenPoller, IdentityClient, TokenPoller,
                       UserIdIdentifier, UserTokenIdentifier)

__version__ = "0.1.0"

__all__ = [
    "context", "default_client", "requires_access_token",
    "requires_api_key", "IdentityClient", "TokenPoller",
    "DefaultTokenPoller", "UserIdIdentifier", "UserTokenIdentifier",
    "AgentVaultError", "ValidationException", "DecryptionFailure",
    "EncryptionFailure", "UnauthorizedException",
    "ServiceQuotaExceededException", "AccessDeniedException",
    "ResourceNotFoundException", "ConflictException",
    "RequestTimeoutException", "ThrottlingException",
    "InternalServerException", "OperationNotSupportedError",
    "TransportError", "TLSVerificationError", "ProtocolError",
    "TransportTimeout", "ConfigurationError",
    "MissingWorkloadAccessTokenError", "AuthorizationTimeoutError",
    "AuthorizationFailedError",
]
