"""Portal accounts, for administrators: who has access, who is locked out; unlock an account,
end its sessions, disable or enable it; create an imaging service's account. (Other accounts
are created with ``ordophone user add``.)"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from logging_app import accounts, db, directory
from logging_app.clock import now
from logging_app.models import ImagingService, User
from logging_app.portal.access import current_user
from logging_app.portal.forms import ButtonForm, ServiceAccountForm
from logging_app.validation import InvalidField

bp = Blueprint("users", __name__)
ACTIONS = ("unlock", "end_sessions", "disable", "enable")


def _page(form: ServiceAccountForm | None = None) -> str:
    database = db.session()
    users = database.scalars(select(User).order_by(User.username)).all()
    return render_template(
        "admin/users.html",
        users=users,
        now=now(),
        form=ButtonForm(),
        create=form or _service_form(ServiceAccountForm(formdata=None)),
    )


def _service_form(form: ServiceAccountForm) -> ServiceAccountForm:
    services = db.session().execute(
        select(ImagingService.id, ImagingService.name).order_by(ImagingService.name)
    )
    form.service.choices = [("", _("Choose the service"))] + [
        (str(service_id), name) for service_id, name in services
    ]
    return form


@bp.get("/admin/users")
def index() -> ResponseReturnValue:
    """Every account with its role, state and lockout, and the service-account form."""
    return _page()


@bp.post("/admin/users/service")
def create_service_account() -> ResponseReturnValue:
    """Create an imaging service's account; a refused field is shown beside it."""
    form = _service_form(ServiceAccountForm())
    admin = current_user()
    assert admin is not None
    if form.validate():
        database = db.session()
        try:
            with database.begin_nested():
                created = directory.add_user(
                    database, accounts.actor_of(admin), username=form.username.data,
                    password=form.password.data, role="service", service_id=form.service.data,
                )  # fmt: skip
        except InvalidField as refused:
            getattr(form, refused.field).errors.append(_explain(refused))
        else:
            database.commit()
            flash(_("Account %(username)s created.", username=created.username))
            return redirect(url_for("users.index"))
    return _page(form), 400


def _explain(refused: InvalidField) -> str:
    """The domain's refusal, in the visitor's language."""
    messages = {
        "is already taken": _("This username is already taken."),
        "must be at least 12 characters long": _("At least 12 characters."),
        "must be 3 to 80 letters, digits, dots, dashes or underscores": _(
            "3 to 80 letters, digits, dots, dashes or underscores."
        ),
    }
    return str(messages.get(refused.message, _("Choose a service from the list.")))


def _act(user_id: int, action: str) -> ResponseReturnValue:
    database = db.session()
    user = database.get(User, user_id)
    admin = current_user()
    if user is None or admin is None:
        abort(404)
    actor = accounts.actor_of(admin)
    if action == "unlock":
        accounts.unlock(database, actor, user)
    elif action == "end_sessions":
        accounts.end_sessions(database, actor, user)
    elif user.id == admin.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("users.index"))
    else:
        accounts.set_active(database, actor, user, action == "enable")
    database.commit()
    return redirect(url_for("users.index"))


@bp.post("/admin/users/<int:user_id>/unlock")
def unlock(user_id: int) -> ResponseReturnValue:
    """Lift the account's lockout."""
    return _act(user_id, "unlock")


@bp.post("/admin/users/<int:user_id>/end-sessions")
def end_sessions(user_id: int) -> ResponseReturnValue:
    """Sign the account out everywhere."""
    return _act(user_id, "end_sessions")


@bp.post("/admin/users/<int:user_id>/disable")
def disable(user_id: int) -> ResponseReturnValue:
    """Disable the account: it can no longer sign in, and its sessions end."""
    return _act(user_id, "disable")


@bp.post("/admin/users/<int:user_id>/enable")
def enable(user_id: int) -> ResponseReturnValue:
    """Enable a disabled account again."""
    return _act(user_id, "enable")
