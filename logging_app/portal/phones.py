"""The physician's phones: the numbers Ordophone recognises them by when they call (caller ID,
then their PIN; R3), the first being the one it calls back. A physician lists them here and
adds or removes one, each change confirmed with their password and audited."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm

from logging_app import db, directory
from logging_app.accounts import actor_of
from logging_app.models import User
from logging_app.portal.access import current_user
from logging_app.portal.auth import reconfirm
from logging_app.portal.forms import AddPhoneForm, RemovePhoneForm
from logging_app.validation import InvalidField

bp = Blueprint("phones", __name__)

_MESSAGES: dict[str, LazyString] = {
    "is required": _l("Required."),
    "is not a telephone number": _l("Write a telephone number, e.g. 514 555-0123."),
    "is not a valid telephone number": _l("This is not a valid telephone number."),
    "the last number cannot be removed; add another first": _l(
        "Your last number cannot be removed: add the new one first."
    ),
}


def _explain(error: InvalidField) -> str:
    if error.message in _MESSAGES:
        return str(_MESSAGES[error.message])
    if error.message.endswith("is already registered to a physician"):
        return str(_("This number is already registered to a physician."))
    if error.message.startswith("a physician may register at most"):
        return str(_("At most %(n)d numbers.", n=directory.MAX_PHONES))
    return str(_("This is not one of your numbers."))


def _physician_user() -> User:
    user = current_user()
    assert user is not None and user.physician is not None  # the access table says so
    return user


def _page(add: AddPhoneForm, remove: RemovePhoneForm, status: int = 200) -> ResponseReturnValue:
    physician = _physician_user().physician
    assert physician is not None
    remove.phone.choices = [(p.number, p.number) for p in physician.phones]
    return render_template("account/phones.html", physician=physician, add=add,
                           remove=remove), status  # fmt: skip


@bp.get("/account/phones")
def index() -> ResponseReturnValue:
    """The physician's numbers, and the forms to add or remove one."""
    return _page(AddPhoneForm(prefix="add"), RemovePhoneForm(prefix="remove"))


def _change(form: FlaskForm, other: FlaskForm, adding: bool) -> ResponseReturnValue:
    user = _physician_user()
    physician = user.physician
    assert physician is not None
    forms = (form, other) if adding else (other, form)
    if form.validate() and (locked := reconfirm(form.password, user, "physician", physician.id)):
        return locked
    if form.errors:
        return _page(*forms, status=400)
    database = db.session()
    number = form.phone.data
    try:
        if adding:
            directory.add_phone(database, actor_of(user), physician, number)
        else:
            directory.remove_phone(database, actor_of(user), physician, number)
    except InvalidField as error:
        database.rollback()
        form.phone.errors = [_explain(error)]
        return _page(*forms, status=400)
    database.commit()
    shown = physician.phones[-1].number if adding else number
    flash(_("Number %(number)s added.", number=shown) if adding
          else _("Number %(number)s removed.", number=shown))  # fmt: skip
    return redirect(url_for("phones.index"), 303)


@bp.post("/account/phones")
def add() -> ResponseReturnValue:
    """Register one more number, once the password is typed again."""
    return _change(AddPhoneForm(prefix="add"), RemovePhoneForm(None, prefix="remove"), adding=True)


@bp.post("/account/phones/remove")
def remove() -> ResponseReturnValue:
    """Unregister one of the numbers (never the last), once the password is typed again."""
    return _change(RemovePhoneForm(prefix="remove"), AddPhoneForm(None, prefix="add"), adding=False)
