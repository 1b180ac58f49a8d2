import datetime

import factory

from protokolle import models


class BodyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Body
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Werkstatt {n}")
    place = "Cottbus"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    name = factory.Faker("name", locale="de_DE")
    organisation = "WRL"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership

    body = factory.SubFactory(BodyFactory)
    person = factory.SubFactory(PersonFactory)


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Meeting

    body = factory.SubFactory(BodyFactory)
    number = factory.Sequence(lambda n: n + 1)
    date = datetime.date(2022, 3, 21)
    start = datetime.time(10, 0)
    end = datetime.time(12, 0)
    location = "Online"


class AgendaItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.AgendaItem

    meeting = factory.SubFactory(MeetingFactory)
    position = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"Tagesordnungspunkt {n}")


class ResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Result

    agenda_item = factory.SubFactory(AgendaItemFactory)
    position = factory.Sequence(lambda n: n)
    text = "Die Werkstatt nimmt den Bericht zur Kenntnis."


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Participant

    meeting = factory.SubFactory(MeetingFactory)
    name = factory.Faker("name", locale="de_DE")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("secret")
