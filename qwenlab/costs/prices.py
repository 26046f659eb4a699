"""The prices in force: per model and per-image price recorded at send time, what the API charged.

`PriceQuery(view).prices()` is the frame behind `Costs.price_changes()`: the tasks per model and
price with the first and last of them, and the images the API reported a cost for, with how far
it was from the price. A view of the whole log reads its whole days from the rollups (m013,
m014) and the part of a day at either end from the tasks; a view of some experiments sums the
tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sql import AT_SQL, PRICE_SQL
from .view import CostView, ExperimentInView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PriceQuery", "PRICE_TOLERANCE_USD"]

# an API cost within this of the recorded price is the same price (float noise, not a change)
PRICE_TOLERANCE_USD = 1e-6


class PriceQuery:
    """The prices of one `Costs` view."""

    def __init__(self, view: CostView) -> None:
        self.view = view
        self.log = view.log

    def prices(self) -> "pd.DataFrame":
        import pandas as pd

        exps = self.view.experiments()
        if not self.view.filtered and self.view.rollups_answer([]):
            tasks, images = self._prices_split(exps)
        else:
            tasks, images = self._prices_from_tasks(exps)
        df = tasks.merge(images, on=["model", "price_usd"], how="left")
        for col in ("images", "api_images", "differing_images"):
            df[col] = df[col].fillna(0).astype(int)
        df["api_usd_per_image"] = (df.pop("api_image_usd") / df["api_images"].where(df["api_images"] > 0)).round(6)
        df["api_minus_price_usd"] = df["api_minus_price_usd"].fillna(0).round(6)
        # NaN where the API reported no image's cost, on every read (SQLite's NULL came as None from one)
        df[["api_min_usd", "api_max_usd"]] = df[["api_min_usd", "api_max_usd"]].astype(float)
        cols = ["model", "price_usd", "first_at", "last_at", "tasks", "images", "api_images", "api_usd_per_image",
                "api_min_usd", "api_max_usd", "differing_images", "api_minus_price_usd"]
        return df.sort_values(["model", "first_at"], kind="stable")[cols].reset_index(drop=True) if len(df) else pd.DataFrame(columns=cols)

    def _prices_split(self, exps: dict[int, ExperimentInView]) -> tuple["pd.DataFrame", "pd.DataFrame"]:
        """prices() of the whole log's view: its whole days from the rollups, the parts of a day at
        either end from the tasks (`CostView.day_split`), added up."""
        import pandas as pd

        days, edges = self.view.day_split()
        parts = [self._prices_from_rollups(days)] if days is not None else []
        if edges:
            near = self.view.edge_where(edges)
            parts += [self._prices_from_tasks(exps, edge, near) for edge in edges]
        if len(parts) == 1:
            return parts[0]
        key = ["model", "price_usd"]
        tasks = pd.concat([t for t, _ in parts], ignore_index=True).groupby(key, dropna=False, sort=False).agg(
            first_at=("first_at", "min"), last_at=("last_at", "max"), tasks=("tasks", "sum")).reset_index()
        sums = {c: "sum" for c in ("images", "api_images", "api_image_usd", "differing_images", "api_minus_price_usd")}
        images = pd.concat([i for _, i in parts], ignore_index=True).groupby(key, dropna=False, sort=False).agg(
            {**sums, "api_min_usd": "min", "api_max_usd": "max"}).reset_index()
        tasks = tasks[tasks["tasks"] != 0]
        return tasks, images[images["images"] != 0]

    def _prices_from_tasks(self, exps: dict[int, ExperimentInView], bounds: tuple[str | None, str | None] | None = None,
                           near: str | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
        """prices() summed over the tasks and their images, within `bounds` (default: the view's).
        near: a condition on the tasks' experiments (`CostView.edge_where`): the images are then found
        from their tasks, not the tasks from every image."""
        extra = [near] if near else []
        where, params = self.view.where(exps, ["t.status != 'pending'", *extra], bounds=bounds)
        tasks = self.log.frame(
            f"SELECT +t.model AS model, {PRICE_SQL} AS price_usd, min({AT_SQL}) AS first_at, max({AT_SQL}) AS last_at, "
            f"count(*) AS tasks FROM tasks t{where} GROUP BY 1, 2", params)
        where, params = self.view.where(exps, extra, bounds=bounds)
        joined = "tasks t CROSS JOIN images i ON i.task_id = t.id" if near else "images i JOIN tasks t ON t.id = i.task_id"
        images = self.log.frame(
            f"SELECT +t.model AS model, {PRICE_SQL} AS price_usd, count(*) AS images, count(i.cost_usd) AS api_images, "
            f"min(i.cost_usd) AS api_min_usd, max(i.cost_usd) AS api_max_usd, total(i.cost_usd) AS api_image_usd, "
            f"total(i.cost_usd IS NOT NULL AND abs(i.cost_usd - {PRICE_SQL}) > {PRICE_TOLERANCE_USD}) AS differing_images, "
            f"total(i.cost_usd - {PRICE_SQL}) AS api_minus_price_usd "
            f"FROM {joined}{where} GROUP BY 1, 2", params)
        return tasks, images

    def _prices_from_rollups(self, bounds: tuple[str | None, str | None]) -> tuple["pd.DataFrame", "pd.DataFrame"]:
        """prices() of the log, or of the whole days `bounds` of it, from the rollups (m013, m014):
        the tasks per model and price, the first and last of them by a seek each on
        idx_tasks_price_times, the images per API cost."""
        import pandas as pd

        days, day_params = self.view.where({}, at="nullif(r.day, '')", bounds=bounds)  # the rollups' day: '' is none
        within = days.replace(" WHERE ", " AND ")
        price = "CASE WHEN r.price_e10 = -1 THEN NULL ELSE r.price_e10 / 1e10 END"
        tasks = self.log.frame(
            f"SELECT nullif(r.model, '') AS model, {price} AS price_usd, sum(r.tasks) AS tasks FROM cost_rollups r "
            f"WHERE r.retried = 0 AND r.status NOT IN ('pending', ''){within} GROUP BY r.model, r.price_e10 "
            "HAVING sum(r.tasks) != 0", day_params)
        times, time_params = self.view.where({}, bounds=bounds)
        seek = (f"SELECT {{}}({AT_SQL}) AS at FROM tasks t WHERE t.status != 'pending' AND t.model IS ? AND {PRICE_SQL} IS ?"
                + times.replace(" WHERE ", " AND "))
        for column, fn in (("first_at", "min"), ("last_at", "max")):
            tasks[column] = [self.log.rows(seek.format(fn), [m, p, *time_params])[0]["at"]
                             for m, p in zip(tasks["model"], tasks["price_usd"].astype(object).where(tasks["price_usd"].notna(), None))]
        cost = "CASE WHEN r.cost_e10 != -1 THEN r.cost_e10 END"
        priced = "r.cost_e10 != -1 AND r.price_e10 != -1"
        images = self.log.frame(
            f"SELECT nullif(r.model, '') AS model, {price} AS price_usd, sum(r.images) AS images, "
            f"total(CASE WHEN r.cost_e10 != -1 THEN r.images END) AS api_images, "
            f"min(CASE WHEN r.images != 0 THEN {cost} END) / 1e10 AS api_min_usd, "
            f"max(CASE WHEN r.images != 0 THEN {cost} END) / 1e10 AS api_max_usd, "
            f"total({cost} * r.images) / 1e10 AS api_image_usd, "
            f"total(CASE WHEN {priced} AND abs(r.cost_e10 - r.price_e10) > 10000 THEN r.images END) AS differing_images, "
            f"total(CASE WHEN {priced} THEN (r.cost_e10 - r.price_e10) * r.images END) / 1e10 AS api_minus_price_usd "
            f"FROM cost_image_prices r{days} GROUP BY r.model, r.price_e10 HAVING sum(r.images) != 0", day_params)
        return tasks[["model", "price_usd", "first_at", "last_at", "tasks"]], pd.DataFrame(images)
