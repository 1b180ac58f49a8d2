"""Confirmed minutes never change, by any path: the database refuses it.

Triggers refuse every UPDATE or DELETE of a confirmed meeting, every INSERT,
UPDATE or DELETE of a row that belongs to one (agenda items, presenters,
results, participants, attachments, approvals, versions, responses), and any
change to an archived PDF's record. The models raise a clearer error first;
the triggers also hold for raw SQL, QuerySet.update() and bulk operations.

SQLite loses a table's triggers whenever a migration rebuilds that table, so
they are created anew after every migrate (post_migrate, see apps.py), not
only by migration 0004.
"""

MESSAGE = "confirmed minutes never change"
MEETING_CHILDREN = [
    "protokolle_agendaitem",
    "protokolle_participant",
    "protokolle_attachment",
    "protokolle_approval",
    "protokolle_minutesversion",
    "protokolle_response",
]
ITEM_CHILDREN = ["protokolle_presenter", "protokolle_result"]
CONFIRMED_MEETING = (
    "(SELECT status FROM protokolle_meeting WHERE id = {row}.meeting_id) = 'confirmed'"
)
CONFIRMED_ITEM = (
    "(SELECT m.status FROM protokolle_meeting m JOIN protokolle_agendaitem a "
    "ON a.meeting_id = m.id WHERE a.id = {row}.agenda_item_id) = 'confirmed'"
)


def sqlite_statements():
    raise_ = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    yield (
        "CREATE TRIGGER protokolle_meeting_confirmed_update BEFORE UPDATE ON protokolle_meeting "
        f"WHEN OLD.status = 'confirmed' {raise_}"
    )
    yield (
        "CREATE TRIGGER protokolle_meeting_confirmed_delete BEFORE DELETE ON protokolle_meeting "
        f"WHEN OLD.status = 'confirmed' {raise_}"
    )
    for tables, condition in (
        (MEETING_CHILDREN, CONFIRMED_MEETING),
        (ITEM_CHILDREN, CONFIRMED_ITEM),
    ):
        for table in tables:
            new, old = condition.format(row="NEW"), condition.format(row="OLD")
            yield (
                f"CREATE TRIGGER {table}_confirmed_insert BEFORE INSERT ON {table} "
                f"WHEN {new} {raise_}"
            )
            yield (
                f"CREATE TRIGGER {table}_confirmed_update BEFORE UPDATE ON {table} "
                f"WHEN {old} OR {new} {raise_}"
            )
            yield (
                f"CREATE TRIGGER {table}_confirmed_delete BEFORE DELETE ON {table} "
                f"WHEN {old} {raise_}"
            )
    for operation in ("UPDATE", "DELETE"):
        yield (
            f"CREATE TRIGGER protokolle_archivedpdf_{operation.lower()} BEFORE {operation} "
            f"ON protokolle_archivedpdf {raise_}"
        )


def sqlite_drop_statements():
    yield "DROP TRIGGER IF EXISTS protokolle_meeting_confirmed_update"
    yield "DROP TRIGGER IF EXISTS protokolle_meeting_confirmed_delete"
    for table in MEETING_CHILDREN + ITEM_CHILDREN:
        for operation in ("insert", "update", "delete"):
            yield f"DROP TRIGGER IF EXISTS {table}_confirmed_{operation}"
    yield "DROP TRIGGER IF EXISTS protokolle_archivedpdf_update"
    yield "DROP TRIGGER IF EXISTS protokolle_archivedpdf_delete"


def postgresql_statements():
    raise_ = f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'"
    yield f"""
        CREATE FUNCTION protokolle_refuse() RETURNS trigger AS $$
        BEGIN {raise_}; END $$ LANGUAGE plpgsql"""
    yield """
        CREATE TRIGGER protokolle_meeting_confirmed BEFORE UPDATE OR DELETE ON protokolle_meeting
        FOR EACH ROW WHEN (OLD.status = 'confirmed') EXECUTE FUNCTION protokolle_refuse()"""
    for name, condition in (("meeting_child", CONFIRMED_MEETING), ("item_child", CONFIRMED_ITEM)):
        yield f"""
            CREATE FUNCTION protokolle_guard_{name}() RETURNS trigger AS $$
            BEGIN
              IF TG_OP <> 'INSERT' AND {condition.format(row="OLD")} THEN {raise_}; END IF;
              IF TG_OP <> 'DELETE' AND {condition.format(row="NEW")} THEN {raise_}; END IF;
              IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""
    for tables, name in ((MEETING_CHILDREN, "meeting_child"), (ITEM_CHILDREN, "item_child")):
        for table in tables:
            yield f"""
                CREATE TRIGGER {table}_confirmed BEFORE INSERT OR UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION protokolle_guard_{name}()"""
    yield """
        CREATE TRIGGER protokolle_archivedpdf_confirmed BEFORE UPDATE OR DELETE
        ON protokolle_archivedpdf FOR EACH ROW EXECUTE FUNCTION protokolle_refuse()"""


def postgresql_drop_statements():
    yield "DROP TRIGGER IF EXISTS protokolle_meeting_confirmed ON protokolle_meeting"
    for table in MEETING_CHILDREN + ITEM_CHILDREN:
        yield f"DROP TRIGGER IF EXISTS {table}_confirmed ON {table}"
    yield "DROP TRIGGER IF EXISTS protokolle_archivedpdf_confirmed ON protokolle_archivedpdf"
    yield "DROP FUNCTION IF EXISTS protokolle_guard_meeting_child()"
    yield "DROP FUNCTION IF EXISTS protokolle_guard_item_child()"
    yield "DROP FUNCTION IF EXISTS protokolle_refuse()"


STATEMENTS = {
    "sqlite": (sqlite_statements, sqlite_drop_statements),
    "postgresql": (postgresql_statements, postgresql_drop_statements),
}


def _execute(connection, statements):
    vendor = connection.vendor
    if vendor not in STATEMENTS:
        raise RuntimeError(f"no immutability triggers for the {vendor} database; add them here")
    with connection.cursor() as cursor:
        for statement in statements(vendor):
            cursor.execute(statement)


def drop(connection):
    _execute(connection, lambda vendor: STATEMENTS[vendor][1]())


def ensure(connection):
    """(Re)create every trigger: drop what is there, create all."""
    _execute(connection, lambda vendor: [*STATEMENTS[vendor][1](), *STATEMENTS[vendor][0]()])


def present(connection):
    """Names of the triggers in the database (for tests and checks)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()}
