"""Image rows changed by services other than the Image API."""
from sqlalchemy import update

from nova_lite.db import models


def discard_failed_snapshot(session, image_id):
    """A snapshot whose upload failed: the image never became usable, so it
    goes away (as Nova deletes the image of a failed snapshot)."""
    session.execute(update(models.Image)
                    .where(models.Image.id == image_id, models.Image.status != "active")
                    .values(status="deleted", deleted=True, updated_at=models.utcnow())
                    .execution_options(synchronize_session=False))
