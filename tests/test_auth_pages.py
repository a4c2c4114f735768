"""The sign-in form (the /sign-in routes, in-process) and the account, users and audit pages in AppTest, on a
real DuckDB file with the demo accounts."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sac.auth import User, sessions
from sac.auth import accounts as acc
from sac.i18n import t
from sac.store import Store

ROOT = Path(__file__).resolve().parent.parent
ADMIN = User("admin", "Demo administrator", "admin")
ANALYST = User("analyst", "Demo analyst", "analyst")
OFFICE = User("office", "Almaty project office (demo)", "project_office", frozenset({"75"}))


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)
    path = tmp_path / "pages.duckdb"
    with Store(path) as s:
        acc.ensure_demo_accounts(s)
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.delenv("SAC_PUBLIC_VIEWS", raising=False)
    monkeypatch.chdir(ROOT)
    return path


def page(path: str, user: User | None = None, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=30)
    if user is not None:
        at.session_state["sac_user"] = user          # the documented test hook
    at.session_state["sac_lang"] = lang
    return at.run()


def audit(db) -> list[dict]:
    with Store(db) as s:
        return s.df("SELECT actor, action, target FROM audit_log ORDER BY entry_id").to_dict("records")


def form_client():
    """The sign-in routes in-process (Starlette's test client), on the same store the app uses."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from sac.web import signin

    return TestClient(Starlette(routes=signin.routes()), base_url="http://sac.test")


def sign_in(client, username: str, password: str, *, lang: str | None = None, next_path: str | None = None):
    """Open /sign-in, fill the form, post it (the way a browser does): the POST's response."""
    form = client.get("/sign-in" + (f"?lang={lang}" if lang else ""))
    assert form.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    if next_path is not None:
        fields["next"] = next_path
    return client.post("/sign-in", data={**fields, "username": username, "password": password},
                       follow_redirects=False)


def form_errors(response) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'<p class="error" role="alert">(.*?)</p>', response.text)]


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error, *at.success, *at.warning])


def test_sign_in_form_signs_in_and_audits(db):
    client = form_client()
    failed = sign_in(client, "office", "wrong-password")
    assert failed.status_code == 401
    assert form_errors(failed) == ["Wrong user name or password."]
    assert sessions.COOKIE not in failed.cookies
    ok = sign_in(client, "office", "office-demo")
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    token = ok.cookies[sessions.COOKIE]
    with Store(db) as s:
        user = sessions.resolve(s, token)
    assert (user.username, user.role, user.units) == ("office", "project_office", frozenset({"75"}))
    assert audit(db)[-2:] == [{"actor": "anonymous", "action": "sign_in_failed", "target": "office"},
                              {"actor": "office", "action": "sign_in", "target": "office"}]


def test_the_session_cookie_signs_the_app_in_at_every_rerun_until_it_ends(db, monkeypatch):
    """The app side of the cookie (a browser sends it with the websocket; AppTest cannot, so the one function
    that reads it is pointed at the token): the user is resolved at each rerun, and ending the session from
    elsewhere signs the page out at its next rerun."""
    from sac.ui import auth

    token = sign_in(form_client(), "office", "office-demo").cookies[sessions.COOKIE]
    monkeypatch.setattr(auth, "session_token", lambda: token)
    at = page("app.py")
    assert [t.value for t in at.title] == ["Situation room"]          # the role's default page, not My account
    assert "sac_user" not in at.session_state                          # never copied into the session state
    with Store(db) as s:
        sessions.end_user_sessions(s, "admin", "office")
    at.run()                                                          # the next click
    assert "Situation room" not in [t.value for t in at.title] and not at.metric
    assert t("auth.session_ended", "en") in [i.value for i in at.info]
    assert any('href="/sign-in?' in m.value for m in at.markdown)
    fresh = page("app.py")                                            # a reload: the stand-in of the default page
    assert [t.value for t in fresh.title] == [t("auth.sign_in_to_see", "en")]


def test_sign_in_form_says_when_the_account_is_locked(db):
    client = form_client()
    for _ in range(5):
        response = sign_in(client, "leadership", "wrong-password")
    assert response.status_code == 401
    assert form_errors(response)[0].startswith("Too many failed attempts: the account is locked until")
    response = sign_in(client, "leadership", "leadership-demo")
    assert form_errors(response)[0].startswith("Too many failed attempts")
    assert sessions.COOKIE not in response.cookies


def test_sign_in_form_refuses_a_disabled_account(db):
    with Store(db) as s:
        acc.disable_user(s, "admin", "analyst")
    response = sign_in(form_client(), "analyst", "analyst-demo")
    assert (response.status_code, form_errors(response)) == (401, ["This account is disabled. Ask an administrator."])


def test_sign_in_form_in_russian(db):
    client = form_client()
    form = client.get("/sign-in?lang=ru")
    assert "<h1>Вход в систему</h1>" in form.text and '<html lang="ru">' in form.text
    response = sign_in(client, "office", "nope-nope", lang="ru")
    assert form_errors(response) == ["Неверное имя пользователя или пароль."]


def test_change_password_on_my_account(db):
    at = page("pages/account.py", OFFICE)
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input("office-demo")
    fields["New password"].input("a-new-secret")
    fields["Repeat the new password"].input("a-new-secret")
    at = next(b for b in at.button if b.label == "Change password").click().run()
    assert [s.value for s in at.success] == ["Password changed."]
    with Store(db) as s:
        assert acc.authenticate(s, "office", "a-new-secret").username == "office"
    assert {"actor": "office", "action": "password_changed", "target": "office"} in audit(db)


def test_mismatched_new_passwords_are_refused(db):
    at = page("pages/account.py", OFFICE)
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input("office-demo")
    fields["New password"].input("a-new-secret")
    fields["Repeat the new password"].input("another-one")
    at = next(b for b in at.button if b.label == "Change password").click().run()
    assert [e.value for e in at.error] == ["The two new passwords differ."]


def test_language_choice_is_stored_on_the_account(db):
    at = page("pages/account.py", OFFICE)
    at.selectbox(key="sac_account_lang").set_value("kk").run()
    assert at.session_state["sac_lang"] == "kk"
    assert at.session_state["sac_user"].language == "kk"
    with Store(db) as s:
        assert acc.get_user(s, "office").language == "kk"
    assert [t.value for t in at.title] == ["Менің тіркелгім"]


def test_sign_out_from_my_account(db):
    at = page("pages/account.py", ANALYST)
    at = next(b for b in at.button if b.label == "Sign out").click().run()
    assert "sac_user" not in at.session_state
    assert audit(db)[-1] == {"actor": "analyst", "action": "sign_out", "target": "analyst"}


@pytest.mark.parametrize("path", ["pages/users.py", "pages/audit.py"])
@pytest.mark.parametrize("user", [ANALYST, OFFICE, User("leadership", "L", "leadership"), None])
def test_admin_pages_refuse_other_roles_even_by_url(db, path, user):
    at = page(path, user)
    assert [e.value for e in at.error] == [t("common.not_allowed", "en")]
    assert not at.dataframe


def test_admin_adds_a_project_office_user_with_a_generated_password(db):
    at = page("pages/users.py", ADMIN)
    assert at.dataframe[0].value["username"].tolist() == ["admin", "analyst", "leadership", "office"]
    at.text_input[0].input("Shymkent-PO")
    at.text_input[1].input("Shymkent project office")
    at.selectbox(key="add_role").set_value("project_office")
    at.multiselect(key="add_units").set_value(["79"])
    at = next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception
    assert at.success[0].value == "New password for shymkent-po — shown once, pass it on securely:"
    password = at.code[0].value
    with Store(db) as s:
        user = acc.authenticate(s, "shymkent-po", password)
    assert (user.role, user.units) == ("project_office", frozenset({"79"}))
    assert {"actor": "admin", "action": "user_added", "target": "shymkent-po"} in audit(db)


def test_admin_cannot_add_a_project_office_without_regions(db):
    at = page("pages/users.py", ADMIN)
    at.text_input[0].input("po2")
    at.selectbox(key="add_role").set_value("project_office")
    at = next(b for b in at.button if b.label == "Add user").click().run()
    assert [e.value for e in at.error] == ["A project office needs at least one region or organisation."]


def test_admin_disables_and_changes_a_user(db):
    at = page("pages/users.py", ADMIN)
    at.selectbox(key="edit_user").set_value("analyst").run()
    at.selectbox(key="edit_role").set_value("leadership")
    next(c for c in at.checkbox if c.label == "Disabled").check()
    at = next(b for b in at.button if b.label == "Save").click().run()
    assert [s.value for s in at.success] == ["User analyst saved."]
    with Store(db) as s:
        row = acc.list_users(s).set_index("username").loc["analyst"]
    assert (row["role"], bool(row["disabled"])) == ("leadership", True)
    assert audit(db)[-1] == {"actor": "admin", "action": "user_disabled", "target": "analyst"}


def test_admin_resets_a_password(db):
    at = page("pages/users.py", ADMIN)
    at.selectbox(key="edit_user").set_value("leadership").run()
    at = next(b for b in at.button if b.label == "Reset password").click().run()
    password = at.code[0].value
    with Store(db) as s:
        assert acc.authenticate(s, "leadership", password).role == "leadership"
        assert acc.must_change_password(s, "leadership")
    assert {"actor": "admin", "action": "user_password_reset", "target": "leadership"} in audit(db)


def test_audit_page_lists_and_filters_the_log(db):
    with Store(db) as s:
        for _ in range(2):
            with pytest.raises(acc.SignInFailed):
                acc.authenticate(s, "office", "wrong-password")
        acc.authenticate(s, "office", "office-demo")
    at = page("pages/audit.py", ADMIN)
    log = at.dataframe[0].value
    assert log["action"].tolist()[:3] == ["sign_in", "sign_in_failed", "sign_in_failed"]
    assert set(log.columns) == {"entry_id", "occurred_at", "actor", "action", "target", "details"}
    at.multiselect(key="audit_actions").set_value(["sign_in_failed"]).run()
    filtered = at.dataframe[0].value
    assert filtered["action"].unique().tolist() == ["sign_in_failed"] and len(filtered) == 2
    assert (filtered["target"] == "office").all()
    at.multiselect(key="audit_actions").set_value([]).run()
    at.multiselect(key="audit_actors").set_value(["office"]).run()
    assert at.dataframe[0].value[["actor", "action"]].to_dict("records") == [{"actor": "office", "action": "sign_in"}]
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download Excel"]
    assert isinstance(log["occurred_at"].iloc[0], pd.Timestamp)


def test_a_reset_password_must_be_changed_before_any_other_page_opens(db):
    with Store(db) as s:
        acc.reset_password(s, "admin", "office", "temporary-pass")
    at = page("app.py", OFFICE)
    assert [t.value for t in at.title] == ["My account"]          # not the situation room
    assert any("change" in w.value.lower() for w in at.warning)
    with pytest.raises(ValueError, match="Known pages: .*account.py'\\]"):
        at.switch_page("pages/situation_room.py")                 # the navigation holds the account page only
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input("temporary-pass")
    fields["New password"].input("my-own-secret")
    fields["Repeat the new password"].input("my-own-secret")
    at = next(b for b in at.button if b.label == "Change password").click().run()
    assert [s.value for s in at.success] == ["Password changed."]
    at.run()
    at.switch_page("pages/situation_room.py").run()
    assert [t.value for t in at.title] == ["Situation room"]      # the whole app opens now


def test_admin_sees_and_ends_a_users_sessions(db):
    with Store(db) as s:
        laptop = sessions.create(s, "analyst", user_agent="Firefox on the laptop")
        phone = sessions.create(s, "analyst", user_agent="Chromium on the phone")
    at = page("pages/users.py", ADMIN)
    at.selectbox(key="edit_user").set_value("analyst").run()
    assert "2 active sessions (browsers signed in)." in texts(at)
    shown = at.dataframe[-1].value
    assert sorted(shown["user_agent"]) == ["Chromium on the phone", "Firefox on the laptop"]
    at = at.button(key="end_sessions").click().run()
    assert [m.value for m in at.success] == ["Sessions of analyst ended: 2. They must sign in again."]
    assert "No active sessions." in texts(at)
    with Store(db) as s:
        assert sessions.resolve(s, laptop) is None and sessions.resolve(s, phone) is None
    assert audit(db)[-1] == {"actor": "admin", "action": "session_ended", "target": "analyst"}


def test_changing_my_password_ends_my_other_sessions_only(db, monkeypatch):
    from sac.ui import auth

    with Store(db) as s:
        here, elsewhere = sessions.create(s, "office"), sessions.create(s, "office")
    monkeypatch.setattr(auth, "session_token", lambda: here)
    at = page("pages/account.py")
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input("office-demo")
    fields["New password"].input("a-new-secret")
    fields["Repeat the new password"].input("a-new-secret")
    at = next(b for b in at.button if b.label == "Change password").click().run()
    assert [m.value for m in at.success] == ["Password changed."]
    assert t("auth.other_sessions_ended", "en") in texts(at)
    with Store(db) as s:
        assert sessions.resolve(s, here).username == "office"
        assert sessions.resolve(s, elsewhere) is None


def test_a_language_chosen_on_the_sign_in_page_becomes_the_accounts_and_a_default_does_not(db):
    client = form_client()
    assert sign_in(client, "office", "office-demo", lang="kk").status_code == 303      # ?lang=kk: a choice
    assert client.cookies.get("sac_lang") == "kk"
    with Store(db) as s:
        assert acc.get_user(s, "office").language == "kk"
        acc.set_language(s, "office", "ru")                # changed in the app afterwards
    assert sign_in(client, "office", "office-demo").status_code == 303    # the page in kk (cookie), no choice
    with Store(db) as s:
        assert acc.get_user(s, "office").language == "ru"
    other = form_client()
    form = other.get("/sign-in", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})
    assert '<html lang="kk">' in form.text and 'name="lang"' not in form.text
