"""Content-Type checks for image requests whose body is not plain JSON (415 otherwise)."""
import flask
from werkzeug import exceptions as http_exc


def require(media_type, purpose):
    """415 unless the request body is ``media_type``; ``purpose`` says what it is for."""
    if flask.request.mimetype != media_type:
        raise http_exc.UnsupportedMediaType(
            f"Unsupported Content-Type {flask.request.mimetype or '(none)'}: {purpose} "
            f"needs a {media_type} body.")
