"""Every mapped table, imported so the metadata is complete (Alembic, tests).

A feature module that defines tables adds its import here.
"""

from storage import models  # noqa: F401
from storage.models import Base

metadata = Base.metadata
