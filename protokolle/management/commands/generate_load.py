"""Fill a database with realistic confirmed minutes, for measurements (bench/archive)."""

import datetime
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max

from protokolle.models import (
    AgendaItem,
    Body,
    Meeting,
    Membership,
    Participant,
    Person,
    Presenter,
    Result,
    SearchEntry,
)
from protokolle.search import entries_for

BODIES = [
    "Werkstatt Wirtschaft, Innovation, Wissenschaft",
    "Werkstatt Infrastruktur und Mobilität",
    "Werkstatt Daseinsvorsorge und Gemeinwesen",
    "Werkstatt Kultur, Tourismus, Marketing",
    "Werkstatt Fachkräfte und Bildung",
]
TOPICS = [
    "Trinkwasserverbund Lausitz",
    "Smart Regions",
    "Qualifizierung von Kita-Projekten",
    "Revierwende",
    "Wasserstoffnetz Cottbus",
    "Breitbandausbau im ländlichen Raum",
    "Fachkräftesicherung in der Pflege",
    "Strukturstärkungsgesetz: Förderaufruf",
    "Bahnstrecke Cottbus–Görlitz",
    "Innovationscampus Schwarze Pumpe",
    "Energieautarkie der Kommunen",
    "Digitaler Zwilling der Stadt",
    "Tourismuskonzept Spreewald",
    "Berufsorientierung an Oberschulen",
    "Gewerbegebiet Guben",
    "Sanierung des Rathauses",
    "Radwegenetz Spree-Neiße",
    "Ansiedlung eines Batteriewerks",
]
VERBS = [
    "berichtet über den Stand",
    "stellt die Projektskizze vor",
    "erläutert die Förderbedingungen",
    "weist auf offene Fragen hin",
    "schlägt eine Arbeitsgruppe vor",
    "bittet um Rückmeldung bis zur nächsten Sitzung",
]
ACTORS = ["Die WRL", "Die Werkstatt", "Das MWAE", "Der Landkreis", "Die Stadt Cottbus", "Die DABB"]
PEOPLE = [
    ("Sven Guntermann", None, "Werkstattsprecher"),
    ("Katja Boll", "ver.di", "Gewerkschaftssekretärin"),
    ("Dr. Elena Herzog", "WRL", "Projektmanagerin"),
    ("Peter Siebert", "DABB", "Bereichsleiter"),
    ("Anna Müller", "IHK Cottbus", "Referentin"),
    ("Jörg Weiß", "Stadt Görlitz", "Beigeordneter"),
    ("Sören Groß", "HWK Cottbus", "Berater"),
    ("Uwe Schulz", "LK Spree-Neiße", "Dezernent"),
]
STAGES = ["Sachstand", "Vorstellung", "Diskussion", "Beschluss"]
KINDS = ["information", "information", "information", "decision", "task", "note"]


class Command(BaseCommand):
    help = "Fill the database with N realistic confirmed meetings (German text), for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--meetings", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, meetings, seed, **options):
        if meetings < 1:
            raise CommandError("--meetings must be at least 1")
        rng = random.Random(seed)
        people = self.people()
        bodies = self.bodies(people)
        started = time.monotonic()
        batch = 200
        for first in range(0, meetings, batch):
            count = min(batch, meetings - first)
            with transaction.atomic():
                self.batch(rng, bodies, people, count)
            done = first + count
            rate = done / (time.monotonic() - started)
            self.stderr.write(f"{done}/{meetings} meetings ({rate:.0f} per second)")
        if connection.vendor == "postgresql":
            # Planner statistics for what was just written, as autovacuum would make them
            # some minutes later: without them PostgreSQL guesses that a common word
            # matches a few rows and reads all 260,000 of its hits (bench/archive).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(f"generated {meetings} confirmed meetings in {len(bodies)} bodies")

    def people(self):
        return [
            Person.objects.get_or_create(name=name, defaults={"organisation": org, "function": fn})[
                0
            ]
            for name, org, fn in PEOPLE
        ]

    def bodies(self, people):
        bodies = []
        for name in BODIES:
            body, created = Body.objects.get_or_create(name=name, defaults={"place": "Cottbus"})
            if created:
                for person in people:
                    Membership.objects.create(body=body, person=person)
            bodies.append(body)
        return bodies

    def batch(self, rng, bodies, people, count):
        numbers = {b.pk: (b.meetings.aggregate(n=Max("number"))["n"] or 0) for b in bodies}
        created = []
        for _ in range(count):
            body = rng.choice(bodies)
            numbers[body.pk] += 1
            number = numbers[body.pk]
            date = datetime.date(2015, 1, 5) + datetime.timedelta(days=number * 21 + body.pk)
            chair = rng.choice(people)
            created.append(
                Meeting(
                    body=body,
                    number=number,
                    date=date,
                    start=datetime.time(10, 0),
                    end=datetime.time(12, 0),
                    location=rng.choice(["Online", "Cottbus, Stadthalle", "Senftenberg"]),
                    status=Meeting.Status.CIRCULATED,
                    chair_name=chair.name,
                    chair_function="Werkstattsprecher",
                    minute_taker_name="Alexander Boldt",
                    public=rng.random() > 0.1,
                )
            )
        created = Meeting.objects.bulk_create(created)  # with their ids, on both databases
        items, presenters, results, participants = [], [], [], []
        for meeting in created:
            for position, person in enumerate(rng.sample(people, 5)):
                participants.append(
                    Participant(
                        meeting=meeting,
                        position=position,
                        name=person.name,
                        organisation=person.organisation,
                        status=rng.choice(["present", "present", "excused"]),
                    )
                )
            for position in range(rng.randint(10, 30)):
                topic = rng.choice(TOPICS)
                items.append(
                    AgendaItem(
                        meeting=meeting,
                        position=position,
                        title=f"{topic}: {rng.choice(STAGES)}",
                        public=rng.random() > 0.05,
                    )
                )
        AgendaItem.objects.bulk_create(items, batch_size=2000)
        for item in items:
            person = rng.choice(people)
            presenters.append(
                Presenter(
                    agenda_item=item,
                    name=person.name,
                    organisation=person.organisation,
                    function=person.function,
                )
            )
            for position in range(rng.randint(2, 6)):
                kind = rng.choice(KINDS)
                topic = item.title.split(":")[0]
                text = (
                    f"{rng.choice(ACTORS)} {rng.choice(VERBS)} zum Projekt {topic}. "
                    f"{rng.choice(ACTORS)} {rng.choice(VERBS)}."
                )
                results.append(
                    Result(
                        agenda_item=item,
                        position=position,
                        kind=kind,
                        text=text,
                        responsible=rng.choice(ACTORS) if kind == "task" else None,
                        due=item.meeting.date + datetime.timedelta(days=60)
                        if kind == "task"
                        else None,
                    )
                )
        Presenter.objects.bulk_create(presenters, batch_size=2000)
        Result.objects.bulk_create(results, batch_size=2000)
        Participant.objects.bulk_create(participants, batch_size=2000)
        # Confirm last: the database refuses new rows under confirmed minutes.
        entries = []
        for meeting in Meeting.objects.for_minutes().filter(pk__in=[m.pk for m in created]):
            entries += entries_for(meeting)
        Meeting.objects.filter(pk__in=[m.pk for m in created]).update(
            status=Meeting.Status.CONFIRMED
        )
        SearchEntry.objects.bulk_create(entries, batch_size=2000)
