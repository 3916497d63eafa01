"""A subscriber's cabinet password, set by a manager on the account card and by
`abonent account password`; a new password ends the cabinet sessions open before."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.models import AuditEntry


@pytest.mark.sqlite_only
def test_card_and_command_line_set_the_password(admin_client, world, client, new_client,
                                                abonent_database, tmp_path, runtime):
    manager = admin_client("manager")
    short = manager.post(f"/admin/card/{world.account.id}/cabinet-password",
                         {"cabinet-password": "short"}, follow_redirects=True)
    assert "at least 8 characters" in short.get_data(as_text=True)
    assert manager.post(f"/admin/card/{world.account.id}/cabinet-password",
                        {"cabinet-password": "from the card 1"}).status_code == 302
    assert client.http.get("/my/").status_code == 302  # the old session ended
    assert new_client().login("ivan", "from the card 1").status_code == 302
    env = {"ABONENT_DATABASE_URL": abonent_database.url, "ABONENT_VAR_DIR": str(tmp_path),
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss", "ABONENT_CONFIG": ""}
    from admin.cli import cli
    done = CliRunner().invoke(cli, ["account", "password", "ivan", "--password-stdin"],
                              input="from the shell 2\n", env=env)
    assert done.exit_code == 0 and "cabinet password of ivan set" in done.output
    assert new_client().login("ivan", "from the card 1").status_code == 401
    assert new_client().login("ivan", "from the shell 2").status_code == 302
    unknown = CliRunner().invoke(cli, ["account", "password", "nobody", "--password-stdin"],
                                 input="whatever 123\n", env=env)
    assert unknown.exit_code == 1 and "login: no live account 'nobody'" in unknown.output
    with runtime.session() as s:
        actors = s.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "set_cabinet_password").order_by(AuditEntry.id)).all()
    assert actors[0] == "test" and actors[1].startswith("manager:") and actors[2:] == ["cli"]
