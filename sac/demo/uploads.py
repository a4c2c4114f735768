"""The demo's upload history: which upload batch wrote which rows, by whom and when.

A real SAC database is filled file by file through the importer (:mod:`sac.ingest`), and the
Data quality page reads reporting timeliness from that history (``sac.metrics.quality.reporting``:
a fact is on time when the batch that last wrote it was uploaded within 30 days of the period's
end). :func:`schedule` gives the generated tables the history they would have had:

- **Facts** (``indicator_values`` kind): one batch per region and reporting period, as its project
  office (or, without one, its akimat) uploads them: ``uploaded_by`` the office's ``org_id``
  (``PO-ADC`` for Almaty, ``AKM-62`` for Ulytau), ``file_name`` ``facts_75_2025-Q3.xlsx``,
  ``uploaded_at`` = the period's end + the reporting deadline (``lag_days`` of its periodicity) +
  the region's punctuality. Most regions upload a few days before the deadline and now and then
  (2-10 % of their files, a rate of their own) 11-40 days after it; :data:`LATE_REGIONS` upload
  most files (80 %) 10-45 days after it. A file that would be uploaded on or after ``today`` has
  not come in yet: its facts are not in the database (the latest periods of the late regions).
- **Plans** (``indicator_values`` kind): one batch per source document and plan year, keyed in by
  the centre's analyst (:data:`PLAN_UPLOADER`) from the approved document early in January of
  that year. A row with a plan and a fact carries the fact's batch (the last to write it) and
  leaves the plan-only image in ``hist_indicator_values`` (``hist_op`` 'update'), as the importer
  would: rolling back a facts file puts the plan back, and the plan batch cannot be rolled back
  before the facts files that changed its rows.
- **Budget** (``budget`` kind): the approved budget per source document and year (January), then
  one execution file per month (10-20 days after it), uploaded by the Ministry of Finance; images
  in ``hist_budget_lines`` likewise.
- **Passports** (``indicators``), **projects** and **contributions** (one file per region, by its
  office, in the last weeks), **instructions** (one file by the Office of the Prime Minister).
- Reference tables (organisations, officials, goal map, budget programs and their links, regions)
  are the system's set-up, not uploads: the importer has no kind for them and they get no batch.

Batch ids follow upload time (the importer's order: a later batch has a larger id). Everything is
drawn from its own generator seeded from the demo's seed, so two builds are identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import numpy as np
import pandas as pd

# Regions that habitually upload their facts late (the two new regions of 2022 and Kyzylorda).
LATE_REGIONS = ("10", "43", "62")
PLAN_UPLOADER = "analyst"       # the demo account of the centre's analyst
BUDGET_UPLOADER = "MF"          # Ministry of Finance (organisations.org_id)
INSTRUCTIONS_UPLOADER = "GOV"   # Office of the Prime Minister (organisations.org_id)

BATCH_COLUMNS = ["batch_id", "kind", "file_name", "sha256", "uploaded_by", "uploaded_at", "rows_inserted",
                 "rows_updated"]

_DAY = pd.Timedelta(days=1)
_MINUTE = pd.Timedelta(minutes=1)


# --- small helpers -------------------------------------------------------------------------------
def period_ends(periods: pd.Series) -> pd.DataFrame:
    """``kind`` ('year' | 'quarter' | 'month'), ``year`` and ``end`` (Timestamp) of period codes.

    Codes: '2025', '2025-Q3', '2025-07'. Index as ``periods``.
    """
    uniq = pd.Series(pd.unique(periods.astype(str)), dtype=object)
    is_q = uniq.str.contains("-Q", regex=False).to_numpy()
    is_m = (uniq.str.len() == 7).to_numpy() & ~is_q
    year = uniq.str[:4].astype(int).to_numpy()
    sub = pd.to_numeric(uniq.str[-2:].str.lstrip("Q"), errors="coerce").fillna(12).to_numpy()
    month = np.where(is_q, 3 * sub, np.where(is_m, sub, 12)).astype(int)
    end = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1})) + pd.offsets.MonthEnd(0)
    info = pd.DataFrame({"kind": np.where(is_q, "quarter", np.where(is_m, "month", "year")), "year": year,
                         "end": end.to_numpy()}, index=uniq.to_numpy())
    out = info.reindex(periods.astype(str).to_numpy())
    out.index = periods.index
    return out


def slug(text: str) -> str:
    """A file-name-safe form of a document name ('MNE Strategic Plan 2020-2024' -> 'MNE_Strategic_Plan_2020-2024')."""
    s = re.sub(r"[^A-Za-z0-9-]+", "_", text).strip("_")
    return s or "no_document"


def uploaders(orgs: pd.DataFrame, katos: list[str]) -> dict[str, str]:
    """Who uploads a region's figures: its project office (``org_id``) where it has one, else its akimat."""
    po = orgs[(orgs["kind"] == "project_office") & orgs["region_kato"].notna()]
    offices = po.sort_values("org_id").drop_duplicates("region_kato").set_index("region_kato")["org_id"].to_dict()
    return {k: offices.get(k, f"AKM-{k}") for k in katos}


def punctuality(katos: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Each region's reporting habit: ``kato``, ``late`` (one of :data:`LATE_REGIONS`), ``habit`` (days
    before the deadline it usually uploads, negative) and ``p_late`` (share of its files uploaded late)."""
    n = len(katos)
    late = np.isin(katos, LATE_REGIONS)
    return pd.DataFrame({"kato": katos, "late": late, "habit": rng.uniform(-8, -1, n),
                         "p_late": np.where(late, 0.8, rng.uniform(0.02, 0.10, n))})


def _work_time(day: pd.Series | pd.DatetimeIndex, rng: np.random.Generator) -> pd.Series:
    """A time in office hours (09:00-17:59) on each day."""
    day = pd.Series(pd.DatetimeIndex(day).normalize())
    return day + pd.to_timedelta(rng.integers(9 * 60, 18 * 60, len(day)), unit="min")


def _digest(rows: pd.DataFrame, batch: pd.Series, names: pd.Series) -> pd.Series:
    """SHA-256 per batch over its rows' contents (and the file name), keyed by batch."""
    h = pd.util.hash_pandas_object(rows.reset_index(drop=True), index=False).to_numpy()
    order = np.argsort(batch.to_numpy(), kind="stable")
    keys, starts = np.unique(batch.to_numpy()[order], return_index=True)
    parts = np.split(h[order], starts[1:])
    return pd.Series([hashlib.sha256(names[k].encode() + p.tobytes()).hexdigest() for k, p in zip(keys, parts,
                                                                                                 strict=True)],
                     index=keys)


# --- the schedule ----------------------------------------------------------------------------------
def _fact_uploads(keys: pd.DataFrame, prof: pd.DataFrame, lag_days: dict, rng: np.random.Generator) -> pd.Series:
    """Upload time of each (unit_code, period) facts file (``keys`` with ``kind`` and ``end``)."""
    p = keys[["unit_code"]].merge(prof, left_on="unit_code", right_on="kato", how="left")
    n = len(keys)
    u, jitter = rng.random(n), rng.normal(0, 2.0, n)
    late_days, stray_days = rng.uniform(10, 45, n), rng.uniform(11, 40, n)
    is_late = u < p["p_late"].to_numpy()
    rel = np.where(is_late, np.where(p["late"].to_numpy(), late_days, stray_days),
                   np.minimum(p["habit"].to_numpy() + jitter, 0.0))
    days = np.maximum(np.round(keys["kind"].map(lag_days).to_numpy(dtype=float) + rel), 2)
    return _work_time(pd.DatetimeIndex(keys["end"]) + pd.to_timedelta(days, unit="D"), rng)


def _january(years: pd.Series, rng: np.random.Generator) -> pd.Series:
    """An upload time early in each year (5-24 January)."""
    first = pd.to_datetime(pd.DataFrame({"year": years.to_numpy(dtype=int), "month": 1, "day": 1}))
    return _work_time(first + pd.to_timedelta(rng.integers(4, 24, len(years)), unit="D"), rng)


def _plan_fact(df: pd.DataFrame, fact_cols: list[str], fact_key: list[str], when_fact, plan_key: list[str],
               when_plan) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Batches of a table whose rows carry a plan (loaded first) and facts (loaded later, updating the row).

    ``when_fact(keys)`` / ``when_plan(keys)`` give the upload time (and file name, uploader) of each
    distinct fact / plan key. Returns the rows with a ``_batch`` key, the batches (``_batch``,
    ``file_name``, ``uploaded_by``, ``uploaded_at``, ``rows_inserted``, ``rows_updated``) and the
    history images (plan-only rows, ``_batch`` the plan's, ``_hist`` the fact batch that changed them).
    """
    has_fact = df[fact_cols].notna().any(axis=1)
    has_plan = df["plan"].notna()
    fk = df.loc[has_fact, fact_key].drop_duplicates().sort_values(fact_key).reset_index(drop=True)
    pk = df.loc[has_plan, plan_key].drop_duplicates().sort_values(plan_key).reset_index(drop=True)
    fb, pb = when_fact(fk), when_plan(pk)
    fk["_fb"] = fb["_batch"].to_numpy()
    pk["_pb"] = pb["_batch"].to_numpy()
    out = df.merge(fk, on=fact_key, how="left").merge(pk, on=plan_key, how="left")
    out["_fb"] = out["_fb"].where(has_fact.to_numpy())
    out["_pb"] = out["_pb"].where(has_plan.to_numpy())
    out["_batch"] = out["_fb"].fillna(out["_pb"])
    both = has_fact.to_numpy() & has_plan.to_numpy()
    hist = out.loc[both].copy()
    hist[fact_cols] = np.nan
    hist["_hist"], hist["_batch"] = hist["_fb"], hist["_pb"]
    pb = pb.assign(rows_inserted=pb["_batch"].map(out["_pb"].value_counts()).fillna(0).astype(int), rows_updated=0)
    fb = fb.assign(rows_inserted=fb["_batch"].map(out.loc[~has_plan.to_numpy(), "_fb"].value_counts()).fillna(0)
                   .astype(int),
                   rows_updated=fb["_batch"].map(out.loc[both, "_fb"].value_counts()).fillna(0).astype(int))
    return out.drop(columns=["_fb", "_pb"]), pd.concat([pb, fb], ignore_index=True), hist.drop(columns=["_fb", "_pb"])


class _Keys:
    """Hands out provisional batch keys (strings) in the order batches are described."""

    def __init__(self) -> None:
        self.n = 0

    def take(self, k: int, prefix: str) -> list[str]:
        out = [f"{prefix}{self.n + i:05d}" for i in range(k)]
        self.n += k
        return out


def schedule(frames: dict[str, pd.DataFrame], katos: list[str], today: dt.date, lag_days: dict[str, int],
             seed: int) -> dict[str, pd.DataFrame]:
    """Give the demo tables their upload history. Pure: same inputs, same output.

    ``frames``: the tables from :func:`sac.demo.generate` before batching. Returns the same dict
    with facts not uploaded by ``today`` removed, a ``batch_id`` on ``indicator_values``,
    ``budget_lines``, ``projects``, ``project_contributions`` and ``instructions``, plus
    ``upload_batches`` (columns :data:`BATCH_COLUMNS`, ``batch_id`` 1..n in upload order, kinds as
    the importer names them), ``hist_indicator_values`` and ``hist_budget_lines`` (previous images,
    with ``hist_batch_id`` and ``hist_op`` 'update').
    """
    rng = np.random.default_rng([seed, 1])
    out = dict(frames)
    keys = _Keys()
    up = uploaders(frames["organisations"], katos)
    prof = punctuality(katos, rng)
    now = pd.Timestamp(today)
    batches: list[pd.DataFrame] = []
    hists: dict[str, pd.DataFrame] = {}

    # -- indicator values: plans per document and year, facts per region and period
    v = frames["indicator_values"].copy()
    info = period_ends(v["period"])
    v["_year"], v["_kind"], v["_end"] = info["year"].to_numpy(), info["kind"].to_numpy(), info["end"].to_numpy()
    files = v.loc[v["fact"].notna(), ["unit_code", "period", "_kind", "_end"]].drop_duplicates(["unit_code", "period"])
    files = files.sort_values(["unit_code", "period"]).reset_index(drop=True)
    files["_at"] = _fact_uploads(files.rename(columns={"_kind": "kind", "_end": "end"}), prof, lag_days, rng).to_numpy()
    # a file that would come in on or after today has not come in: its facts are not in the database yet
    pending = files.loc[files["_at"] >= now, ["unit_code", "period"]].assign(_pending=True)
    v = v.merge(pending, on=["unit_code", "period"], how="left")
    v.loc[v["_pending"].eq(True), "fact"] = np.nan
    v = v[v["plan"].notna() | v["fact"].notna()].drop(columns="_pending").reset_index(drop=True)
    fact_at = files[files["_at"] < now].set_index(["unit_code", "period"])["_at"]

    def fact_files(k: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "_batch": keys.take(len(k), "F"), "kind": "indicator_values",
            "file_name": "facts_" + k["unit_code"] + "_" + k["period"] + ".xlsx",
            "uploaded_by": k["unit_code"].map(up),
            "uploaded_at": fact_at.reindex(pd.MultiIndex.from_frame(k[["unit_code", "period"]])).to_numpy()})

    def plan_files(k: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "_batch": keys.take(len(k), "P"), "kind": "indicator_values",
            "file_name": "plan_" + k["source_document"].map(slug) + "_" + k["_year"].astype(str) + ".xlsx",
            "uploaded_by": PLAN_UPLOADER, "uploaded_at": _january(k["_year"], rng).to_numpy()})

    v, b, h = _plan_fact(v, ["fact"], ["unit_code", "period"], fact_files, ["source_document", "_year"], plan_files)
    cols = list(frames["indicator_values"].columns)
    out["indicator_values"] = v[[*cols, "_batch"]]
    hists["indicator_values"] = h[[*cols, "_batch", "_hist"]]
    batches.append(b.assign(_table="indicator_values"))

    # -- passports: loaded once, before the first plan
    first_year = int(v["_year"].min())
    ind = frames["indicators"]
    batches.append(pd.DataFrame({
        "_batch": keys.take(1, "I"), "kind": "indicators", "file_name": "indicator_passports.xlsx",
        "uploaded_by": PLAN_UPLOADER, "uploaded_at": [pd.Timestamp(first_year, 1, 3, 10, 0)],
        "rows_inserted": len(ind), "rows_updated": 0, "_table": "indicators"}))

    # -- budget: approved budget per document and year, execution per month
    bl = frames["budget_lines"].copy()
    binfo = period_ends(bl["period"])
    bl["_year"], bl["_end"] = binfo["year"].to_numpy(), binfo["end"].to_numpy()

    def execution_files(k: pd.DataFrame) -> pd.DataFrame:
        end = pd.DatetimeIndex(period_ends(k["period"])["end"])
        at = _work_time(end + pd.to_timedelta(rng.integers(10, 21, len(k)), unit="D"), rng)
        return pd.DataFrame({"_batch": keys.take(len(k), "E"), "kind": "budget",
                             "file_name": "budget_execution_" + k["period"] + ".xlsx",
                             "uploaded_by": BUDGET_UPLOADER,
                             "uploaded_at": np.minimum(at.to_numpy(), (now - 12 * pd.Timedelta(hours=1)).to_datetime64())})

    def budget_files(k: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"_batch": keys.take(len(k), "B"), "kind": "budget",
                             "file_name": "budget_" + k["source_document"].map(slug) + "_" + k["_year"].astype(str)
                             + ".xlsx",
                             "uploaded_by": BUDGET_UPLOADER, "uploaded_at": _january(k["_year"], rng).to_numpy()})

    bl, b, h = _plan_fact(bl, ["allocated", "spent"], ["period"], execution_files, ["source_document", "_year"],
                          budget_files)
    cols = list(frames["budget_lines"].columns)
    out["budget_lines"] = bl[[*cols, "_batch"]]
    hists["budget_lines"] = h[[*cols, "_batch", "_hist"]]
    batches.append(b.assign(_table="budget_lines"))

    # -- projects and their contributions: one file per region from its office, in the last weeks
    pr = frames["projects"]
    regs = sorted(pr["region_kato"].unique())
    at = _work_time(pd.DatetimeIndex([now] * len(regs)) - pd.to_timedelta(rng.integers(2, 21, len(regs)), unit="D"),
                    rng)
    reg_at = dict(zip(regs, at, strict=True))
    for table, kind, col in (("projects", "projects", "region_kato"),
                             ("project_contributions", "contributions", "unit_code")):
        df = frames[table]
        rk = sorted(df[col].unique())
        b = pd.DataFrame({"_batch": keys.take(len(rk), kind[0].upper()), "kind": kind,
                          "file_name": [f"{kind}_{k}.xlsx" for k in rk], "uploaded_by": [up[k] for k in rk],
                          "uploaded_at": [reg_at[k] + (15 * _MINUTE if kind == "contributions" else 0 * _MINUTE)
                                          for k in rk],
                          "rows_inserted": df[col].value_counts().reindex(rk).to_numpy(), "rows_updated": 0,
                          "_table": table})
        out[table] = df.assign(_batch=df[col].map(dict(zip(rk, b["_batch"], strict=True))))
        batches.append(b)

    # -- instructions on control: one register from the Office of the Prime Minister
    ins = frames["instructions"]
    b = pd.DataFrame({"_batch": keys.take(1, "N"), "kind": "instructions", "file_name": "instructions_on_control.xlsx",
                      "uploaded_by": INSTRUCTIONS_UPLOADER, "uploaded_at": [now - _DAY + pd.Timedelta(hours=17.5)],
                      "rows_inserted": len(ins), "rows_updated": 0, "_table": "instructions"})
    out["instructions"] = ins.assign(_batch=b["_batch"].iloc[0])
    batches.append(b)

    # -- batch ids in upload order; digests of the rows each batch wrote
    allb = pd.concat(batches, ignore_index=True)
    allb["uploaded_at"] = pd.to_datetime(allb["uploaded_at"]).astype("datetime64[us]")
    allb = allb.sort_values(["uploaded_at", "file_name"], kind="stable").reset_index(drop=True)
    allb["batch_id"] = np.arange(1, len(allb) + 1, dtype="int64")
    ids = dict(zip(allb["_batch"], allb["batch_id"], strict=True))
    names = allb.set_index("_batch")["file_name"]
    sha = pd.Series(index=allb["_batch"].to_numpy(), dtype=object)
    for table in ("indicator_values", "budget_lines", "projects", "project_contributions", "instructions"):
        df = out[table]
        # what each batch wrote: the rows it last wrote, and the plan-only images later files updated
        wrote = pd.concat([df, hists[table].drop(columns="_hist")], ignore_index=True) if table in hists else df
        d = _digest(wrote.drop(columns="_batch").astype(str), wrote["_batch"], names)
        sha[d.index] = d.to_numpy()
        out[table] = df.assign(batch_id=df["_batch"].map(ids).astype("int64")).drop(columns="_batch")
    ib = allb.loc[allb["kind"] == "indicators", "_batch"].iloc[0]
    sha[ib] = _digest(frames["indicators"].astype(str), pd.Series(ib, index=frames["indicators"].index), names)[ib]
    allb["sha256"] = allb["_batch"].map(sha)
    for table, h in hists.items():
        out[f"hist_{table}"] = (h.assign(batch_id=h["_batch"].map(ids).astype("int64"),
                                         hist_batch_id=h["_hist"].map(ids).astype("int64"), hist_op="update")
                                .drop(columns=["_batch", "_hist"]).reset_index(drop=True))
    out["upload_batches"] = allb[BATCH_COLUMNS]
    return out
