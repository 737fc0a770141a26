"""`vidoro subject`: a register extract from the command line, registered, screened, decided and delivered,
with the decision maker's reading of the draft and release required before the extract is written."""

from __future__ import annotations

import io
import os
import stat
from datetime import timedelta

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from cases import ConcernForm, Database, add_staff, register_concern
from cases.crypto.keys import FileKeyStore
from tests.conftest import NOW
from tests.web.test_cli import assert_ok, run
from web.cli import main

GIVEN, FAMILY = "Cliutdrag-Rq", "Testsson-Nm"
REPORTER = "Cli-anmälare-Vb"


def refused(result, words: str) -> None:
    """Refused as every refusal of the records layer is at the command line: a non-zero status and the reason."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert words in result.output


def text_of(path) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


@pytest.fixture
def instance(tmp_path, blank_url, adult_number):
    """An initialised instance with an intake officer, a caseworker and a decision maker, and one case."""
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=blank_url))
    database = Database(blank_url, keys=FileKeyStore(home / "keys"))
    try:
        staff = {role: add_staff(database, f"{role}-cli", f"Cli {role}", role)
                 for role in ("intake", "caseworker", "decider", "auditor")}
        ref = register_concern(database, staff["intake"], ConcernForm(
            concern="Oro för våldsbejakande kontakter.", reporter_org="relative", identity_number=adult_number,
            given_name=GIVEN, family_name=FAMILY, reporter_name=REPORTER), now=NOW - timedelta(days=1)).ref
    finally:
        database.dispose()
    return home, blank_url, ref


def test_request_decide_deliver(instance, adult_number, tmp_path):
    home, url, ref = instance
    requested = run(home, "subject", "extract", "--identity-number", adult_number, "--requested-by",
                    "caseworker-cli", "--draft", str(tmp_path / "draft.pdf"), url=url)
    assert_ok(requested)
    assert "1 cases" in requested.output and ref not in requested.output  # a count, not which cases
    assert adult_number not in requested.output and GIVEN not in requested.output
    request_id = requested.output.split()[1].rstrip(":")
    assert "UTKAST" in text_of(tmp_path / "draft.pdf")
    out = tmp_path / "extract.pdf"
    refused(run(home, "subject", "deliver", request_id, "--by", "caseworker-cli", "-o", str(out), url=url),
            "decision maker has not decided")
    assert not out.exists()
    refused(run(home, "subject", "decide", request_id, "--decided-by", "auditor-cli", "--release", url=url),
            "may not")
    refused(run(home, "subject", "decide", request_id, "--decided-by", "decider-cli", "--release", url=url),
            "read the draft")
    assert_ok(run(home, "subject", "draft", request_id, "--by", "decider-cli", "-o", str(tmp_path / "d.pdf"),
                  url=url))
    assert_ok(run(home, "subject", "decide", request_id, "--decided-by", "decider-cli", "--release", url=url))
    assert_ok(run(home, "subject", "deliver", request_id, "--by", "caseworker-cli", "-o", str(out), url=url))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = text_of(out)
    assert ref in text and f"{GIVEN} {FAMILY}" in text and REPORTER not in text and "UTKAST" not in text


def test_there_is_no_one_shot_release(instance, adult_number, tmp_path):
    home, url, _ = instance
    out = tmp_path / "extract.pdf"
    environment = {key: None for key in os.environ if key.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_DATABASE_URL=url)
    done = CliRunner().invoke(main, ["subject", "extract", "--requested-by", "caseworker-cli", "--decided-by",
                                     "decider-cli", "-o", str(out)], env=environment, input=f"{adult_number}\n")
    assert done.exit_code != 0 and "--decided-by" in done.output and not out.exists()
    drafted = CliRunner().invoke(main, ["subject", "extract", "--requested-by", "caseworker-cli", "--draft",
                                        str(out)], env=environment, input=f"{adult_number}\n")
    assert_ok(drafted)
    assert adult_number not in drafted.output and "next:" in drafted.output
    assert "UTKAST" in text_of(out)
