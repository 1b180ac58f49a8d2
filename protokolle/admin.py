"""The admin: master data (bodies, people, memberships) and a full meeting editor.

A meeting's agenda items, with their presenters and results, participants,
approvals and attachments are edited as nested inlines on the meeting's page.
Confirmed minutes are shown read only: they never change.

The status is never edited here: circulating, reopening and confirming are admin
actions (and buttons on a meeting's page) that call ``workflow``, so that each
leaves what the workflow leaves (a version, a confirmation date, the archived PDF,
search entries). People and user accounts that confirmed minutes refer to cannot
be deleted: the minutes would have to change.
"""

import tempfile

import nested_admin
from django import forms as django_forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.http import FileResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from werkstatt.client_ip import client_ip

from . import archive, immutability, jobs, pdf, uploads, workflow
from .forms import ConflictsOfInterestField
from .models import (
    AgendaItem,
    Approval,
    ArchivedPdf,
    Attachment,
    Body,
    Meeting,
    Membership,
    MinutesVersion,
    Participant,
    Person,
    Presenter,
    Response,
    Result,
)


def _confirmed(obj):
    """Whether ``obj`` (a meeting, or an agenda item for nested inlines) is confirmed."""
    meeting = obj if isinstance(obj, Meeting) else getattr(obj, "meeting", None)
    return meeting is not None and meeting.is_confirmed


class ConfirmedReadOnly:
    """Refuse changes to anything that belongs to confirmed minutes."""

    def has_change_permission(self, request, obj=None):
        return not _confirmed(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _confirmed(obj) and super().has_delete_permission(request, obj)


class ConfirmedReadOnlyInline(ConfirmedReadOnly):
    def has_add_permission(self, request, obj=None):
        return not _confirmed(obj) and super().has_add_permission(request, obj)


# --- people and accounts that confirmed minutes refer to -------------------------------


def _minutes_lookup(model):
    """How a row of ``model`` reaches the minutes it belongs to, if the triggers guard it.

    The same tables as the triggers (``immutability``): meetings, the rows of a
    meeting, the rows of one of its agenda items. None for every other model.
    """
    if model is Meeting:
        return "pk"
    if model._meta.db_table in immutability.MEETING_CHILDREN:
        return "meeting"
    if model._meta.db_table in immutability.ITEM_CHILDREN:
        return "agenda_item__meeting"
    return None


def confirmed_minutes_referring_to(model, pks, _passed=frozenset()):
    """{pk → pks of the confirmed meetings whose rows refer to that ``model`` object}.

    Deleting such an object would set those references to NULL or delete the rows
    that hold them (or PROTECT refuses it), and the triggers refuse any change to
    confirmed minutes. Every relation counts except DO_NOTHING; a CASCADE into an
    unguarded model (a person's memberships) is followed, so minutes that are
    reached further down are found too.
    """
    found = {}
    if not pks:
        return found
    passed = _passed | {model}
    # The relations the deletion collector follows (hidden ones, related_name="+", too).
    for relation in get_candidate_relations_to_delete(model._meta):
        field = relation.field
        if field.remote_field.on_delete is models.DO_NOTHING:
            continue
        related = relation.related_model
        rows = related._base_manager.filter(**{f"{field.name}__in": pks})
        lookup = _minutes_lookup(related)
        if lookup:
            status = "status" if lookup == "pk" else f"{lookup}__status"
            pairs = rows.filter(**{status: Meeting.Status.CONFIRMED}).values_list(
                field.attname, lookup
            )
        elif field.remote_field.on_delete is models.CASCADE and related not in passed:
            origin = dict(rows.values_list("pk", field.attname))
            deeper = confirmed_minutes_referring_to(related, list(origin), passed)
            pairs = [
                (origin[pk], meeting) for pk, meetings in deeper.items() for meeting in meetings
            ]
        else:
            continue
        for pk, meeting in pairs:
            found.setdefault(pk, set()).add(meeting)
    return found


class KeepsConfirmedMinutesWhole:
    """Refuse deleting what confirmed minutes refer to, and name the minutes.

    The minutes join Django's "protected" objects: the delete page and the bulk
    "delete selected" action then list them and offer no way to go on (instead of
    a server error when the triggers refuse the change). What only drafts refer to
    is deleted as before.
    """

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        objs = list(objs)
        referring = confirmed_minutes_referring_to(self.model, [obj.pk for obj in objs])
        if not referring:
            return to_delete, model_count, perms_needed, protected
        minutes = {
            meeting.pk: meeting
            for meeting in Meeting.objects.filter(pk__in=set().union(*referring.values()))
            .select_related("body")
            .order_by("body__name", "date", "number")
        }
        protected = [*protected, *(self._minutes_link(meeting) for meeting in minutes.values())]
        for obj in objs:
            if obj.pk in referring:
                names = "; ".join(str(minutes[pk]) for pk in minutes if pk in referring[obj.pk])
                self.message_user(
                    request,
                    _(
                        "“%(object)s” cannot be deleted: confirmed minutes refer to it, and "
                        "confirmed minutes never change (%(minutes)s)."
                    )
                    % {"object": obj, "minutes": names},
                    level=messages.ERROR,
                )
        return to_delete, model_count, perms_needed, protected

    def _minutes_link(self, meeting):
        url = reverse(f"{self.admin_site.name}:protokolle_meeting_change", args=[meeting.pk])
        return format_html(
            '{}: <a href="{}">{}</a>', _("Confirmed minutes (unchangeable)"), url, meeting
        )


User = get_user_model()
# django.contrib.auth.admin registered its UserAdmin on import; ours adds the refusal.
# The admin's own heading said "Django-Verwaltung": the site's name instead.
admin.site.site_header = _("Werkstatt-Protokolle: administration")
admin.site.site_title = _("Werkstatt-Protokolle administration")
admin.site.index_title = _("Bodies, people, meetings and archive")

admin.site.unregister(User)


@admin.register(User)
class UserAdmin(KeepsConfirmedMinutesWhole, auth_admin.UserAdmin):
    pass


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["person"]


@admin.register(Body)
class BodyAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "organisation", "place", "quorum_rule", "published"]
    list_filter = ["published"]
    search_fields = ["name", "short_name", "organisation"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "short_name", "organisation", "place", "notice_days"]}),
        # Issue 16: the public pages, OParl and the feeds (publication.py).
        (_("Publication"), {"fields": ["published"]}),
        (
            _("Quorum (Beschlussfähigkeit)"),
            {
                "fields": [
                    "quorum_rule",
                    ("quorum_numerator", "quorum_denominator"),
                    "quorum_minimum",
                    "quorum_source",
                ],
                "description": _(
                    "Counted from the attendance of each meeting: voting members present, "
                    "stand-ins for the member they represent."
                ),
            },
        ),
    ]


@admin.register(Person)
class PersonAdmin(KeepsConfirmedMinutesWhole, admin.ModelAdmin):
    list_display = ["name", "organisation", "function", "email", "user"]
    search_fields = ["name", "organisation", "function", "email"]
    list_filter = ["memberships__body"]
    autocomplete_fields = ["user"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["person", "body", "role", "voting", "start", "end"]
    list_filter = ["body", "role", "voting"]
    search_fields = ["person__name", "body__name"]
    autocomplete_fields = ["person", "body"]
    list_select_related = ["person", "body"]


class PresenterInline(ConfirmedReadOnlyInline, nested_admin.NestedTabularInline):
    model = Presenter
    extra = 0
    fields = ["position", "name", "organisation", "function", "person"]
    autocomplete_fields = ["person"]


class ResultInline(ConfirmedReadOnlyInline, nested_admin.NestedStackedInline):
    model = Result
    extra = 0
    fields = [
        ("position", "kind"),
        "text",
        ("voted", "vote_yes", "vote_no", "vote_abstain", "vote_text"),
        ("responsible", "due"),
    ]


class AgendaItemInline(ConfirmedReadOnlyInline, nested_admin.NestedStackedInline):
    model = AgendaItem
    extra = 0
    fields = [("position", "number", "parent", "public", "start"), "title", "conflicts_of_interest"]
    inlines = [PresenterInline, ResultInline]
    # Befangenheit typed as in the editor: one member per line, a reason after a colon.
    formfield_overrides = {
        models.JSONField: {
            "form_class": ConflictsOfInterestField,
            "widget": django_forms.Textarea(attrs={"rows": 2, "cols": 60}),
        }
    }

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # A parent must be an item of the same meeting; without this the select
        # would list every agenda item ever recorded.
        parent_field = formset.form.base_fields.get("parent")
        if parent_field is not None:
            parent_field.queryset = (
                AgendaItem.objects.filter(meeting=obj) if obj else AgendaItem.objects.none()
            )
        return formset


class ParticipantInline(ConfirmedReadOnlyInline, nested_admin.NestedTabularInline):
    model = Participant
    extra = 0
    fields = [
        "position",
        "name",
        "organisation",
        "function",
        "status",
        "voting",
        "substitute_for",
        "arrived",
        "left",
        "person",
    ]
    autocomplete_fields = ["person"]


class ApprovalInline(ConfirmedReadOnlyInline, nested_admin.NestedTabularInline):
    model = Approval
    fk_name = "meeting"
    extra = 0
    fields = ["position", "number", "date", "outcome", "approved_meeting", "note"]
    raw_id_fields = ["approved_meeting"]


class AdminAttachmentForm(django_forms.ModelForm):
    """The admin's attachments pass the editor's checks: size, type, content, name."""

    class Meta:
        model = Attachment
        fields = ["position", "name", "file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            uploads.validate(upload)
        return upload


class AttachmentInline(ConfirmedReadOnlyInline, nested_admin.NestedTabularInline):
    model = Attachment
    form = AdminAttachmentForm
    extra = 0
    fields = ["position", "name", "file"]


@admin.action(description=_("Export the selected confirmed minutes as a ZIP"))
def export_zip(modeladmin, request, queryset):
    """The stored PDFs, their documents and a manifest with every SHA-256."""
    meetings = archive.confirmed_meetings().filter(pk__in=queryset.values("pk"))
    if not meetings.exists():
        modeladmin.message_user(request, _("None of the selected minutes is confirmed."), "error")
        return None
    target = tempfile.TemporaryFile()
    try:
        archive.write_zip(meetings, target)
    except archive.ArchiveError as error:
        target.close()
        modeladmin.message_user(request, str(error), "error")
        return None
    target.seek(0)
    return FileResponse(target, as_attachment=True, filename="protokolle-archiv.zip")


# --- status changes: through the workflow only ----------------------------------------

# Posted by the buttons on a meeting's page: the action then leads back to that page.
FROM_CHANGE_PAGE = "_from_change_page"


def _circulated(meeting, version):
    """What circulating did, as (level, text): the version, and who was told by e-mail."""
    notice = version.notice
    values = {"meeting": meeting, "number": version.number}
    if notice is None:
        return messages.SUCCESS, _(
            "%(meeting)s: version %(number)s is circulated and thereby confirmed."
        ) % values
    failed, sentences = notice.sentences()
    text = " ".join([_("%(meeting)s: circulated as version %(number)s.") % values, *sentences])
    return (messages.WARNING if failed else messages.SUCCESS), text


def _reopened(meeting, _result):
    return messages.SUCCESS, _("%(meeting)s: back in draft.") % {"meeting": meeting}


def _confirmed_now(meeting, confirmed):
    """What confirming did: archived, or confirmed without its PDF when rendering failed.

    The workflow renders the archival copies after its commit; when that fails the
    minutes stay confirmed without them, and the message says so instead of
    claiming an archived PDF.
    """
    stored = set(ArchivedPdf.objects.filter(meeting=confirmed).values_list("variant", flat=True))
    if stored >= set(pdf.variants(confirmed)):
        return messages.SUCCESS, _(
            "%(meeting)s: confirmed; the PDF is archived and the minutes can be found in the "
            "search."
        ) % {"meeting": meeting}
    if jobs.in_background():  # the worker makes the copies; administrators hear of failures
        return messages.SUCCESS, _(
            "%(meeting)s: confirmed and can be found in the search; the archival copy is "
            "being made."
        ) % {"meeting": meeting}
    return messages.WARNING, _(
        "%(meeting)s: confirmed and can be found in the search, but the archived PDF could not "
        "be rendered. It is rendered when the PDF is next downloaded, or by “manage.py "
        "verify_archive --repair”."
    ) % {"meeting": meeting}


def _transition(modeladmin, request, queryset, change, report):
    """Run ``change(pk, user)`` of the workflow on each selected meeting, one by one.

    Each meeting succeeds or fails on its own; the message names it either way.
    """
    meetings = list(queryset.select_related("body").order_by("body__name", "date", "number"))
    for meeting in meetings:
        try:
            result = change(meeting.pk, request.user, remote_addr=client_ip(request))
        except workflow.WorkflowError as error:
            modeladmin.message_user(
                request,
                _("%(meeting)s: %(error)s") % {"meeting": meeting, "error": error},
                level=messages.ERROR,
            )
        else:
            level, text = report(meeting, result)
            modeladmin.message_user(request, text, level=level)
    if request.POST.get(FROM_CHANGE_PAGE) and len(meetings) == 1:
        opts = modeladmin.model._meta
        return HttpResponseRedirect(
            reverse(
                f"{modeladmin.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[meetings[0].pk],
            )
        )
    return None


@admin.action(description=_("Start circulation"), permissions=["change"])
def circulate(modeladmin, request, queryset):
    """draft → circulated: a numbered version, and the members are told after the commit."""
    return _transition(modeladmin, request, queryset, workflow.circulate, _circulated)


@admin.action(description=_("Back to draft"), permissions=["change"])
def reopen(modeladmin, request, queryset):
    """circulated → draft, to work in corrections."""
    return _transition(modeladmin, request, queryset, workflow.reopen, _reopened)


@admin.action(description=_("Record as confirmed"), permissions=["change"])
def confirm(modeladmin, request, queryset):
    """circulated → confirmed by a decision taken outside the app: dated, archived, indexed."""
    return _transition(modeladmin, request, queryset, workflow.confirm, _confirmed_now)


TRANSITIONS = {"circulate": circulate, "reopen": reopen, "confirm": confirm}


@admin.register(Meeting)
class MeetingAdmin(ConfirmedReadOnly, nested_admin.NestedModelAdmin):
    list_display = ["__str__", "body", "number", "date", "status", "public"]
    list_filter = ["body", "status", "public", "date"]
    search_fields = ["title", "body__name", "agenda_items__title", "location"]
    date_hierarchy = "date"
    list_select_related = ["body"]
    autocomplete_fields = ["body", "chair_person", "minute_taker_person"]
    # The status and what confirming sets change through the workflow only (see the actions).
    readonly_fields = [
        "status",
        "circulation_deadline",
        "confirmed_at",
        "confirmed_by_circulation",
        "version",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "body",
                    ("number", "title"),
                    ("date", "start", "end"),
                    "location",
                    ("public", "status"),
                ]
            },
        ),
        (
            _("chair and minute-taker"),
            {
                "fields": [
                    ("chair_name", "chair_organisation", "chair_function", "chair_person"),
                    (
                        "minute_taker_name",
                        "minute_taker_organisation",
                        "minute_taker_function",
                        "minute_taker_person",
                    ),
                ]
            },
        ),
        (
            _("next meeting and closing line"),
            {
                "fields": [
                    ("next_meeting_date", "next_meeting_time", "next_meeting_location"),
                    ("has_closing", "closing_place", "closing_date"),
                ]
            },
        ),
        (
            _("record"),
            {
                "fields": [
                    ("circulation_deadline", "confirmed_at", "confirmed_by_circulation"),
                    ("version", "created_at", "updated_at"),
                ]
            },
        ),
    ]
    inlines = [ParticipantInline, AgendaItemInline, ApprovalInline, AttachmentInline]
    actions = [circulate, reopen, confirm, export_zip]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("body")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        meeting = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "workflow_buttons": self.workflow_buttons(request, meeting) if meeting else [],
            "from_change_page": FROM_CHANGE_PAGE,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_buttons(self, request, meeting):
        """(action name, label) of the transitions the user may start on ``meeting`` now.

        The workflow decides; the admin's action permissions (change) apply on top,
        as the buttons run the actions.
        """
        allowed = workflow.allowed_actions(request.user, meeting)
        actions = self.get_actions(request)
        return [
            (name, action.short_description)
            for name, action in TRANSITIONS.items()
            if name in allowed and name in actions
        ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are written by the workflow only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MinutesVersion)
class MinutesVersionAdmin(ReadOnlyAdmin):
    list_display = ["meeting", "number", "created_at", "created_by"]
    list_select_related = ["meeting__body", "created_by"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["meeting", "person", "kind", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["meeting__body", "person"]


@admin.register(ArchivedPdf)
class ArchivedPdfAdmin(ReadOnlyAdmin):
    list_display = ["meeting", "variant", "sha256", "size", "created_at"]
    list_select_related = ["meeting__body"]
