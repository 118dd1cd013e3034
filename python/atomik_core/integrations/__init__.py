# SPDX-License-Identifier: Apache-2.0
"""Integrations of atomik_core's change detection with other software, each
importing its dependency only when used:

* redis_adapter.AtomikRedisCache: skip Redis writes of unchanged values
  (python3-redis, or any client with get/set).
* fastapi_middleware.AtomikMiddleware: ETag / 304 Not Modified for an ASGI
  app (FastAPI, Starlette) from the strong fingerprint of each response.
* sqlalchemy_listener.AtomikSessionTracker: tell really changed ORM objects
  from ones only marked dirty (python3-sqlalchemy).
"""

__all__ = ["fastapi_middleware", "redis_adapter", "sqlalchemy_listener"]
