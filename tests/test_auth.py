"""Issue 5: accounts, roles, sign-in, lockout, permissions — on a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from sac.auth import PUBLIC_USER, PermissionDenied, User
from sac.auth import accounts as acc
from sac.auth.oidc import OidcMapping, user_from_claims
from sac.auth.permissions import (
    PERMISSIONS,
    allowed_units,
    can_open,
    pages_for_user,
    public_views_enabled,
    require,
    require_page,
    require_units,
    restrict_frame,
)
from sac.store import Store

T0 = dt.datetime(2026, 11, 23, 9, 0, 0)


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "auth.duckdb")
    yield s
    s.close()


@pytest.fixture
def demo(store):
    return acc.ensure_demo_accounts(store)


def log(store) -> pd.DataFrame:
    return store.df("SELECT actor, action, target, details FROM audit_log ORDER BY entry_id")


def last(store) -> dict:
    """The newest audit entry; a missing value as None."""
    return {k: (None if pd.isna(v) else v) for k, v in log(store).iloc[-1].to_dict().items()}


# -- sign in as each role; what it sees and what it is refused -------------------------------------------
EXPECTED_PAGES = {
    "admin": {"situation_room", "rating", "region", "indicators", "budget", "projects", "data_quality", "upload",
              "submissions", "boards", "methodology", "audit", "users"},
    "analyst": {"situation_room", "rating", "region", "indicators", "budget", "projects", "data_quality", "upload",
                "submissions", "boards", "methodology"},
    "leadership": {"situation_room", "rating", "region", "indicators", "budget", "projects", "submissions", "boards",
                   "methodology"},
    "office": {"situation_room", "rating", "region", "indicators", "budget", "projects", "data_quality", "upload",
               "submissions", "methodology"},
}
REFUSED = {
    "admin": set(),
    "analyst": {"manage_users", "view_audit", "unlock_data"},
    "leadership": {"upload", "rollback", "change_methodology", "manage_users", "view_audit", "submit_data",
                   "approve_data", "unlock_data", "build_board"},
    "office": {"rollback", "change_methodology", "manage_users", "view_audit", "approve_data", "unlock_data",
               "build_board"},
}


@pytest.mark.parametrize("username", ["admin", "analyst", "leadership", "office"])
def test_each_demo_role_signs_in_and_sees_its_pages_and_is_refused_the_rest(store, demo, username):
    user = acc.authenticate(store, username, demo[username], now=T0)
    assert user.username == username and user.source == "builtin"
    assert {p.path.removeprefix("pages/").removesuffix(".py") for p in pages_for_user(user)} == EXPECTED_PAGES[username]
    for action in PERMISSIONS:
        if action in REFUSED[username]:
            with pytest.raises(PermissionDenied):
                require(user, action)
        else:
            require(user, action)
    assert last(store) == {"actor": username, "action": "sign_in", "target": username,
                           "details": '{"source": "builtin"}'}


def test_public_sees_only_published_views_and_may_do_nothing_else():
    assert {p.path for p in pages_for_user(PUBLIC_USER)} == {
        "pages/situation_room.py", "pages/rating.py", "pages/methodology.py"}
    require(PUBLIC_USER, "view_published")
    for action in set(PERMISSIONS) - {"view_published"}:
        with pytest.raises(PermissionDenied):
            require(PUBLIC_USER, action)
    assert allowed_units(PUBLIC_USER) == set()


def test_nobody_signed_in_is_refused_everything_and_sees_no_pages():
    assert pages_for_user(None) == []
    with pytest.raises(PermissionDenied):
        require(None, "view_published")
    with pytest.raises(PermissionDenied):
        require_page(None, "pages/rating.py")


def test_unknown_action_is_an_error_not_a_silent_pass():
    with pytest.raises(KeyError):
        require(User("a", "A", "admin"), "upload_everything")


def test_typed_url_of_a_hidden_page_is_refused():
    office = User("office", "Office", "project_office", frozenset({"75"}))
    assert not can_open(office, "pages/users.py")
    with pytest.raises(PermissionDenied):
        require_page(office, "pages/audit.py")
    require_page(office, "pages/upload.py")


# -- scope of a project office ---------------------------------------------------------------------------
def test_project_office_units_scope_uploads_and_reads(store, demo):
    office = acc.authenticate(store, "office", demo["office"], now=T0)
    assert office.units == frozenset({"75"})
    assert allowed_units(office) == {"75"}
    analyst = acc.get_user(store, "analyst")
    assert allowed_units(analyst) is None               # all
    require_units(office, ["75", "75"])
    with pytest.raises(PermissionDenied) as e:
        require_units(office, ["75", "71", "19"])         # Astana and Almaty region are foreign
    assert e.value.units == frozenset({"71", "19"})
    rows = pd.DataFrame({"unit_code": ["75", "71", None, "75"], "fact": [1.0, 2.0, 3.0, 4.0]})
    assert restrict_frame(rows, office)["fact"].tolist() == [1.0, 4.0]
    assert restrict_frame(rows, analyst)["fact"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_project_office_scope_includes_organisations_of_its_regions(store):
    with store.write() as cur:
        cur.execute("INSERT INTO organisations VALUES ('akimat-almaty', 'akimat', 'Akimat of Almaty', 'Акимат', "
                    "'Әкімдік', '75'), ('akimat-astana', 'akimat', 'Akimat of Astana', 'Акимат', 'Әкімдік', '71')")
    office = User("po", "PO", "project_office", frozenset({"75"}))
    assert allowed_units(office, store) == {"75", "akimat-almaty"}


def test_project_office_without_units_gets_nothing_not_everything():
    assert allowed_units(User("po", "PO", "project_office")) == set()


# -- lockout ---------------------------------------------------------------------------------------------
def test_five_wrong_passwords_lock_for_fifteen_minutes_then_the_right_one_works(store, demo):
    policy = acc.LockoutPolicy(max_attempts=5, minutes=15)
    for i in range(4):
        with pytest.raises(acc.SignInFailed) as e:
            acc.authenticate(store, "analyst", "wrong-password", now=T0 + dt.timedelta(seconds=i), policy=policy)
        assert e.value.code == "bad_credentials"
    with pytest.raises(acc.SignInFailed) as e:
        acc.authenticate(store, "analyst", "wrong-password", now=T0 + dt.timedelta(seconds=4), policy=policy)
    assert e.value.code == "locked"
    assert e.value.locked_until == T0 + dt.timedelta(seconds=4, minutes=15)
    # while locked even the right password is refused
    with pytest.raises(acc.SignInFailed) as e:
        acc.authenticate(store, "analyst", demo["analyst"], now=T0 + dt.timedelta(minutes=10), policy=policy)
    assert e.value.code == "locked"
    # after the lock expires the right password works and clears the counter
    user = acc.authenticate(store, "analyst", demo["analyst"], now=T0 + dt.timedelta(minutes=16), policy=policy)
    assert user.role == "analyst"
    row = store.df("SELECT failed_attempts, locked_until FROM users WHERE username = 'analyst'").iloc[0]
    assert row["failed_attempts"] == 0 and pd.isna(row["locked_until"])
    entries = log(store)
    entries = entries[entries["target"] == "analyst"].tail(8)
    assert entries["action"].tolist() == ["sign_in_failed"] * 5 + ["locked_out", "sign_in_failed", "sign_in"]
    assert entries["actor"].tolist() == ["anonymous"] * 5 + ["system", "anonymous", "analyst"]
    assert json.loads(entries["details"].iloc[6]) == {"reason": "locked"}


def test_the_right_password_on_the_last_allowed_attempt_signs_in_and_locks_nothing(store, demo):
    """The max_attempts-th attempt sets the lock before its password is checked (so parallel attempts are
    refused); when that password is right the lock is lifted and no locked_out is written."""
    policy = acc.LockoutPolicy(max_attempts=3, minutes=15)
    for _ in range(2):
        with pytest.raises(acc.SignInFailed):
            acc.authenticate(store, "analyst", "wrong-password", now=T0, policy=policy)
    assert acc.authenticate(store, "analyst", demo["analyst"], now=T0, policy=policy).role == "analyst"
    row = store.df("SELECT failed_attempts, locked_until FROM users WHERE username = 'analyst'").iloc[0]
    assert row["failed_attempts"] == 0 and pd.isna(row["locked_until"])
    assert "locked_out" not in log(store)["action"].tolist()


def test_lockout_is_configurable_from_the_environment(monkeypatch):
    monkeypatch.setenv("SAC_LOCKOUT_ATTEMPTS", "3")
    monkeypatch.setenv("SAC_LOCKOUT_MINUTES", "30")
    assert acc.LockoutPolicy.from_env() == acc.LockoutPolicy(3, 30.0)


def test_a_success_resets_the_failure_count(store, demo):
    policy = acc.LockoutPolicy(3, 15)
    for _ in range(2):
        with pytest.raises(acc.SignInFailed):
            acc.authenticate(store, "leadership", "nope-nope", now=T0, policy=policy)
    acc.authenticate(store, "leadership", demo["leadership"], now=T0, policy=policy)
    for _ in range(2):
        with pytest.raises(acc.SignInFailed) as e:
            acc.authenticate(store, "leadership", "nope-nope", now=T0, policy=policy)
        assert e.value.code == "bad_credentials"


def test_unknown_user_fails_like_a_wrong_password_and_is_audited(store, demo):
    with pytest.raises(acc.SignInFailed) as e:
        acc.authenticate(store, "Mallory", "whatever1", now=T0)
    assert e.value.code == "bad_credentials"
    assert last(store) == {"actor": "anonymous", "action": "sign_in_failed", "target": "mallory",
                           "details": '{"reason": "unknown_user"}'}


def test_user_names_are_case_insensitive(store, demo):
    assert acc.authenticate(store, "  Analyst ", demo["analyst"], now=T0).username == "analyst"


# -- disabled, password change, reset --------------------------------------------------------------------
def test_disabled_user_is_refused_even_with_the_right_password(store, demo):
    acc.disable_user(store, "admin", "analyst")
    assert last(store)["action"] == "user_disabled"
    with pytest.raises(acc.SignInFailed) as e:
        acc.authenticate(store, "analyst", demo["analyst"], now=T0)
    assert e.value.code == "disabled"
    acc.enable_user(store, "admin", "analyst")
    assert acc.authenticate(store, "analyst", demo["analyst"], now=T0).role == "analyst"


def test_password_change_needs_the_old_one_and_takes_effect(store, demo):
    with pytest.raises(acc.AccountError) as e:
        acc.change_password(store, "office", "not-the-old-one", "brand-new-pass")
    assert e.value.code == "wrong_password"
    with pytest.raises(acc.AccountError) as e:
        acc.change_password(store, "office", demo["office"], "short")
    assert e.value.code == "weak_password"
    acc.change_password(store, "office", demo["office"], "brand-new-pass")
    assert last(store) == {"actor": "office", "action": "password_changed", "target": "office", "details": None}
    with pytest.raises(acc.SignInFailed):
        acc.authenticate(store, "office", demo["office"], now=T0)
    assert acc.authenticate(store, "office", "brand-new-pass", now=T0).username == "office"


def test_admin_reset_clears_lockout_and_forces_a_change(store, demo):
    policy = acc.LockoutPolicy(2, 15)
    for _ in range(2):
        with pytest.raises(acc.SignInFailed):
            acc.authenticate(store, "analyst", "wrong-pass", now=T0, policy=policy)
    new = acc.reset_password(store, "admin", "analyst")
    assert len(new) >= 16
    assert last(store) == {"actor": "admin", "action": "user_password_reset", "target": "analyst",
                           "details": '{"generated": true}'}
    assert acc.must_change_password(store, "analyst")
    acc.authenticate(store, "analyst", new, now=T0, policy=policy)
    acc.change_password(store, "analyst", new, "chosen-by-me")
    assert not acc.must_change_password(store, "analyst")


def test_passwords_are_stored_as_bcrypt_hashes_never_in_clear(store, demo):
    hashes = store.df("SELECT password_hash FROM users")["password_hash"]
    assert hashes.str.startswith("$2b$").all()
    assert not hashes.isin(list(demo.values())).any()
    assert store.scalar("SELECT count(*) FROM audit_log WHERE details LIKE '%-demo%'") == 0


@pytest.mark.parametrize("password, ok", [
    ("1234567", False), ("12345678", True), ("ü" * 36, True), ("ü" * 37, False), ("x" * 72, True), ("x" * 73, False),
])
def test_password_length_rules(password, ok):
    if ok:
        acc.validate_password(password)
    else:
        with pytest.raises(acc.AccountError):
            acc.validate_password(password)


# -- admin changes are audited in the same transaction ---------------------------------------------------
def test_user_management_is_audited_with_actor_action_target(store):
    acc.add_user(store, "root", "Aigerim", "project_office", "initial-pass", display_name="Aigerim B.",
                 units=["75", "19"])
    assert last(store) == {"actor": "root", "action": "user_added", "target": "aigerim", "details": json.dumps(
        {"role": "project_office", "units": ["19", "75"], "display_name": "Aigerim B."}, ensure_ascii=False)}
    acc.update_user(store, "root", "aigerim", role="analyst", units=[])
    assert last(store) == {"actor": "root", "action": "user_changed", "target": "aigerim",
                           "details": '{"role": ["project_office", "analyst"], "units": [["19", "75"], []]}'}
    user = acc.get_user(store, "aigerim")
    assert (user.role, user.units) == ("analyst", frozenset())


def test_a_refused_change_writes_neither_the_change_nor_an_audit_entry(store):
    acc.add_user(store, "system", "boss", "admin", "boss-password")
    n = store.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(acc.AccountError) as e:
        acc.disable_user(store, "boss", "boss")
    assert e.value.code == "last_admin"
    with pytest.raises(acc.AccountError) as e:
        acc.update_user(store, "boss", "boss", role="analyst")
    assert e.value.code == "last_admin"
    assert store.scalar("SELECT count(*) FROM audit_log") == n
    assert acc.get_user(store, "boss").role == "admin"
    with pytest.raises(acc.AccountError) as e:
        acc.add_user(store, "boss", "boss", "analyst", "other-password")
    assert e.value.code == "exists"
    assert store.scalar("SELECT count(*) FROM audit_log") == n


@pytest.mark.parametrize("username, role", [("", "analyst"), ("has space", "analyst"), ("ok", "superuser")])
def test_invalid_names_and_roles_are_rejected(store, username, role):
    with pytest.raises(acc.AccountError) as e:
        acc.add_user(store, "root", username, role, "password-1")
    assert e.value.code == "invalid"


def test_sign_out_is_audited(store, demo):
    user = acc.authenticate(store, "leadership", demo["leadership"], now=T0)
    acc.sign_out(store, user)
    assert last(store) == {"actor": "leadership", "action": "sign_out", "target": "leadership",
                           "details": '{"source": "builtin"}'}


def test_language_preference_is_stored_per_user(store, demo):
    acc.set_language(store, "office", "kk")
    assert acc.get_user(store, "office").language == "kk"
    assert acc.get_user(store, "analyst").language == "en"
    with pytest.raises(acc.AccountError):
        acc.set_language(store, "office", "de")


# -- first run and demo ----------------------------------------------------------------------------------
def test_first_run_admin_takes_the_password_from_the_environment(store):
    assert acc.ensure_first_admin(store, env={"SAC_ADMIN_PASSWORD": "from-the-env"}) == "from-the-env"
    assert acc.authenticate(store, "admin", "from-the-env", now=T0).role == "admin"
    assert not acc.must_change_password(store, "admin")
    assert acc.ensure_first_admin(store, env={"SAC_ADMIN_PASSWORD": "other-pass"}) is None


def test_first_run_admin_gets_a_generated_password_printed_once(store):
    printed: list[str] = []
    password = acc.ensure_first_admin(store, env={}, log=printed.append)
    assert len(printed) == 1 and password in printed[0]
    assert acc.must_change_password(store, "admin")
    assert acc.authenticate(store, "admin", password, now=T0).role == "admin"
    assert acc.ensure_first_admin(store, env={}, log=printed.append) is None
    assert len(printed) == 1


def test_demo_accounts_are_idempotent_and_repair_a_changed_password(store):
    first = acc.ensure_demo_accounts(store)
    assert first == {"admin": "admin-demo", "analyst": "analyst-demo", "leadership": "leadership-demo",
                     "office": "office-demo"}
    acc.change_password(store, "analyst", "analyst-demo", "changed-it")
    assert acc.ensure_demo_accounts(store) == first
    assert acc.authenticate(store, "analyst", "analyst-demo", now=T0).role == "analyst"
    assert acc.list_users(store)[["username", "role", "units"]].to_dict("records") == [
        {"username": "admin", "role": "admin", "units": ""},
        {"username": "analyst", "role": "analyst", "units": ""},
        {"username": "leadership", "role": "leadership", "units": ""},
        {"username": "office", "role": "project_office", "units": "75"},
    ]


# -- OIDC claims and public views ------------------------------------------------------------------------
MAPPING = OidcMapping.from_config({
    "label": "Keycloak", "role_claim": "groups", "units_claim": "sac_regions",
    "role_map": {"sac-admins": "admin", "sac-analysts": "analyst", "akimat-office": "project_office"},
})


@pytest.mark.parametrize("claims, expected", [
    ({"sub": "1", "email": "A@gov.kz", "groups": ["sac-analysts"]}, ("a@gov.kz", "analyst", frozenset())),
    ({"sub": "1", "email": "b@gov.kz", "groups": ["akimat-office", "sac-analysts"]},
     ("b@gov.kz", "analyst", frozenset())),                                   # the most privileged wins
    ({"sub": "1", "email": "c@gov.kz", "groups": "akimat-office", "sac_regions": "75, 19"},
     ("c@gov.kz", "project_office", frozenset({"75", "19"}))),
    ({"sub": "s-9", "groups": ["sac-admins", "other"]}, ("s-9", "admin", frozenset())),   # no email: sub
])
def test_oidc_claims_map_to_role_and_units(claims, expected):
    user = user_from_claims(claims, MAPPING)
    assert (user.username, user.role, user.units) == expected
    assert user.source == "oidc"


@pytest.mark.parametrize("claims", [
    {"sub": "1", "email": "x@gov.kz", "groups": ["strangers"]},
    {"sub": "1", "email": "x@gov.kz"},
    {"sub": "1", "email": "x@gov.kz", "groups": ["akimat-office"]},          # office without regions
])
def test_oidc_identity_without_a_mapped_role_is_refused(claims):
    with pytest.raises(PermissionDenied):
        user_from_claims(claims, MAPPING)


def test_oidc_mapping_rejects_unknown_roles_in_configuration():
    with pytest.raises(ValueError):
        OidcMapping.from_config({"role_map": {"x": "superuser"}})


def test_oidc_sign_in_creates_the_account_and_a_disabled_one_is_refused(store):
    mapped = user_from_claims({"sub": "1", "email": "c@gov.kz", "groups": "akimat-office", "sac_regions": "75"},
                              MAPPING)
    user = acc.sign_in_oidc(store, mapped, now=T0)
    assert (user.role, user.units, user.source) == ("project_office", frozenset({"75"}), "oidc")
    assert last(store)["action"] == "sign_in" and last(store)["target"] == "c@gov.kz"
    with pytest.raises(acc.SignInFailed):                 # no password: cannot use the built-in form
        acc.authenticate(store, "c@gov.kz", "anything-at-all", now=T0)
    acc.set_language(store, "c@gov.kz", "ru")
    assert acc.sign_in_oidc(store, mapped, now=T0).language == "ru"
    acc.disable_user(store, "admin", "c@gov.kz")
    with pytest.raises(acc.SignInFailed) as e:
        acc.sign_in_oidc(store, mapped, now=T0)
    assert e.value.code == "disabled"


@pytest.mark.parametrize("env, config, expected", [
    ({}, None, False),
    ({}, {"public_views": True}, True),
    ({"SAC_PUBLIC_VIEWS": "1"}, None, True),
    ({"SAC_PUBLIC_VIEWS": "0"}, {"public_views": True}, False),
    ({"SAC_PUBLIC_VIEWS": "yes"}, None, True),
    ({"SAC_PUBLIC_VIEWS": ""}, {"public_views": True}, True),
])
def test_public_views_are_off_by_default(env, config, expected):
    assert public_views_enabled(env, config) is expected
