"""User names that can also be OS account names.

In the container deployments each student's Dask processes run as an OS
account named like them, so the hub only admits names useradd accepts.
"""

from __future__ import annotations

import re

#: Lowercase letters, digits, '-' and '_', starting with a letter or '_', 32 at most.
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
