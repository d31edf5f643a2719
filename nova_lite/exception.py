"""Errors that cross layers. Each maps to one HTTP status and OpenStack fault name,
so the API's error middleware turns any of them into the right error body."""


class NovaLiteError(Exception):
    code = 500
    message = "An unexpected error occurred."

    def __init__(self, message=None, **kwargs):
        self.message = (message or self.message) % kwargs if kwargs else (message or self.message)
        super().__init__(self.message)


class Invalid(NovaLiteError):
    code = 400
    message = "Invalid input."


class NotAuthenticated(NovaLiteError):
    code = 401
    message = "The request you have made requires authentication."


class Forbidden(NovaLiteError):
    code = 403
    message = "Policy doesn't allow this operation to be performed."


class NotFound(NovaLiteError):
    code = 404
    message = "Resource could not be found."


class NotAcceptable(NovaLiteError):
    code = 406
    message = "Not acceptable."


class Conflict(NovaLiteError):
    code = 409
    message = "There was a conflict when trying to complete your request."


class RequestTooLarge(NovaLiteError):
    code = 413
    message = "Request is too large."


class URITooLong(NovaLiteError):
    code = 414
    message = "The request URI is too long."


class HeadersTooLarge(NovaLiteError):
    code = 431
    message = "The request's header fields are too large."


class ServiceUnavailable(NovaLiteError):
    code = 503
    message = "The service is temporarily unavailable."
