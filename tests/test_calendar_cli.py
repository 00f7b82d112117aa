"""`complaintflow calendar ...` through click's runner, against the test database."""
from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from complaintflow.cli import main
from engine.db import Database
from engine.holidays import loaded_years


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("DATABASE_URL", database_url)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["calendar", *args])

    return invoke


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2025-09-30T10:00:00+08:00", "--working-days", "2"], "2025-10-11T00:00:00+08:00"),
        (["--from", "2025-09-27T15:00:00+08:00", "--working-days", "1"], "2025-09-29T00:00:00+08:00"),
        (["--from", "2026-02-13T10:00:00+08:00", "--working-days", "2"], "2026-02-25T00:00:00+08:00"),
        (["--from", "2025-09-30T15:00:00+08:00", "--business-hours", "4"], "2025-10-09T11:00:00+08:00"),
        (["--from", "2025-09-30T10:00:00+08:00", "--hours", "1.5"], "2025-09-30T11:30:00+08:00"),
        (["--from", "2025-09-20T10:00:00+08:00", "--calendar-days", "15"], "2025-10-10T00:00:00+08:00"),
        # A UTC start is shown in Beijing time; 01:30Z on Sep 30 is 09:30 local.
        (["--from", "2025-09-30T01:30:00+00:00", "--business-hours", "1"], "2025-09-30T10:30:00+08:00"),
        # Without an offset the start is Beijing time.
        (["--from", "2025-09-30T10:00", "--working-days", "1"], "2025-10-10T00:00:00+08:00"),
    ],
)
def test_due_prints_the_deadline(run, args: list[str], expected: str) -> None:  # noqa: ANN001
    result = run("due", *args)
    assert result.exit_code == 0, result.output
    assert result.output == expected + "\n"


def test_due_seeds_an_empty_database(run, db: Database) -> None:  # noqa: ANN001
    with db.read() as session:
        assert loaded_years(session) == []
    assert run("due", "--from", "2025-09-30T10:00", "--hours", "1").exit_code == 0
    with db.read() as session:
        assert loaded_years(session) == list(range(2004, 2027))


def test_due_into_an_unknown_year_exits_2(run) -> None:  # noqa: ANN001
    result = run("due", "--from", "2026-12-31T10:00:00+08:00", "--working-days", "1")
    assert result.exit_code == 2
    assert "no holiday data for 2027" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday", "--hours", "1"], "not an ISO datetime"),
        (["--from", "2025-09-30T10:00"], "exactly one of"),
        (["--from", "2025-09-30T10:00", "--hours", "1", "--working-days", "1"], "exactly one of"),
        (["--from", "2025-09-30T10:00", "--working-days", "-1"], "--working-days"),
        (["--from", "2025-09-30T10:00", "--working-days", "5000"], "between 0 and 3650"),
    ],
)
def test_due_bad_input_exits_2(run, args: list[str], message: str) -> None:  # noqa: ANN001
    result = run("due", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_import_then_due_into_the_new_year(run, db: Database) -> None:  # noqa: ANN001
    result = run(
        "import", "--year", "2027", "--holidays", "2027-01-01, 2027-02-08", "--workdays", "2027-02-06"
    )
    assert result.exit_code == 0, result.output
    assert result.output == "imported 2027: 2 holidays, 1 working days\n"
    # The database is not empty any more, so `due` seeds nothing: only 2027 is known.
    result = run("due", "--from", "2027-02-05T10:00", "--working-days", "1")
    assert result.output == "2027-02-07T00:00:00+08:00\n"
    with db.read() as session:
        assert loaded_years(session) == [2027]
    # The day of receipt is not counted, so a 2026 receipt may need 2027 only...
    result = run("due", "--from", "2026-12-31T10:00", "--working-days", "1")
    assert result.output == "2027-01-05T00:00:00+08:00\n"
    # ...but counting 31 December 2026 needs 2026, until it is seeded.
    result = run("due", "--from", "2026-12-30T10:00", "--working-days", "1")
    assert result.exit_code == 2
    assert "no holiday data for 2026" in result.output
    assert run("seed", "--year", "2026").output == "seeded: 2026\n"
    result = run("due", "--from", "2026-12-30T10:00", "--working-days", "1")
    assert result.output == "2027-01-01T00:00:00+08:00\n"


def test_import_refuses_dates_outside_the_year(run, db: Database) -> None:  # noqa: ANN001
    result = run("import", "--year", "2027", "--holidays", "2027-01-01,2028-01-01")
    assert result.exit_code == 2
    assert "outside 2027: 2028-01-01" in result.output
    result = run("import", "--year", "2027", "--holidays", "2027-13-01")
    assert result.exit_code == 2
    assert "not an ISO date" in result.output
    with db.read() as session:
        assert loaded_years(session) == []


def test_seed_is_idempotent(run, db: Database) -> None:  # noqa: ANN001
    assert run("seed", "--year", "2025").output == "seeded: 2025\n"
    result = run("seed")
    assert result.exit_code == 0
    assert result.output.startswith("seeded: 2004, 2005") and "2025" not in result.output
    assert run("seed").output == "nothing to seed: all years loaded\n"
    assert run("seed", "--year", "2030").exit_code == 2
    with db.read() as session:
        assert loaded_years(session) == list(range(2004, 2027))


def test_check_names_next_year_from_october_when_it_is_not_loaded(run) -> None:  # noqa: ANN001
    assert run("check", "--today", "2026-09-30").exit_code == 0
    result = run("check", "--today", "2026-10-01")
    assert result.exit_code == 1
    assert "2027" in result.output


def test_check_passes_once_next_year_is_imported(run) -> None:  # noqa: ANN001
    assert run("seed").exit_code == 0
    assert run("import", "--year", "2027", "--holidays", "2027-01-01").exit_code == 0
    result = run("check", "--today", "2026-11-25")
    assert result.exit_code == 0, result.output


def test_check_refuses_a_bad_date(run) -> None:  # noqa: ANN001
    result = run("check", "--today", "25.11.2026")
    assert result.exit_code == 2
    assert "--today" in result.output
