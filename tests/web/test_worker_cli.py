"""`vidoro worker --once`: runs what is due and exits; run again at once, nothing is due. On both databases."""

from __future__ import annotations

from tests.web.test_cli import assert_ok, run


def test_worker_once_runs_each_due_job_once(tmp_path, blank_url):
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=blank_url))
    first = run(home, "worker", "--once", url=blank_url)
    assert_ok(first)
    assert "checkpoints: done (4 checkpoints)" in first.output
    assert "expire_consents: done (0 interventions ended)" in first.output
    for job in ("deadline_reminders", "send_mail", "retention"):  # issue 19's jobs, each once
        assert sum(line.startswith(f"{job}: done (") for line in first.output.splitlines()) == 1, first.output
    assert first.output.strip().endswith("5 jobs run")
    again = run(home, "worker", "--once", url=blank_url)
    assert_ok(again)
    assert again.output.strip() == "0 jobs run"


def test_worker_without_checkpoints_runs_the_other_jobs(tmp_path, blank_url):
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=blank_url))
    result = run(home, "worker", "--once", url=blank_url, VIDORO_CHECKPOINT_INTERVAL="0")
    assert_ok(result)
    ran = [line.split(":")[0] for line in result.output.splitlines() if ": done (" in line]
    assert sorted(ran) == ["deadline_reminders", "expire_consents", "retention", "send_mail"], result.output
    assert result.output.strip().endswith("4 jobs run")


def test_a_bad_worker_setting_is_one_line(tmp_path):
    result = run(tmp_path / "instance", "worker", "--once", VIDORO_WORKER="sometimes")
    assert result.exit_code == 2 and "VIDORO_WORKER must be one of on, off" in result.output


def test_a_server_with_the_worker_off_runs_no_jobs_and_says_so(tmp_path, capsys):
    from web.config import load_config
    from web.worker_cli import jobs_beside_server

    with jobs_beside_server(load_config({"VIDORO_HOME": tmp_path, "VIDORO_WORKER": "off"})):
        pass
    assert "VIDORO_WORKER=off" in capsys.readouterr().err
    assert not (tmp_path / "vidoro.db").exists()  # not even opened
