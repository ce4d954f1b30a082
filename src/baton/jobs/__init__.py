"""Scale-out on PostgreSQL: advancing a run is a procrastinate job; `baton worker`s run them.

The API and the CLI enqueue (`queue.RunQueue`); workers on any host execute (`worker`).
SQLite homes keep the server's own worker threads (`api.worker`).
"""
