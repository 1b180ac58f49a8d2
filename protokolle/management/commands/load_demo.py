import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from protokolle import exchange, workflow
from protokolle.models import AgendaItem, Meeting, Membership, Person, Presenter

DEMO_DOCUMENT = (
    Path(exchange.__file__).resolve().parent / "demo" / "ergebnisprotokoll-2022-03-21.json"
)
DEMO_PASSWORD = "demo"
# Where the demo body's quorum rule comes from (an example: the rule is the default).
QUORUM_SOURCE = "§ 5 Abs. 2 Geschäftsordnung der Werkstatt"

# The body's members as the reference minutes name them: (name, organisation,
# function, role, voting, demo user).
MEMBERS = [
    ("Sven Guntermann", None, "Werkstattsprecher", Membership.Role.CHAIR, True, None),
    ("Alexander Boldt", "WRL", "Projektmanager", Membership.Role.MINUTE_TAKER, False, "protokoll"),
    ("Dr. Elena Herzog", "WRL", "Projektmanagerin", Membership.Role.MEMBER, False, None),
    (
        "Katja Boll",
        "ver.di",
        "Gewerkschaftssekretärin Landesverwaltungen Brandenburg",
        Membership.Role.MEMBER,
        True,
        "mitglied",
    ),
]


GERMAN_FOLDING = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
)


def demo_email(name):
    """„Dr. Jörg Weiß“ → joerg.weiss@example.org: the demo's members get mail on the console.

    German letters are spelt out first (ö → oe); slugify drops the other accents.
    """
    words = [word for word in name.split() if not word.endswith(".")]
    local = ".".join(slugify(word.translate(GERMAN_FOLDING)) for word in words)
    return f"{local}@example.org"


class Command(BaseCommand):
    help = "Load the demo minutes (8th Werkstatt meeting, 21.03.2022), members and demo users."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even though DEBUG is off (creates users with the password 'demo')",
        )

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "load_demo creates users with a known password; it runs only with DEBUG on "
                "(or with --force)."
            )
        with transaction.atomic():
            meeting = self.load_minutes()
            self.load_quorum_rule(meeting.body)
            self.publish(meeting.body)
            people = self.load_members(meeting.body)
            self.link_snapshots(meeting, people)
            self.load_users(people)
            planned = self.load_planned(meeting)
        self.stdout.write(f"Demo minutes: {meeting} (id {meeting.pk})")
        self.stdout.write(
            f"Planned meeting: {planned} (id {planned.pk}); send its invitation at "
            f"/meetings/{planned.pk}/invite/ (the mails appear on this console)"
        )
        self.stdout.write(
            "Public pages: /public/ and OParl: /oparl/v1/ (the Werkstatt is published)"
        )
        self.stdout.write(f"Demo users (password '{DEMO_PASSWORD}'):")
        self.stdout.write("  admin      site administrator (/admin/)")
        self.stdout.write("  protokoll  minute-taker of the Werkstatt (Alexander Boldt)")
        self.stdout.write("  mitglied   member of the Werkstatt (Katja Boll)")

    def load_minutes(self):
        document = exchange.parse(DEMO_DOCUMENT.read_bytes())
        existing = Meeting.objects.filter(
            body__name=document["body"]["name"], number=document["meeting"]["number"]
        ).first()
        return existing or workflow.import_minutes(document)

    def load_planned(self, minutes):
        """The Werkstatt's next meeting, three weeks ahead: invitations, replies and the
        calendar entry can be tried on it, and after it its draft is the skeleton of
        the minutes."""
        body = minutes.body
        existing = Meeting.objects.filter(body=body, number=minutes.number + 1).first()
        if existing:
            return existing
        planned = Meeting.objects.create(
            body=body,
            number=minutes.number + 1,
            date=timezone.localdate() + datetime.timedelta(days=21),
            start=datetime.time(10, 0),
            end=datetime.time(12, 0),
            location="Online",
            chair_name=minutes.chair_name,
            chair_function=minutes.chair_function,
            chair_person=minutes.chair_person,
            minute_taker_name=minutes.minute_taker_name,
            minute_taker_function=minutes.minute_taker_function,
            minute_taker_person=minutes.minute_taker_person,
        )
        agenda = [
            (
                f"Begrüßung und Bestätigung des Protokolls der {minutes.number}. Sitzung",
                minutes.chair_name,
                minutes.chair_function,
            ),
            ("Bericht aus den Projekten der Werkstatt", "Dr. Elena Herzog", "Projektmanagerin"),
            ("Sonstiges", None, None),
        ]
        for position, (title, name, function) in enumerate(agenda, start=1):
            item = AgendaItem.objects.create(meeting=planned, position=position, title=title)
            if name:
                Presenter.objects.create(agenda_item=item, name=name, function=function)
        return planned

    def load_quorum_rule(self, body):
        """The default rule (more than half), with where a body's rules would state it."""
        if not body.quorum_source:
            body.quorum_source = QUORUM_SOURCE
            body.save(update_fields=["quorum_source"])

    def publish(self, body):
        """The demo Werkstatt is public: /public/, OParl and the feeds show it."""
        if not body.published:
            body.published = True
            body.save()

    def load_members(self, body):
        people = {}
        for name, organisation, function, role, voting, _user in MEMBERS:
            person, _ = Person.objects.get_or_create(
                name=name,
                defaults={
                    "organisation": organisation,
                    "function": function,
                    "email": demo_email(name),
                },
            )
            if not person.email:
                # Loaded before the demo had addresses: complete it, keep any address set.
                person.email = demo_email(name)
                person.save(update_fields=["email"])
            Membership.objects.get_or_create(
                body=body, person=person, defaults={"role": role, "voting": voting}
            )
            people[name] = person
        return people

    def link_snapshots(self, meeting, people):
        """Link the printed names to the records, as the editor would have."""
        if meeting.chair_name in people:
            meeting.chair_person = people[meeting.chair_name]
        if meeting.minute_taker_name in people:
            meeting.minute_taker_person = people[meeting.minute_taker_name]
        meeting.save(update_fields=["chair_person", "minute_taker_person"])
        for name, person in people.items():
            Presenter.objects.filter(agenda_item__meeting=meeting, name=name).update(person=person)

    def load_users(self, people):
        User = get_user_model()
        admin, _ = User.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        for name, *_rest, username in MEMBERS:
            if username is None:
                continue
            user, _ = User.objects.get_or_create(username=username)
            first, _space, last = name.rpartition(" ")
            user.first_name, user.last_name = first, last
            user.set_password(DEMO_PASSWORD)
            user.save()
            person = people[name]
            person.user = user
            person.save(update_fields=["user"])
