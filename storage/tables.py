"""Every mapped table, imported so the metadata is complete (Alembic, tests).

A feature module that defines tables adds its import here.
"""

from storage import (  # noqa: F401 - imported for their tables
    audit,
    corrections,
    logins,
    models,
    notifications,
    payroll,
    tasks,
    uploads,
)
from storage.models import Base

metadata = Base.metadata
