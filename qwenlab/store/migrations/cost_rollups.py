"""Migrations m013 to m015 and m017: the cost rollups, kept exact by triggers.

`cost_rollups` (spend and counts per everything a cost summary groups by), `cost_settings` (each
setting's first task), `cost_image_prices` (images per model, price, cost and day) and
`cost_scores` (rated images per rollup key and score), each filled for what is logged and kept
by triggers on tasks, images and ratings; the SQL that builds them, which the cost queries share
(ROLLUP_KEYS, SCORE_KEYS, FIRST_TASK_SQL), and `fill_cost_rollups`, what the tests compare the
triggers with. m017 sums apart the costs that are qwenlab's estimate rather than the API's number
(cost_source 'estimate'). Run once each by `qwenlab.store.migrations.runner`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["ROLLUP_KEYS", "ROLLUP_SUMS", "ESTIMATED_CHARGE_SUMS", "SCORE_KEYS", "FIRST_TASK_SQL", "fill_cost_rollups",
           "m013_cost_rollups", "m014_image_prices_by_day", "m015_cost_scores", "m017_cost_sources"]


# -- m013: cost rollups ------------------------------------------------------------------------------
# What every cost summary groups by, per task and per earlier failed attempt (history_json), as
# SQL over a task row `x` (NEW or OLD in a trigger). Key columns are NOT NULL (sentinels -1 / '')
# so that the upsert finds its row; readers turn them back into NULL (qwenlab.costs.sql, qwenlab.costs.prices).
# the per-image price recorded at send time (qwenlab.costs.sql.PRICE_SQL), and money as integer
# units of 1e-10 USD (-1: none)
_PRICE = "round(coalesce({t}.price_usd, {t}.estimated_cost_usd / max(coalesce({t}.number_results, 1), 1)), 6)"
_UNITS = "ifnull(CAST(round(({v}) * 1e10) AS INTEGER), -1)"
_SETTING = "CASE WHEN json_valid({x}.cell_json) THEN json_remove({x}.cell_json, '$.repeat') ELSE ifnull({x}.cell_json, '') END"
_KEY = ("ifnull({x}.experiment_id, -1), " + _SETTING + ", ifnull(substr(coalesce({done}, {sent}, {x}.created_at), 1, 10), ''), "
        "ifnull({x}.model, ''), ifnull({x}.width, -1), ifnull({x}.height, -1), ifnull({status}, ''), ifnull({backend}, ''), {retried}, "
        + _UNITS.format(v=_PRICE.format(t="{x}")))
# money as integer units of 1e-10 USD: adding and subtracting integers is exact, so a total kept
# up to date through a million updates is the total of the rows, never off by float drift
_E10 = "ifnull(CAST(round(({v}) * 1e10) AS INTEGER), 0)"
ROLLUP_KEYS = ("experiment_id", "setting", "day", "model", "width", "height", "status", "backend", "retried", "price_e10")
# the sums as m013 made them; m017 adds ESTIMATED_CHARGE_SUMS (ROLLUP_SUMS: all of them)
_M013_SUMS = ("tasks", "images", "reported_e10", "reported_estimate_e10", "unreported_estimate_e10")
# a charge the API did not report (a task whose images were made, none downloaded, no cost in the
# answer: cost_usd holds qwenlab's estimate, cost_source 'estimate'): its cost, and its estimate
ESTIMATED_CHARGE_SUMS = ("estimated_charge_e10", "estimated_charge_estimate_e10")
ROLLUP_SUMS = (*_M013_SUMS, *ESTIMATED_CHARGE_SUMS)


def _rollup_rows(x: str, sign: str, *, images: str | None = None, task_from: str = "", sources: bool = True) -> str:
    """SELECT of what task row `x` adds to the rollups (sign '1') or takes away ('-1'): the task
    itself, with its images, and each earlier failed attempt kept in its history_json. In a
    trigger `x` is NEW or OLD; `task_from` (" FROM tasks t ...") makes it every task.

    sources (m017): a cost whose source is qwenlab's estimate ('estimate') is summed apart, in
    ESTIMATED_CHARGE_SUMS, not in reported_e10; without (m013's triggers) every cost is reported."""
    task_key = _KEY.format(x=x, done=f"{x}.completed_at", sent=f"{x}.sent_at", status=f"{x}.status", backend=f"{x}.backend",
                           retried="0")
    images = images or f"(SELECT count(*) FROM images WHERE task_id = {x}.id)"
    task = (f"SELECT {task_key}, {sign}, {sign} * {images}, "
            f"{_money(sign, f'{x}.cost_usd', f'{x}.estimated_cost_usd', f'{x}.cost_source' if sources else None)}{task_from}")
    hj = "json_extract(h.value, '$.{}')"
    history_key = _KEY.format(x=x, done=hj.format("completed_at"), sent=hj.format("sent_at"), status=hj.format("status"),
                              backend=hj.format("backend"), retried="1")
    each = f"json_each(CASE WHEN json_valid({x}.history_json) THEN {x}.history_json END) h"
    history = (f"SELECT {history_key}, {sign}, 0, "
               f"{_money(sign, hj.format('cost_usd'), f'{x}.estimated_cost_usd', hj.format('cost_source') if sources else None)} "
               + (f"FROM tasks {x}, {each} WHERE {x}.history_json IS NOT NULL" if task_from else f"FROM {each}"))
    return f"{task} UNION ALL {history}"


def _money(sign: str, cost: str, est: str, source: str | None) -> str:
    """The money columns of one request (cost `cost`, estimate `est`): reported_e10,
    reported_estimate_e10, unreported_estimate_e10, and with `source` (m017) the two
    ESTIMATED_CHARGE_SUMS, where a cost of source 'estimate' goes instead of the reported ones."""
    reported = f"{cost} IS NOT NULL" + (f" AND {source} IS NOT 'estimate'" if source else "")
    parts = [f"CASE WHEN {reported} THEN {_E10.format(v=cost)} ELSE 0 END",
             f"CASE WHEN {reported} THEN {_E10.format(v=est)} ELSE 0 END",
             f"CASE WHEN {cost} IS NULL THEN {_E10.format(v=est)} ELSE 0 END"]
    if source:
        charged = f"{cost} IS NOT NULL AND {source} IS 'estimate'"
        parts += [f"CASE WHEN {charged} THEN {_E10.format(v=cost)} ELSE 0 END",
                  f"CASE WHEN {charged} THEN {_E10.format(v=est)} ELSE 0 END"]
    return ", ".join(f"{sign} * ({p})" for p in parts)


def _upsert(select: str, sums: tuple[str, ...] = _M013_SUMS) -> str:
    keys, names = ", ".join(ROLLUP_KEYS), ", ".join(sums)
    adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in sums)
    return (f"INSERT INTO cost_rollups ({keys}, {names}) SELECT * FROM ({select}) WHERE true "
            f"ON CONFLICT ({keys}) DO UPDATE SET {adds};")


def _image_count(task_id: str, sign: str) -> str:
    """What an image of task `task_id` adds to (or takes from) its task's rollup row."""
    key = _KEY.format(x="t", done="t.completed_at", sent="t.sent_at", status="t.status", backend="t.backend", retried="0")
    return _upsert(f"SELECT {key}, 0, {sign}, 0, 0, 0 FROM tasks t WHERE t.id = {task_id}")


def _first_task(x: str, when: str = "1") -> str:
    """Task `x` left its setting (`when`): if it was the setting's first task, the first is not
    known any more (NULL): readers find it among the tasks (FIRST_TASK_SQL). Finding it here
    would scan the experiment's tasks once per task when a whole experiment is deleted."""
    return (f"UPDATE cost_settings SET first_task_id = NULL WHERE experiment_id = ifnull({x}.experiment_id, -1) "
            f"AND setting = ({_SETTING.format(x=x)}) AND first_task_id = {x}.id AND ({when});")


def _setting_seen(x: str, when: str = "1") -> str:
    # a setting whose first task is not known stays so (an older task of it may still be there)
    return (f"INSERT INTO cost_settings (experiment_id, setting, first_task_id) SELECT ifnull({x}.experiment_id, -1), "
            f"{_SETTING.format(x=x)}, {x}.id WHERE ({when}) ON CONFLICT (experiment_id, setting) DO UPDATE SET "
            "first_task_id = CASE WHEN first_task_id IS NULL THEN NULL ELSE min(first_task_id, excluded.first_task_id) END;")


# the first task of a setting of `cost_settings s`, where the rollups no longer know it
FIRST_TASK_SQL = ("coalesce(s.first_task_id, (SELECT min(t.id) FROM tasks t WHERE t.experiment_id IS nullif(s.experiment_id, -1) "
                  f"AND ({_SETTING.format(x='t')}) = s.setting))")


# Images per (experiment, model, recorded per-image price, the API's cost of the image; and since
# m014 the day of its request), what Costs.price_changes() compares; money in 1e-10 USD units, -1
# for none.
# the day of a request, as cost_rollups keys it (_KEY), of task row `t`
_DAY = "ifnull(substr(coalesce({t}.completed_at, {t}.sent_at, {t}.created_at), 1, 10), '')"
_PRICED = ("estimated_cost_usd", "price_usd", "number_results", "model", "experiment_id")


def _image_prices(t: str, i: str, sign: str, images_from: str = "", *, by_day: bool = False) -> str:
    """Upsert of what the images `i` of task `t` add to (sign '1') or take from ('-1') cost_image_prices;
    by_day: with the day of the task's request in the key, as m014 keeps them (m013 did not)."""
    columns = ["experiment_id", "model", "price_e10", "cost_e10", *(["day"] if by_day else [])]
    key = ", ".join([f"ifnull({t}.experiment_id, -1)", f"ifnull({t}.model, '')", _UNITS.format(v=_PRICE.format(t=t)),
                     _UNITS.format(v=f"{i}.cost_usd"), *([_DAY.format(t=t)] if by_day else [])])
    groups = ", ".join(str(n + 1) for n in range(len(columns)))
    select = f"SELECT {key}, {sign} * count(*) {images_from} GROUP BY {groups}" if images_from else f"SELECT {key}, {sign}"
    return (f"INSERT INTO cost_image_prices ({', '.join(columns)}, images) SELECT * FROM ({select}) "
            f"WHERE true ON CONFLICT ({', '.join(columns)}) DO UPDATE SET images = images + excluded.images;")


_ROLLED = ("experiment_id", "cell_json", "completed_at", "sent_at", "created_at", "model", "width", "height", "status",
           "backend", "cost_usd", "estimated_cost_usd", "price_usd", "number_results", "history_json")


def fill_cost_rollups(db: sqlite_utils.Database) -> None:
    """Sum every task of the log into the (empty) rollup tables, as the latest migrations shape
    them: what the tests compare the trigger-kept rollups with."""
    _fill_rollups_and_settings(db, sources=True)
    db.execute(_image_prices_by_day("t", "i", "1", "FROM images i JOIN tasks t ON t.id = i.task_id"))
    db.execute(_fill_scores())


def _fill_rollups_and_settings(db: sqlite_utils.Database, *, sources: bool) -> None:
    sums = ROLLUP_SUMS if sources else _M013_SUMS
    names, sums_of = ", ".join(ROLLUP_KEYS), ", ".join(f"sum({c})" for c in sums)
    every = _rollup_rows("t", "1", images="ifnull(i.n, 0)", task_from=(
        " FROM tasks t LEFT JOIN (SELECT task_id, count(*) AS n FROM images GROUP BY task_id) i ON i.task_id = t.id"),
        sources=sources)
    db.execute(f"INSERT INTO cost_rollups ({names}, {', '.join(sums)}) SELECT {names}, {sums_of} FROM "
               f"(SELECT 1 AS {', 1 AS '.join(ROLLUP_KEYS + sums)} WHERE 0 UNION ALL {every}) GROUP BY {names}")
    db.execute(f"INSERT INTO cost_settings (experiment_id, setting, first_task_id) SELECT ifnull(t.experiment_id, -1), "
               f"{_SETTING.format(x='t')}, min(t.id) FROM tasks t GROUP BY 1, 2")


def _task_triggers(*, sources: bool) -> list[str]:
    """The triggers that keep cost_rollups and cost_settings exact on every insert, delete and
    update of a task: m013's (`sources` False: every cost counted as reported), and m017's."""
    rolled = (*_ROLLED, "cost_source") if sources else _ROLLED
    sums = ROLLUP_SUMS if sources else _M013_SUMS
    changed = " OR ".join(f"old.[{c}] IS NOT new.[{c}]" for c in rolled)
    moved = "old.experiment_id IS NOT new.experiment_id OR old.cell_json IS NOT new.cell_json"  # left its setting

    def rows(x: str, sign: str) -> str:
        return _upsert(_rollup_rows(x, sign, sources=sources), sums)
    return [
        f"CREATE TRIGGER cost_rollups_task_insert AFTER INSERT ON tasks BEGIN {rows('new', '1')} {_setting_seen('new')} END",
        f"CREATE TRIGGER cost_rollups_task_delete AFTER DELETE ON tasks BEGIN {rows('old', '-1')} {_first_task('old')} END",
        f"CREATE TRIGGER cost_rollups_task_update AFTER UPDATE OF {', '.join(f'[{c}]' for c in rolled)} ON tasks "
        f"WHEN {changed} BEGIN {rows('old', '-1')} {rows('new', '1')} "
        f"{_setting_seen('new', 'new.id IS NOT old.id OR ' + moved)} {_first_task('old', 'new.id IS NOT old.id OR ' + moved)} END",
    ]


def m013_cost_rollups(db: sqlite_utils.Database) -> None:
    # A million-task log summed in under 2 s (issue 13): `cost_rollups` holds the spend and counts
    # of the tasks per everything a cost summary groups by (experiment, setting = cell minus its
    # repeat, day, model, size, status, backend; retried = an earlier failed attempt from
    # history_json), kept exact by triggers on every insert, update and delete of a task or an
    # image, so a summary reads some thousands of rollup rows instead of every task.
    # `cost_settings` keeps each setting's first task id (the order by("setting") lists them in).
    # Both are filled here for the tasks already logged.
    keys = ", ".join(f"{c} {'INTEGER' if c in ('experiment_id', 'width', 'height', 'retried', 'price_e10') else 'TEXT'} NOT NULL"
                     for c in ROLLUP_KEYS)
    sums = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in _M013_SUMS)
    db.execute(f"CREATE TABLE cost_rollups ({keys}, {sums}, PRIMARY KEY ({', '.join(ROLLUP_KEYS)}))")
    db.execute("CREATE TABLE cost_image_prices (experiment_id INTEGER NOT NULL, model TEXT NOT NULL, price_e10 INTEGER NOT NULL, "
               "cost_e10 INTEGER NOT NULL, images INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (experiment_id, model, price_e10, cost_e10))")
    # the first and last request at each recorded price (price_changes), found by a seek each
    db.execute(f"CREATE INDEX idx_tasks_price_times ON tasks (model, {_PRICE.replace('{t}.', '')}, "
               "coalesce(completed_at, sent_at, created_at)) WHERE status != 'pending'")
    db.execute("CREATE TABLE cost_settings (experiment_id INTEGER NOT NULL, setting TEXT NOT NULL, first_task_id INTEGER, "
               "PRIMARY KEY (experiment_id, setting))")
    _fill_rollups_and_settings(db, sources=False)
    db.execute(_image_prices("t", "i", "1", "FROM images i JOIN tasks t ON t.id = i.task_id"))
    statements = [
        *_task_triggers(sources=False),
        f"CREATE TRIGGER cost_rollups_image_insert AFTER INSERT ON images BEGIN {_image_count('new.task_id', '1')} "
        f"{_image_prices('t', 'new', '1', 'FROM tasks t WHERE t.id = new.task_id')} END",
        f"CREATE TRIGGER cost_rollups_image_delete AFTER DELETE ON images BEGIN {_image_count('old.task_id', '-1')} "
        f"{_image_prices('t', 'old', '-1', 'FROM tasks t WHERE t.id = old.task_id')} END",
        f"CREATE TRIGGER cost_rollups_image_update AFTER UPDATE OF task_id, cost_usd ON images WHEN old.task_id IS NOT new.task_id "
        f"OR old.cost_usd IS NOT new.cost_usd BEGIN {_image_count('old.task_id', '-1')} {_image_count('new.task_id', '1')} "
        f"{_image_prices('t', 'old', '-1', 'FROM tasks t WHERE t.id = old.task_id')} "
        f"{_image_prices('t', 'new', '1', 'FROM tasks t WHERE t.id = new.task_id')} END",
        f"CREATE TRIGGER cost_image_prices_task_insert AFTER INSERT ON tasks BEGIN "
        f"{_image_prices('new', 'i', '1', 'FROM images i WHERE i.task_id = new.id')} END",
        f"CREATE TRIGGER cost_image_prices_task_delete AFTER DELETE ON tasks BEGIN "
        f"{_image_prices('old', 'i', '-1', 'FROM images i WHERE i.task_id = old.id')} END",
        f"CREATE TRIGGER cost_image_prices_task_update AFTER UPDATE OF {', '.join(_PRICED)} ON tasks WHEN "
        + " OR ".join(f"old.[{c}] IS NOT new.[{c}]" for c in _PRICED)
        + f" BEGIN {_image_prices('old', 'i', '-1', 'FROM images i WHERE i.task_id = old.id')} "
        f"{_image_prices('new', 'i', '1', 'FROM images i WHERE i.task_id = new.id')} END",
    ]
    for sql in statements:
        db.execute(sql)



# -- m014: image prices per day ----------------------------------------------------------------------
def _image_prices_by_day(t: str, i: str, sign: str, images_from: str = "") -> str:
    return _image_prices(t, i, sign, images_from, by_day=True)


def m014_image_prices_by_day(db: sqlite_utils.Database) -> None:
    # price_changes() of a window of whole days (`qwenlab costs --since 7d`) read every image and
    # its task: 4.6 s on a 1,000,000-task log. cost_image_prices now keeps the images per day too,
    # the day cost_rollups gives their request, so a window of days reads the rollups. The table
    # and the triggers that keep it are made again (the image triggers keep m013's counts as they
    # were); a task whose times move it to another day moves its images with it.
    for name in ("cost_rollups_image_insert", "cost_rollups_image_delete", "cost_rollups_image_update",
                 "cost_image_prices_task_insert", "cost_image_prices_task_delete", "cost_image_prices_task_update"):
        db.execute(f"DROP TRIGGER IF EXISTS [{name}]")
    db.execute("DROP TABLE IF EXISTS cost_image_prices")
    db.execute("CREATE TABLE cost_image_prices (experiment_id INTEGER NOT NULL, model TEXT NOT NULL, price_e10 INTEGER NOT NULL, "
               "cost_e10 INTEGER NOT NULL, day TEXT NOT NULL, images INTEGER NOT NULL DEFAULT 0, "
               "PRIMARY KEY (experiment_id, model, price_e10, cost_e10, day))")
    db.execute(_image_prices_by_day("t", "i", "1", "FROM images i JOIN tasks t ON t.id = i.task_id"))
    moved = " OR ".join([*(f"old.[{c}] IS NOT new.[{c}]" for c in _PRICED), f"{_DAY.format(t='old')} IS NOT {_DAY.format(t='new')}"])
    times = ("completed_at", "sent_at", "created_at")
    statements = [
        f"CREATE TRIGGER cost_rollups_image_insert AFTER INSERT ON images BEGIN {_image_count('new.task_id', '1')} "
        f"{_image_prices_by_day('t', 'new', '1', 'FROM tasks t WHERE t.id = new.task_id')} END",
        f"CREATE TRIGGER cost_rollups_image_delete AFTER DELETE ON images BEGIN {_image_count('old.task_id', '-1')} "
        f"{_image_prices_by_day('t', 'old', '-1', 'FROM tasks t WHERE t.id = old.task_id')} END",
        f"CREATE TRIGGER cost_rollups_image_update AFTER UPDATE OF task_id, cost_usd ON images WHEN old.task_id IS NOT new.task_id "
        f"OR old.cost_usd IS NOT new.cost_usd BEGIN {_image_count('old.task_id', '-1')} {_image_count('new.task_id', '1')} "
        f"{_image_prices_by_day('t', 'old', '-1', 'FROM tasks t WHERE t.id = old.task_id')} "
        f"{_image_prices_by_day('t', 'new', '1', 'FROM tasks t WHERE t.id = new.task_id')} END",
        f"CREATE TRIGGER cost_image_prices_task_insert AFTER INSERT ON tasks BEGIN "
        f"{_image_prices_by_day('new', 'i', '1', 'FROM images i WHERE i.task_id = new.id')} END",
        f"CREATE TRIGGER cost_image_prices_task_delete AFTER DELETE ON tasks BEGIN "
        f"{_image_prices_by_day('old', 'i', '-1', 'FROM images i WHERE i.task_id = old.id')} END",
        f"CREATE TRIGGER cost_image_prices_task_update AFTER UPDATE OF {', '.join([*_PRICED, *times])} ON tasks WHEN {moved} "
        f"BEGIN {_image_prices_by_day('old', 'i', '-1', 'FROM images i WHERE i.task_id = old.id')} "
        f"{_image_prices_by_day('new', 'i', '1', 'FROM images i WHERE i.task_id = new.id')} END",
    ]
    for sql in statements:
        db.execute(sql)


# -- m015: the latest scores -------------------------------------------------------------------------
# The rated images per rollup key and score: each image counted once, at its latest rating with a
# score, under its task's key as cost_rollups keys the task (experiment, setting, day, model, size,
# status, backend). What Costs.per_kept_image() reads instead of every rated image and its task.
SCORE_KEYS = ("experiment_id", "setting", "day", "model", "width", "height", "status", "backend", "score")
_SCORE_KEY = (f"ifnull(t.experiment_id, -1), {_SETTING.format(x='t')}, {_DAY.format(t='t')}, ifnull(t.model, ''), "
              "ifnull(t.width, -1), ifnull(t.height, -1), ifnull(t.status, ''), ifnull(t.backend, ''), r.score")
_LATEST_SCORE = "(SELECT max(r2.id) FROM ratings r2 WHERE r2.image_id = i.id AND r2.score IS NOT NULL)"
_SCORE_GROUPS = ", ".join(str(n + 1) for n in range(len(SCORE_KEYS)))
# the columns of a task its images' place in cost_scores follows
_SCORED = ("id", "experiment_id", "cell_json", "completed_at", "sent_at", "created_at", "model", "width", "height", "status", "backend")


def _scores(sign: str, where: str, *, without_rating: str | None = None) -> str:
    """Upsert of what the images `i` matching `where` count in cost_scores as the log is now
    (sign '1'), or take away ('-1'); `without_rating`: as it was before the rating of that id.
    A trigger takes an image's count away BEFORE a change to it or its task, and adds it back
    AFTER: whatever the change, the image leaves its old place and lands in its new one, each
    found by the same query. (An UPDATE OR IGNORE that ignores a row would fire the first
    alone; qwenlab makes none.)"""
    latest = _LATEST_SCORE if without_rating is None else _LATEST_SCORE.replace(
        "r2.score IS NOT NULL", f"r2.score IS NOT NULL AND r2.id IS NOT {without_rating}")
    select = (f"SELECT {_SCORE_KEY}, {sign} * count(*) FROM images i JOIN tasks t ON t.id = i.task_id "
              f"JOIN ratings r ON r.id = {latest} WHERE {where} GROUP BY {_SCORE_GROUPS}")
    keys = ", ".join(SCORE_KEYS)
    return (f"INSERT INTO cost_scores ({keys}, images) SELECT * FROM ({select}) WHERE true "
            f"ON CONFLICT ({keys}) DO UPDATE SET images = images + excluded.images;")


def _rated_image(image_id: str) -> str:
    return f"EXISTS (SELECT 1 FROM ratings r WHERE r.image_id = {image_id} AND r.score IS NOT NULL)"


def _rated_task(task_id: str) -> str:
    return (f"EXISTS (SELECT 1 FROM images i JOIN ratings r ON r.image_id = i.id WHERE i.task_id = {task_id} "
            "AND r.score IS NOT NULL)")


def _fill_scores() -> str:
    keys = ", ".join(SCORE_KEYS)
    return (f"INSERT INTO cost_scores ({keys}, images) SELECT {_SCORE_KEY}, count(*) FROM "
            "(SELECT image_id, max(id) AS id FROM ratings WHERE score IS NOT NULL GROUP BY image_id) latest "
            "JOIN ratings r ON r.id = latest.id JOIN images i ON i.id = latest.image_id JOIN tasks t ON t.id = i.task_id "
            f"GROUP BY {_SCORE_GROUPS}")


def m015_cost_scores(db: sqlite_utils.Database) -> None:
    # per_kept_image() by an axis read each rated image's latest rating, its image and its task:
    # 2 s cold on a 1,000,000-task log with 307,670 ratings (issue 13). cost_scores counts them
    # per rollup key and score, kept exact by triggers on ratings, images and tasks, and filled
    # here for what is already rated. score has no type: it keeps what the rating holds.
    keys = ", ".join(f"{c} {'INTEGER' if c in ('experiment_id', 'width', 'height') else '' if c == 'score' else 'TEXT'} NOT NULL"
                     for c in SCORE_KEYS)
    db.execute(f"CREATE TABLE cost_scores ({keys}, images INTEGER NOT NULL DEFAULT 0, PRIMARY KEY ({', '.join(SCORE_KEYS)}))")
    db.execute(_fill_scores())
    rated = "old.id IS NOT new.id OR old.image_id IS NOT new.image_id OR old.score IS NOT new.score"
    moved = " OR ".join([*(f"old.[{c}] IS NOT new.[{c}]" for c in _SCORED if c not in ("completed_at", "sent_at", "created_at")),
                         f"{_DAY.format(t='old')} IS NOT {_DAY.format(t='new')}"])
    scored = ", ".join(f"[{c}]" for c in _SCORED)
    both = "i.id IN (old.image_id, new.image_id)"
    refiled = "old.id IS NOT new.id OR old.task_id IS NOT new.task_id"
    statements = [
        # a rating without a score changes no image's latest score. A new rating's image leaves
        # its place as it was without it, all AFTER the insert: an INSERT OR IGNORE (a bundle's
        # import) that ignores the row fires no trigger at all
        f"CREATE TRIGGER cost_scores_rating_insert AFTER INSERT ON ratings WHEN new.score IS NOT NULL "
        f"BEGIN {_scores('-1', 'i.id = new.image_id', without_rating='new.id')} {_scores('1', 'i.id = new.image_id')} END",
        f"CREATE TRIGGER cost_scores_rating_delete_before BEFORE DELETE ON ratings WHEN old.score IS NOT NULL "
        f"BEGIN {_scores('-1', 'i.id = old.image_id')} END",
        f"CREATE TRIGGER cost_scores_rating_delete AFTER DELETE ON ratings WHEN old.score IS NOT NULL "
        f"BEGIN {_scores('1', 'i.id = old.image_id')} END",
        f"CREATE TRIGGER cost_scores_rating_update_before BEFORE UPDATE OF id, image_id, score ON ratings WHEN {rated} "
        f"BEGIN {_scores('-1', both)} END",
        f"CREATE TRIGGER cost_scores_rating_update AFTER UPDATE OF id, image_id, score ON ratings WHEN {rated} "
        f"BEGIN {_scores('1', both)} END",
        # an image without a scored rating, a task without one among its images, counts nowhere:
        # checked first, as most are (a sweep's new images, an experiment deleted ratings first)
        f"CREATE TRIGGER cost_scores_image_insert AFTER INSERT ON images WHEN {_rated_image('new.id')} "
        f"BEGIN {_scores('1', 'i.id = new.id')} END",
        f"CREATE TRIGGER cost_scores_image_delete BEFORE DELETE ON images WHEN {_rated_image('old.id')} "
        f"BEGIN {_scores('-1', 'i.id = old.id')} END",
        f"CREATE TRIGGER cost_scores_image_update_before BEFORE UPDATE OF id, task_id ON images WHEN ({refiled}) "
        f"AND {_rated_image('old.id')} BEGIN {_scores('-1', 'i.id = old.id')} END",
        f"CREATE TRIGGER cost_scores_image_update AFTER UPDATE OF id, task_id ON images WHEN ({refiled}) "
        f"AND {_rated_image('new.id')} BEGIN {_scores('1', 'i.id = new.id')} END",
        f"CREATE TRIGGER cost_scores_task_insert AFTER INSERT ON tasks WHEN {_rated_task('new.id')} "
        f"BEGIN {_scores('1', 'i.task_id = new.id')} END",
        f"CREATE TRIGGER cost_scores_task_delete BEFORE DELETE ON tasks WHEN {_rated_task('old.id')} "
        f"BEGIN {_scores('-1', 'i.task_id = old.id')} END",
        f"CREATE TRIGGER cost_scores_task_update_before BEFORE UPDATE OF {scored} ON tasks WHEN ({moved}) "
        f"AND {_rated_task('old.id')} BEGIN {_scores('-1', 'i.task_id = old.id')} END",
        f"CREATE TRIGGER cost_scores_task_update AFTER UPDATE OF {scored} ON tasks WHEN ({moved}) "
        f"AND {_rated_task('new.id')} BEGIN {_scores('1', 'i.task_id = new.id')} END",
    ]
    for sql in statements:
        db.execute(sql)


# -- m017: the sources of costs --------------------------------------------------------------------
# the cost index of m007, with the source of each cost after its columns
_COST_INDEX = ("CREATE INDEX idx_tasks_costs ON tasks (experiment_id, status, model, width, height, price_usd, "
               "estimated_cost_usd, cost_usd, number_results, completed_at, sent_at, created_at, backend, cost_source)")


def m017_cost_sources(db: sqlite_utils.Database) -> None:
    # A task whose images were made (so paid for) and none downloaded, with no cost in the API's
    # answer (includeCost off), is logged failed with qwenlab's estimate in cost_usd and
    # cost_source 'estimate'. The summaries took every cost_usd for the API's: that estimate was
    # "reported by the API" and "charged by the API". They now read cost_source, so:
    # - the cost index (m005, m007) is made again with cost_source after its columns, or every
    #   summary that sums the tasks (timeline(), a bound inside a day) would read the wide rows;
    # - cost_rollups sums such a cost apart (estimated_charge_e10, with its estimate in
    #   estimated_charge_estimate_e10): the tasks already logged have their money moved there
    #   from reported_e10 and reported_estimate_e10, and the task triggers are made again to do
    #   so. No row of the log changes. An earlier attempt kept in history_json by an older
    #   qwenlab has no cost_source: its cost stays counted as reported (it cannot be told apart).
    for name in ("cost_rollups_task_insert", "cost_rollups_task_delete", "cost_rollups_task_update"):
        db.execute(f"DROP TRIGGER IF EXISTS [{name}]")
    db.execute("DROP INDEX IF EXISTS idx_tasks_costs")
    db.execute(_COST_INDEX)
    for column in ESTIMATED_CHARGE_SUMS:
        db.execute(f"ALTER TABLE cost_rollups ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    key = _KEY.format(x="t", done="t.completed_at", sent="t.sent_at", status="t.status", backend="t.backend", retried="0")
    cost, est = _E10.format(v="t.cost_usd"), _E10.format(v="t.estimated_cost_usd")
    db.execute(_upsert(f"SELECT {key}, 0, 0, -{cost}, -{est}, 0, {cost}, {est} FROM tasks t "
                       "WHERE t.cost_usd IS NOT NULL AND t.cost_source IS 'estimate'", ROLLUP_SUMS))
    for sql in _task_triggers(sources=True):
        db.execute(sql)
