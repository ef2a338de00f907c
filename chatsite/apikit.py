"""What every app's API endpoints share: the one error body, and the responses to declare so the
OpenAPI schema lists every answer an endpoint can give."""

from ninja import Schema


class ErrorDetail(Schema):
    code: str  # one of chatsite.errors.ErrorCode
    message: str  # a sentence fit to show the person
    field: str | None = None  # the input field at fault, when there is one


class ErrorOut(Schema):
    error: ErrorDetail


# The refusals any signed-in endpoint can give: bad input, no token, not allowed, not there (or
# not yours), invalid fields, rate limited.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}


def responses(ok, status: int = 200) -> dict:
    """``response=`` for an endpoint: its success schema and every refusal."""
    return {status: ok, **ERRORS}


def check_form(form) -> dict:
    """A bound Django form's cleaned data, or InvalidInput naming the first field at fault: the API
    validates with the same forms as the site, so a rule is written once."""
    from .errors import InvalidInput

    if form.is_valid():
        return form.cleaned_data
    field, errors = next(iter(form.errors.items()))
    first_error = str(errors[0])  # the form's own (translated) sentence
    raise InvalidInput(first_error, field=None if field == "__all__" else field)
