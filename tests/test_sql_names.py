"""Issue 8: hostile names — quotes, semicolons, comments, Unicode look-alikes, 10 000 characters — as column
headers and as cell values, for every import kind and every reader (CSV, XLSX, Parquet). The dry run changes
nothing at all; the commit changes only its table (with its history, one upload batch, one audit entry and
data_version); users, user_units and the earlier audit entries stay as they were; text cells come back
exactly as written; no file appears where an injected COPY or ATTACH would have put one.

The Parquet reader of 539812e built ``CAST("{name}" AS VARCHAR)`` from the file's column names: the
``test_parquet_column_name_*`` cases are working exploits of it (a dry run that makes the project office an
admin, empties the audit log, copies the users out, attaches a database, reads /etc/passwd into the report).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import hostile
import pytest
from hostile import HOSTILE_NAMES, HOSTILE_VALUES, snapshot, table_file

from sac.ingest import KINDS, import_file
from sac.ingest.engine import _matcher
from sac.ingest.parse import norm_header
from sac.store import Store

FORMATS = ("csv", "xlsx", "parquet")
HOSTILE_FILE = "Robert'); DROP TABLE upload_batches;-- \u202e"
HOSTILE_USER = "x'); UPDATE users SET role='admin';--"
# decorations that keep a header's normalised form (norm_header drops punctuation): the header still names its
# column, and its text carries quotes and comment markers into every place the engine quotes a header
DECORATIONS = ('"; --', "'); --", " /*", "*/ '", "\\", '"', "''", "\uff02", "\u201c")


def _header(name: str, i: int) -> str:
    deco = DECORATIONS[i % len(DECORATIONS)]
    assert norm_header(name + deco) == norm_header(name)
    return name + deco


def _cell(kind: str, f, x: str, i: int, spec) -> str | None:
    """What row ``i`` (hostile value ``x``) holds in column ``f``; None: the column is left out of the file."""
    if f.type == "text" and not f.ref:
        return "P:" + x if (kind, f.name) == ("contributions", "project_id") else x   # P:<x> are seeded projects
    if not f.required and f.name not in spec.one_of[:1]:
        return None
    if f.ref == "indicators":
        return "UNEMP"
    if f.type in ("unit", "region"):
        return "75"
    if f.type == "period":
        return "2024-Q3" if any(g.ref == "indicators" for g in spec.fields) else "2024"   # UNEMP is quarterly
    if f.type == "date":
        return "2024-06-30"
    if f.type == "enum":
        return sorted(set(f.choices.values()))[0]
    if f.type in ("number", "amount", "share", "int"):
        return str(i % 2)
    if f.type == "bool":
        return "yes"
    raise ValueError(f"{kind}.{f.name}: no value for a required {f.type} ({f.ref})")


def _table(kind: str, v: list[str]) -> tuple[list[str], list[list[str]], list[str], set[tuple]]:
    """Any kind, from its spec: every free-text column carries the hostile value of its row, the other columns
    only what they need to be valid. (columns, rows, the text columns, what those must read back as)."""
    spec = KINDS[kind]
    cells = {f.name: [_cell(kind, f, x, i, spec) for i, x in enumerate(v)] for f in spec.fields}
    columns = [f.name for f in spec.fields if cells[f.name][0] is not None]
    rows = [[cells[c][i] for c in columns] for i in range(len(v))]
    text = [f.name for f in spec.fields if f.type == "text" and not f.ref]
    return columns, rows, text, {tuple(cells[c][i] for c in text) for i in range(len(v))}


def _stored(store, kind: str, text: list[str], batch_id: int) -> set[tuple]:
    spec = KINDS[kind]
    cur = store.cursor()
    cols = [r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [spec.table]).fetchall()]
    sel = ", ".join(f'"{c}"' for c in text)
    if "batch_id" in cols:
        sql = f"SELECT {sel} FROM {spec.table} WHERE batch_id = ?"
    else:   # passports and reference tables: the keys the batch inserted are in its history
        key = spec.key[0]
        sql = (f'SELECT {sel} FROM {spec.table} WHERE "{key}" IN '
               f'(SELECT "{key}" FROM hist_{spec.table} WHERE hist_batch_id = ?)')
    return set(cur.execute(sql, [batch_id]).fetchall())


@pytest.fixture(scope="module")
def side(tmp_path_factory) -> Path:
    """Where the payloads' COPY and ATTACH would write (kept empty: a file there is a failure)."""
    return tmp_path_factory.mktemp("side")


def _names(side: Path) -> list[str]:
    return [n.replace("@TMP@", str(side)) for n in HOSTILE_NAMES]


def _values(side: Path) -> list[str]:
    return [v.replace("@TMP@", str(side)) for v in HOSTILE_VALUES]


@pytest.fixture(scope="module")
def template(tmp_path_factory, side):
    path = tmp_path_factory.mktemp("sqlnames") / "template.duckdb"
    with Store(path) as s:
        hostile.seed_store(s)
        with s.write() as cur:   # the projects the contributions name
            cur.executemany("INSERT INTO projects (project_id, name_en) VALUES (?, 'p')",
                            [["P:" + x] for x in _values(side)])
    return path


@pytest.fixture
def store(tmp_path, template, side):
    path = tmp_path / "sac.duckdb"
    shutil.copyfile(template, path)
    s = Store(path)
    yield s
    s.close()
    for p in side.iterdir():   # what a failed test's payload left, so that the next test starts clean
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def _report_text(rep) -> str:
    return "\n".join([*map(str, rep.problems.astype(str).to_numpy().ravel()), *rep.columns])


def _no_side_effects(side: Path, rep=None) -> None:
    created = sorted(p.name for p in side.iterdir())
    assert not created, f"an injected statement wrote {created}"
    if rep is not None:
        assert "root:" not in _report_text(rep), "the report carries the contents of /etc/passwd"


def _cur(store):
    return store.cursor()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_hostile_headers_and_values_change_only_the_intended_rows(store, side, kind, fmt):
    columns, rows, text, want = _table(kind, _values(side))
    names = _names(side)
    matcher = _matcher(KINDS[kind])
    assert not [n for n in names if norm_header(n) in matcher], "a hostile extra name names a real column"
    headers = [_header(c, i) for i, c in enumerate(columns)] + names
    body = [r + [f"junk {j}" for j in range(len(names))] for r in rows]
    _, data = table_file(fmt, headers, body)
    file_name = f"{HOSTILE_FILE}.{fmt}"

    before = snapshot(_cur(store))
    rep = import_file(store, data, kind, file_name=file_name, user=HOSTILE_USER, dry_run=True)
    assert snapshot(_cur(store)) == before, "the dry run changed the store"
    _no_side_effects(side, rep)
    assert rep.errors.empty, rep.errors.to_dict("records")
    assert (rep.inserted, rep.updated, rep.rejected) == (len(rows), 0, 0)
    assert rep.columns == dict(zip(headers[: len(columns)], columns, strict=True)), "headers not matched as written"
    ignored = set(rep.problems.loc[rep.problems["code"] == "ignored_column", "column"])
    assert ignored == set(names), f"not reported as unused, as written: {set(names) ^ ignored}"

    done = import_file(store, data, kind, file_name=file_name, user=HOSTILE_USER, dry_run=False)
    assert done.status == "committed", done.problems.to_dict("records")
    after = snapshot(_cur(store))
    assert hostile.commit_changes_ok(before, after, KINDS[kind].table) == []
    _no_side_effects(side, done)
    got = _stored(store, kind, text, done.batch_id)
    assert got == want, f"text not stored as written: {sorted(want - got)[:3]}"
    batch = store.cursor().execute("SELECT file_name, uploaded_by FROM upload_batches WHERE batch_id = ?",
                                   [done.batch_id]).fetchall()
    assert batch == [(file_name, HOSTILE_USER)]


# -- working exploits of 539812e's read_parquet ----------------------------------------------------------

EXPLOITS = {
    # the report's first column closes the quote, ends the CREATE, runs its statement, and leaves a SELECT
    # that uses the file's own parameter: every statement runs on the dry run's autocommitting cursor
    "makes_the_project_office_an_admin":
        "UPDATE users SET role = 'admin' WHERE username = 'office'",
    "empties_the_audit_log": "DELETE FROM audit_log",
    "drops_user_units": "DROP TABLE user_units",
    "copies_users_to_a_file": "COPY (SELECT * FROM users) TO '@TMP@/leak.csv'",
    "attaches_a_database": "ATTACH '@TMP@/evil.duckdb' AS evil; CREATE TABLE evil.u AS SELECT * FROM users",
    "creates_a_table_and_a_macro": "CREATE TABLE pwned AS SELECT 1 AS x; CREATE MACRO pwn() AS 1",
    "changes_a_global_setting": "SET GLOBAL threads = 1",
    "loads_an_extension_file": "LOAD '@TMP@/evil.duckdb_extension'",
}


def _exploit_name(statements: str) -> str:
    return f'x" AS VARCHAR) AS c0 FROM (SELECT 1 AS file_row_number, 1 AS "x"); {statements}; SELECT CAST("x'


READ_TEXT = "x\" AS VARCHAR) AS c0, CAST((SELECT content FROM read_text('/etc/passwd')) AS INTEGER) AS c1, CAST(\"x"


def _exploit_file(name: str) -> bytes:
    return hostile.parquet_bytes({name: ["1"], "x": ["1"], "indicator": ["UNEMP"], "region": ["75"],
                                  "period": ["2024-Q3"], "fact": ["4.5"]})


def _check_exploit(store, side: Path, name: str) -> None:
    data = _exploit_file(name)
    before = snapshot(_cur(store))
    users = store.cursor().execute("SELECT * FROM users ORDER BY username").fetchall()
    try:
        rep = import_file(store, data, "indicator_values", file_name="report.parquet", dry_run=True)
    finally:
        after = snapshot(_cur(store))
        _no_side_effects(side)
        now = store.cursor().execute("SELECT * FROM users ORDER BY username").fetchall()
        assert now == users, f"the dry run changed the accounts: {sorted(set(now) - set(users))}"
        diff = {k: (before.get(k), after.get(k)) for k in hostile.changed(before, after)}
        assert not diff, f"the dry run changed {sorted(diff)}"
    _no_side_effects(side, rep)
    assert rep.errors.empty, rep.errors.to_dict("records")
    assert rep.inserted == 1
    ignored = set(rep.problems.loc[rep.problems["code"] == "ignored_column", "column"])
    assert ignored == {name, "x"}

    done = import_file(store, data, "indicator_values", file_name="report.parquet", dry_run=False)
    assert done.status == "committed", done.problems.to_dict("records")
    assert hostile.commit_changes_ok(after, snapshot(_cur(store)), "indicator_values") == []
    assert store.cursor().execute("SELECT * FROM users ORDER BY username").fetchall() == users
    _no_side_effects(side, done)


@pytest.mark.parametrize("exploit", sorted(EXPLOITS))
def test_parquet_column_name_runs_no_sql(store, side, exploit):
    _check_exploit(store, side, _exploit_name(EXPLOITS[exploit].replace("@TMP@", str(side))))


def test_parquet_column_name_reads_no_file_into_the_report(store, side):
    _check_exploit(store, side, READ_TEXT)


def test_parquet_column_name_from_issue_8(store, side):
    """The payload as issue 8 quotes it (on 539812e it fails to bind: the dry run 'only' fails)."""
    _check_exploit(store, side, HOSTILE_NAMES[0])
