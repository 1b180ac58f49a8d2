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


def user_in(
    body,
    role=models.Membership.Role.MEMBER,
    voting=True,
    start=None,
    end=None,
    user=None,
    **person_fields,
):
    """A user account with a person and a membership in ``body``; returns the user.

    ``user``: an account to seat instead of a new one, e.g.
    ``UserFactory(username="boldt", is_staff=True)``; its person is reused where it has
    one. ``person_fields`` (name, email, …) go to the new person.
    """
    user = user or UserFactory()
    person = getattr(user, "person", None)
    if person is None:
        person = PersonFactory(user=user, **person_fields)
    else:
        assert not person_fields, f"{user} already has a person: {person}"
    MembershipFactory(body=body, person=person, role=role, voting=voting, start=start, end=end)
    return user


def writer_of(body, **kwargs):
    """A minute-taker of ``body``: ``user_in`` with the role set."""
    return user_in(body, models.Membership.Role.MINUTE_TAKER, **kwargs)
