"""Who decides: the names a decision records as ``decidedBy`` besides a reviewer's own name.

Kept in one small module (no imports) so the adapter, the domain and the tests share them
without loading the domain on a cold start. ``statemachine.json`` spells the last three too.
"""

from __future__ import annotations

ADMIN = "admin"  # the bootstrap admin token
SIGNED_LINK = "signed-link"  # an approve/reject link
CONTENT_CHECK = "content-check"  # clean content, published by the check itself (the default outcome)
DEADLINE = "deadline"  # nobody decided in time (MarkExpired state)
WORKFLOW = "workflow"  # a task failed for good (MarkFailed state)
