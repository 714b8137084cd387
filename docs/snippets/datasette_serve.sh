datasette serve --immutable docs.db --port 8001 --setting sql_time_limit_ms 5000 \
  --load-extension "$(python3 -c 'import sqlite_veclite; print(sqlite_veclite.loadable_path())')"
