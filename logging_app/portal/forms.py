"""The portal's forms (Flask-WTF): each field has a translated label and clear errors."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from logging_app.models import LATERALITIES, MODALITIES, ORDER_STATUSES, PRIORITIES
from logging_app.portal.labels import LABELS


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ServiceAccountForm(FlaskForm):  # type: ignore[misc]
    """An administrator creates an imaging service's account (checked by ``add_user``)."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    service = SelectField(_l("Imaging service"), validators=[DataRequired()])
    password = PasswordField(
        _l("Password (12 characters or more)"), validators=[DataRequired(), Length(max=1024)]
    )


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """A form that is only a button (logout, language): it carries the CSRF token."""

    next = HiddenField()


_DATE_BOX = {"type": "text", "inputmode": "numeric", "maxlength": 10, "autocomplete": "off"}


class DayField(DateField):  # type: ignore[misc]
    """A date typed as YYYY-MM-DD in a plain text box; a wrong one says how to write it."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Write the date as YYYY-MM-DD, e.g. 2026-11-26.")) from None


class SearchForm(FlaskForm):  # type: ignore[misc]
    """The order list's search and filters, posted (patient data never goes in a URL)."""

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validators=[Optional()])
    service = SelectField(_l("Imaging service"), validators=[Optional()])
    # Plain text boxes, not type=date: what a clerk types is what the server checks and
    # explains, whatever the browser.
    date_from = DayField(_l("Created from"), validators=[Optional()], render_kw=_DATE_BOX)
    date_to = DayField(_l("Created until"), validators=[Optional()], render_kw=_DATE_BOX)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        statuses = [(status, LABELS["status"][status]) for status in ORDER_STATUSES]
        self.status.choices = [("", _l("Any status")), *statuses]

    def validate_date_to(self, field: DateField) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_l("Must not be before the start date."))


class VerifyForm(FlaskForm):  # type: ignore[misc]
    pdf = FileField(
        _l("PDF file"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["pdf"], _l("PDF files only.")),
        ],
    )
    submit = SubmitField(_l("Check"))


class AuditFilterForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False

    user = StringField(_l("User"), validators=[Optional(), Length(max=80)])
    order = StringField(_l("Order number"), validators=[Optional(), Length(max=8)])


def _choices(kind: str, codes: tuple[str, ...], blank: Any = None) -> list[tuple[str, Any]]:
    listed = [(code, LABELS[kind][code]) for code in codes]
    return [("", blank), *listed] if blank is not None else listed


class PrescriptionForm(FlaskForm):  # type: ignore[misc]
    """A new order. Validation is the domain's (``orders.create_order``): one set of rules
    for the portal and the command line; its messages are shown beside each field."""

    patient_name = StringField(_l("Patient's full name"), render_kw={"maxlength": 200})
    patient_dob = StringField(_l("Date of birth"), render_kw=_DATE_BOX)
    patient_nam = StringField(
        _l("Health insurance number (NAM)"), render_kw={"maxlength": 14, "autocomplete": "off"}
    )
    modality = SelectField(_l("Modality"), validate_choice=False)
    region = StringField(_l("Body region"), render_kw={"maxlength": 100})
    laterality = RadioField(_l("Laterality"), validate_choice=False)
    contrast = RadioField(_l("Contrast"), validate_choice=False)
    exam = StringField(_l("The exam, as you would say it"), render_kw={"maxlength": 500})
    indication = TextAreaField(_l("Clinical indication"), render_kw={"rows": 3})
    priority = RadioField(_l("Priority"), default="routine", validate_choice=False)
    replaces = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modality.choices = _choices("modality", MODALITIES, blank=_l("Choose…"))
        self.laterality.choices = _choices("laterality", LATERALITIES)
        self.contrast.choices = [("no", _l("No")), ("yes", _l("Yes"))]
        self.priority.choices = _choices("priority", PRIORITIES)


class ServiceSearchForm(FlaskForm):  # type: ignore[misc]
    """Searching the directory with the patient (GET: nothing changes)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or city"), validators=[Optional(), Length(max=100)])
    postal_code = StringField(
        _l("Patient's postal code (to sort by distance)"),
        validators=[Optional(), Length(max=7)],
        render_kw={"maxlength": 7, "autocomplete": "off"},
    )


class CancelForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        _l("Reason for cancelling"),
        validators=[DataRequired(_l("Give the reason.")), Length(max=1000)],
        render_kw={"rows": 2},
    )


def _password() -> PasswordField:
    """The password typed again to confirm an act (see ``auth.reconfirm``)."""
    return PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024)]
    )


class ConfirmReadBackForm(FlaskForm):  # type: ignore[misc]
    password = _password()


# Both phone forms share a page: the view gives them the prefixes "add" and "remove".
class AddPhoneForm(FlaskForm):  # type: ignore[misc]
    phone = StringField(
        _l("New number"),
        validators=[DataRequired(_l("Required.")), Length(max=30)],
        render_kw={"type": "tel", "autocomplete": "tel", "maxlength": 30},
    )
    password = _password()


class RemovePhoneForm(FlaskForm):  # type: ignore[misc]
    # Choices are the physician's numbers, set by the view; a posted value that is not one of
    # them is refused by the domain, which says so beside the field.
    phone = SelectField(_l("Number to remove"), validate_choice=False)
    password = _password()
