"""The log's schema, as small named migrations recorded in `_qwenlab_migrations`.

After simonw/llm's `migrations.py`: each migration is a function that takes a sqlite-utils
Database; they run in the order `runner.MIGRATIONS` lists them, each once, and their names are
recorded when applied. A change to the schema is a new function appended to that list, never an
edit of an old one (a database out there may have run it already).

    runner        the order, the table that records them, migrate()
    under_way     an upgrade under way in another process: its marker, and waiting for it
    log_tables    m001-m012: the log's own tables, their columns, indexes and prompt search
    cost_rollups  m013-m015, m017: the cost rollup tables kept exact by triggers, the costs that are estimates
                  summed apart, and the SQL the cost queries share
    key_ids       m016: which API key sent each task, by a name that does not hold the key
    former_names  m018: the names an experiment had before it was renamed
    stop_status   m019: the budget stops the first versions recorded as 'interrupted', read as budget stops
"""
